"""The NR48 mapper: numpy networks → readable NR48 assembly + .npy weight codes (docs/mapper.md)."""
from .model import Dense, MapError, Model, QDense, QModel, quantise, reference, split_even
from .codegen import Compiled, balance_rows, compile_model, core_map_text, measure_cycles, place, run_compiled

__all__ = ["Dense", "MapError", "Model", "QDense", "QModel", "quantise", "reference", "split_even",
           "Compiled", "balance_rows", "compile_model", "core_map_text", "measure_cycles", "place",
           "run_compiled"]
