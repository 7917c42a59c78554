"""The paper's kinds of workloads on real data (docs/workloads.md): digits MLP, RBM recovery."""
