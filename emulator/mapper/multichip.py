"""Spilling a network over several chips (docs/mapper.md, Several chips).

    sc = compile_system(qmodel, rows, name="resnet")     # one program per chip + the transfers
    print(sc.map_text())                                 # the core map of every chip
    toml = sc.write("out/resnet")                        # chip programs, data, a system .toml
    out, pred, result, system = run_system_compiled(sc, "out/resnet", link="c2c")

Layers are cut into consecutive groups, one per chip, never splitting a layer: its row
segments, column blocks and copies stay on one chip, so the only inter-chip traffic is the
activation codes at a cut.  A cut may go before a conv2d or max-pool layer (the receiving chip
reads the codes as its input feature map, exactly as a model that starts there) and never
inside a residual connection.  Going through the layers, a chip takes layers until the next
one would not fit; the cut then goes to the allowed point of that chip's range whose feature
map is smallest (the latest of equal ones).  Each chip's program is the single-chip program of
its layers (emulator.mapper.codegen) with, per sample, a `recv` of its input from the chip
before and a `send` of its last layer's codes to the chip after; the chips then work as a
pipeline, one sample apart.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .codegen import N_CORES, Compiled, compile_model
from .model import MapError, QConv, QModel, QPool, has_weights

_SEND_AT = "        addi    x10, x10, XROW"


def cores_of(L) -> int:
    return len(L.segments) * len(L.colblocks) if has_weights(L) else 0


def _cut_ok(q: QModel, k: int) -> bool:
    """A chip may start at layer k: a conv/pool input, and no residual reaching over the cut."""
    if not isinstance(q.layers[k], (QConv, QPool)):
        return False
    return not any(getattr(L, "residual", None) is not None and L.residual < k <= j
                   for j, L in enumerate(q.layers))


def _cut_bytes(q: QModel, k: int) -> int:
    return int(np.prod(q.layers[k].in_shape))


def partition(q: QModel, max_cores: int = N_CORES) -> list[tuple[int, int]]:
    """[(first layer, end layer)) per chip; MapError when no cut makes the chips fit."""
    chips, start, used = [], 0, 0
    for k, L in enumerate(q.layers):
        c = cores_of(L)
        if c > max_cores:
            raise MapError(f"{L.name}: needs {c} cores, more than one chip's {max_cores}; a layer "
                           "is never split over chips (shrink it)")
        if used + c > max_cores:
            options = [j for j in range(start + 1, k + 1) if _cut_ok(q, j)]
            if not options:
                raise MapError(f"layers {q.layers[start].name} … {L.name} need {used + c} cores, more "
                               f"than one chip's {max_cores}, and there is no place to cut them: a chip "
                               "must start at a conv2d or max-pool layer outside any residual connection")
            cut = min(options, key=lambda j: (_cut_bytes(q, j), -j))
            chips.append((start, cut))
            start, used = cut, sum(cores_of(M) for M in q.layers[cut:k])
            if used + c > max_cores:
                raise MapError(f"after the cut before {q.layers[cut].name}, layers {q.layers[cut].name} "
                               f"… {L.name} still need {used + c} cores > {max_cores}")
        used += c
    chips.append((start, len(q.layers)))
    return chips


def _sub_model(q: QModel, a: int, b: int) -> QModel:
    layers = []
    for L in q.layers[a:b]:
        r = getattr(L, "residual", None)
        layers.append(dataclasses.replace(L, residual=r - a) if r is not None else L)
    shape = q.in_shape if a == 0 else tuple(q.layers[a].in_shape)
    return QModel(layers, q.in_scale, q.in_bits, shape)


@dataclass
class SystemCompiled:
    name: str
    chips: list                      # Compiled per chip (its asm already has the transfers)
    ranges: list                     # (first layer, end layer) per chip
    qmodel: QModel
    n: int
    transfers: list = field(default_factory=list)   # per cut: {src, dst, layer, bytes} per sample

    @property
    def n_out(self) -> int:
        return self.qmodel.layers[-1].n_out

    def cores(self) -> list[int]:
        return [len(c.slots) for c in self.chips]

    def map_text(self) -> str:
        out = []
        for k, (c, (a, b)) in enumerate(zip(self.chips, self.ranges)):
            names = f"{self.qmodel.layers[a].name} … {self.qmodel.layers[b - 1].name}"
            out.append(f"chip {k}: layers {names}, {len(c.slots)} cores")
            out += ["  " + line for line in c.core_map.splitlines()]
        for t in self.transfers:
            out.append(f"chip {t['src']} → chip {t['dst']}: {t['bytes']} bytes per sample "
                       f"(the input codes of {t['layer']})")
        return "\n".join(out)

    def write(self, path, link: str = "c2c") -> Path:
        """Write chip k's program as `<stem>_chip<k>.s` (with its .npy files) next to `path`, and
        the system file `<stem>.toml` listing them; returns the .toml path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"# {self.name}: {len(self.chips)} chips, written by the NR48 mapper "
                 "(emulator.mapper.multichip)", f'link = "{link}"', ""]
        for k, c in enumerate(self.chips):
            p = c.write(path.parent / f"{path.stem}_chip{k}.s")
            lines += ["[[chip]]", f'program = "{p.name}"', ""]
        toml = path.with_suffix(".toml")
        toml.write_text("\n".join(lines))
        return toml


