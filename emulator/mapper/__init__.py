"""The NR48 mapper: numpy networks → readable NR48 assembly + .npy weight codes (docs/mapper.md)."""
from .model import (Conv2D, Dense, MapError, MaxPool2D, Model, QConv, QDense, QModel, QPool, quantise,
                    reference, split_even)
from .codegen import Compiled, balance_rows, compile_model, core_map_text, measure_cycles, place, run_compiled
from .batch_codegen import compile_batched
from .modelfile import ModelFileError, load_model, save_model
from .rbm import QRBM, RBM, gibbs_reference, quantise_rbm, recover
from .rbm_codegen import compile_rbm
from .rnn import QRNNModel, SimpleRNN, quantise_rnn
from .lstm import LSTM, QLSTMModel, compile_lstm, quantise_lstm
from .onnx_import import compile_onnx, from_onnx
from .rnn import reference as rnn_reference
from .rnn_codegen import compile_rnn
from .rnn_batch import compile_rnn_batched

__all__ = ["Conv2D", "Dense", "MapError", "MaxPool2D", "Model", "QConv", "QDense", "QModel", "QPool",
           "quantise", "reference", "split_even", "Compiled", "balance_rows", "compile_batched", "compile_model",
           "core_map_text", "measure_cycles", "place", "run_compiled", "ModelFileError", "load_model",
           "save_model", "LSTM", "QLSTMModel", "compile_lstm", "quantise_lstm", "compile_onnx", "from_onnx",
           "QRNNModel", "SimpleRNN", "compile_rnn", "compile_rnn_batched", "quantise_rnn", "rnn_reference",
           "QRBM", "RBM", "compile_rbm", "gibbs_reference", "quantise_rbm", "recover"]
