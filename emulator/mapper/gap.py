"""Global average pooling: the float layer and its quantised form (no weights; the vector unit
averages the activation codes of every position, docs/mapper.md, Global average pool).

The quantised layer sums the H·W positions' codes per channel in i16 and shifts right by
log2(H·W) with rounding half up (`vsra`), so H·W is a power of two, and at most 128 so that a
sum of 8-bit codes fits i16.  The output keeps its input's scale (an average of codes is a code).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_POSITIONS = 128     # 128 · 255 < 32767: the i16 sum of u8 codes never saturates


@dataclass
class GlobalAvgPool2D:
    """(H, W, C) → (C,): the mean over all positions of each channel."""
    name: str = ""

    def out_shape(self, shape) -> tuple:
        return (shape[2],)

    def forward(self, x):
        return np.asarray(x, float).reshape(len(x), -1, x.shape[-1]).mean(axis=1)


@dataclass
class QGap:
    name: str
    in_shape: tuple

    @property
    def shift(self) -> int:
        H, W, _ = self.in_shape
        return (H * W).bit_length() - 1

    @property
    def out_shape(self):
        return (self.in_shape[2],)

    @property
    def n_out(self) -> int:
        return int(self.in_shape[2])


def gap_check(shape, name: str, err) -> None:
    """Refuse what the vector-unit average cannot do exactly (err: the MapError class)."""
    if shape is None or len(shape) != 3:
        raise err(f"{name}: global average pooling needs an (H, W, C) feature map as input")
    n = shape[0] * shape[1]
    if n & (n - 1) or n > MAX_POSITIONS:
        raise err(f"{name}: global average pooling over {shape[0]}×{shape[1]} = {n} positions; the "
                  f"vector unit divides by a shift, so H·W must be a power of two ≤ {MAX_POSITIONS}")


def gap_codes(x: np.ndarray, L: QGap) -> np.ndarray:
    """The integer reference: per channel, round-half-up of the mean of the position codes."""
    n = len(x)
    s = np.asarray(x, np.int64).reshape(n, -1, L.in_shape[2]).sum(axis=1)
    return (s + (1 << (L.shift - 1))) >> L.shift if L.shift else s