def compile_system(q: QModel, inputs, name: str = "net", max_cores: int = N_CORES, balance=True,
                   mem_size=None) -> SystemCompiled:
    """Compile a QModel over as many chips as it needs (one when it fits 48 cores)."""
    inputs = np.ascontiguousarray(inputs, np.uint8)
    ranges = partition(q, max_cores)
    n, chips, transfers = len(inputs), [], []
    for k, (a, b) in enumerate(ranges):
        sub = _sub_model(q, a, b)
        rows = inputs if k == 0 else np.zeros((n, _cut_bytes(q, a)), np.uint8)
        c = compile_model(sub, rows, name=f"{name}_chip{k}" if len(ranges) > 1 else name,
                          balance=balance, mem_size=mem_size)
        A = c.asm.split("\n")
        if k > 0:
            i = next(j for j, line in enumerate(A) if line.startswith("loop:"))   # the loop's label line
            A[i + 1:i + 1] = [f"        li      x3, {k - 1}",
                              "        li      x4, XROW",
                              f"        recv    x3, x10, x4          # this sample's input codes from chip {k - 1}"]
        if k < len(ranges) - 1:
            last = sub.layers[-1]
            nbytes = _cut_bytes(q, b)
            i = A.index(_SEND_AT)
            A[i:i] = [f"        # ---- to chip {k + 1}: this sample's {last.name} codes",
                      f"        li      x3, {k + 1}", f"        la      x4, {last.name}_fmap",
                      f"        li      x5, {nbytes}", "        send    x3, x4, x5"]
            transfers.append({"src": k, "dst": k + 1, "layer": q.layers[b].name, "bytes": nbytes})
        chips.append(dataclasses.replace(c, asm="\n".join(A)))
    return SystemCompiled(name, chips, ranges, q, n, transfers)


def run_system_compiled(sc: SystemCompiled, path, model="ideal", seed=0, config=None, link="c2c"):
    """Write and run a compiled system; returns (logits N × n_out, preds, SystemResult, System)."""
    from emulator.system import System, load_system_file

    toml = sc.write(path, link)
    d = load_system_file(toml)
    s = System(len(sc.chips), model=model, seed=seed, config=config, link=link).load(d["programs"])
    r = s.run()
    if not r.ok:
        raise RuntimeError(f"{toml}: the system stopped: {r.message or r.stop}")
    m = s.chips[-1]
    out = m.mem(m.sym("out"), sc.n * sc.n_out, "i16").reshape(sc.n, sc.n_out).astype(np.int64)
    pred = m.mem(m.sym("pred"), sc.n, "u8").astype(np.int64)
    return out, pred, r, s
