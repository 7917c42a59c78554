"""`neurram lstm`: the digits LSTM (emulator/workloads/lstm.py) on the chip — accuracy table
(float, 4-bit, ideal, analog; noise-aware and plain weights), core map and times."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("lstm", help="LSTM on the digits read row by row (gate MVMs on a core, "
                              "vsigm/vtanh cell update on the vector unit)")
    p.add_argument("--seeds", type=int, default=3, help="analog seeds 1..N (default 3)")
    p.add_argument("--n-test", type=int, default=None, help="use the first N test digits (default all 450)")
    p.add_argument("--retrain", action="store_true", help="retrain both models instead of the shipped weights")
    p.add_argument("--train-seed", type=int, default=None, help="training seed with --retrain (default 0)")
    p.add_argument("--write", metavar="DIR", help="also write the lstm_digits.s program (first 50 digits) into DIR")
    p.add_argument("--map", action="store_true", help="also show the core map grid and the accuracies as terminal graphics")
    p.add_argument("--png", metavar="DIR", help="also write the same pictures as PNG files into DIR (needs matplotlib)")
    p.set_defaults(func=_lstm)


def _lstm(args) -> int:
    from emulator.compile_cli import _classifier_table
    from emulator.workloads import lstm as L

    return _classifier_table(args, L, f"digits LSTM (8 steps × 8 pixels, {L.NH} hidden units, gates on "
                             "one core, vsigm/vtanh on the vector unit)", "noise-aware (chip σ)")
