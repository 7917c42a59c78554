"""The model file `neurram compile` reads: one `.npz` holding a JSON description and the arrays.

    __model__   a 0-d string array with the JSON description (docs/mapper.md, "Model files")
    <i>.<field> the float arrays of layer i (e.g. "0.W", "0.b", "2.Wh")

`save_model(model, path)` writes one, `load_model(path)` reads one back into the Python classes
(`Model` of Dense / Conv2D / MaxPool2D / GlobalAvgPool2D / SimpleRNN layers, or an `RBM`).  An `.npz` without
`__model__` is read in the original plain form: W0, b0, W1, b1, … dense layers, ReLU on all but
the last.  Every problem is reported as a ModelFileError naming the file and the layer or key.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np

from .model import Conv2D, Dense, MapError, MaxPool2D, Model, check_input_coding, check_name

FORMAT = "nr48-model"
VERSION = 1
SPEC_KEY = "__model__"


class ModelFileError(MapError):
    """A model file that cannot be read: names the file and what is wrong."""


def _layer_types() -> dict:
    from .gap import GlobalAvgPool2D
    from .rnn import SimpleRNN

    return {"dense": Dense, "conv2d": Conv2D, "maxpool2d": MaxPool2D, "rnn": SimpleRNN,
            "globalavgpool2d": GlobalAvgPool2D}


def _rbm_type():
    from .rbm import RBM

    return RBM


def _encode(obj, prefix: str, arrays: dict) -> dict:
    """A dataclass instance → its JSON fields; its arrays go into `arrays` under prefix.field."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if v is not None and "ndarray" in str(f.type):
            arrays[f"{prefix}.{f.name}"] = np.asarray(v, np.float32)
            out[f.name] = f"{prefix}.{f.name}"
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[f.name] = v
        elif isinstance(v, (tuple, list)):
            out[f.name] = list(v)
        else:
            raise ModelFileError(f"{prefix}: cannot store field {f.name} of type {type(v).__name__}")
    return out


def save_model(model, path) -> Path:
    """Write a Model (or an RBM) as a model file; returns the path written."""
    path = Path(path)
    arrays: dict = {}
    if isinstance(model, Model):
        types = {cls: name for name, cls in _layer_types().items()}
        layers = []
        for i, L in enumerate(model.layers):
            if type(L) not in types:
                raise ModelFileError(f"{path}: layer {i} is a {type(L).__name__}, which model files cannot hold")
            layers.append({"type": types[type(L)], **_encode(L, str(i), arrays)})
        spec = {"format": FORMAT, "version": VERSION, "kind": "sequential",
                "input": {"shape": list(model.in_shape) if model.in_shape is not None else None,
                          "scale": model.in_scale, "bits": model.in_bits},
                "act_bits": model.act_bits, "layers": layers}
    elif isinstance(model, _rbm_type()):
        spec = {"format": FORMAT, "version": VERSION, "kind": "rbm", "rbm": _encode(model, "rbm", arrays)}
    else:
        raise ModelFileError(f"{path}: save_model takes a Model or an RBM, not {type(model).__name__}")
    with open(path, "wb") as fh:        # np.savez would append .npz to a name without it
        np.savez(fh, **{SPEC_KEY: np.array(json.dumps(spec, indent=1))}, **arrays)
    return path


def _open(path: Path):
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{path}: not a model file (.npz written by numpy.savez): {e}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{path}: this is a single .npy array, not a model file (an .npz of "
                             f"named arrays, see emulator.mapper.save_model)")
    return z


def _array(z, path, key, where) -> np.ndarray:
    if not isinstance(key, str) or key not in z.files:
        raise ModelFileError(f"{path}: {where} names array {key!r}, which the file does not hold "
                             f"(it has: {', '.join(sorted(k for k in z.files if k != SPEC_KEY)) or 'none'})")
    try:
        a = z[key]
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{path}: array {key!r} ({where}) cannot be read: {e}") from None
    if a.dtype.kind not in "fiu":
        raise ModelFileError(f"{path}: array {key!r} ({where}) must be numeric, not {a.dtype}")
    if a.size == 0:
        raise ModelFileError(f"{path}: array {key!r} ({where}) is empty (shape {a.shape})")
    a = a.astype(float)
    if not np.isfinite(a).all():
        raise ModelFileError(f"{path}: array {key!r} ({where}) has non-finite values (NaN or inf)")
    return a


def _value_ok(v, annotation: str) -> bool:
    kinds = {t.strip() for t in annotation.split("|")}
    is_int = isinstance(v, int) and not isinstance(v, bool)
    return ((v is None and "None" in kinds) or (isinstance(v, bool) and "bool" in kinds)
            or (is_int and ("int" in kinds or "float" in kinds))
            or (isinstance(v, float) and "float" in kinds) or (isinstance(v, str) and "str" in kinds))


def _decode(cls, fields: dict, z, path, where):
    """JSON fields → an instance of dataclass cls (arrays looked up in z)."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(fields) - set(known)
    if unknown:
        raise ModelFileError(f"{path}: {where}: unknown field(s) {', '.join(sorted(unknown))} "
                             f"(a {cls.__name__} has: {', '.join(known)})")
    required = [n for n, f in known.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [n for n in required if n not in fields]
    if missing:
        raise ModelFileError(f"{path}: {where}: missing field(s) {', '.join(missing)}")
    kw = {}
    for name, v in fields.items():
        ann = str(known[name].type)
        if "ndarray" in ann:
            if v is None and "None" not in ann:
                raise ModelFileError(f"{path}: {where}: field {name} must name an array, got null")
            kw[name] = None if v is None else _array(z, path, v, f"{where} field {name}")
        elif _value_ok(v, ann):
            kw[name] = v
        else:
            want = " or ".join({"int": "an integer", "float": "a number", "bool": "true/false",
                                "str": "a string", "None": "null"}.get(t.strip(), t.strip())
                               for t in ann.split("|"))
            raise ModelFileError(f"{path}: {where}: field {name} must be {want}, got {json.dumps(v)}")
    try:
        return cls(**kw)
    except (TypeError, ValueError) as e:        # MapError included: the class's own checks
        raise ModelFileError(f"{path}: {where}: {e}") from None


def load_model(path, in_scale: float | None = None):
    """Read a model file: a Model, or an RBM.  `in_scale` overrides the file's input scale
    (the plain W0/b0 form has none and defaults to 1.0)."""
    path = Path(path)
    z = _open(path)
    with z:
        if SPEC_KEY not in z.files:
            return _load_plain(z, path, 1.0 if in_scale is None else in_scale)
        try:
            spec = json.loads(str(z[SPEC_KEY][()]))
        except (ValueError, TypeError) as e:
            raise ModelFileError(f"{path}: the {SPEC_KEY} description is not valid JSON: {e}") from None
        if not isinstance(spec, dict) or spec.get("format") != FORMAT:
            raise ModelFileError(f"{path}: {SPEC_KEY} is not an {FORMAT} description")
        if spec.get("version") != VERSION:
            raise ModelFileError(f"{path}: model file version {spec.get('version')!r}; this emulator reads version {VERSION}")
        kind = spec.get("kind", "sequential")
        if kind == "rbm":
            body = spec.get("rbm")
            if not isinstance(body, dict):
                raise ModelFileError(f"{path}: 'rbm' must be an object with W, bv, bh, name")
            return _decode(_rbm_type(), body, z, path, "the RBM")
        if kind != "sequential":
            raise ModelFileError(f"{path}: unknown model kind {kind!r} (expected 'sequential' or 'rbm')")
        inp = spec.get("input", {})
        if not isinstance(inp, dict):
            raise ModelFileError(f"{path}: 'input' must be an object with shape, scale and bits")
        layers_spec = spec.get("layers")
        if not isinstance(layers_spec, list) or not layers_spec:
            raise ModelFileError(f"{path}: 'layers' must be a non-empty list")
        types, layers = _layer_types(), []
        for i, ls in enumerate(layers_spec):
            if not isinstance(ls, dict) or ls.get("type") not in types:
                got = ls.get("type") if isinstance(ls, dict) else ls
                raise ModelFileError(f"{path}: layer {i}: type {got!r} is not one of {', '.join(types)}")
            fields = {k: v for k, v in ls.items() if k != "type"}
            layers.append(_decode(types[ls["type"]], fields, z, path, f"layer {i} ({ls['type']})"))
        shape = inp.get("shape")
        if shape is not None and (not isinstance(shape, list) or len(shape) != 3
                                  or not all(isinstance(v, int) and v > 0 for v in shape)):
            raise ModelFileError(f"{path}: input shape must be [H, W, C] positive integers or null, got {shape!r}")
        m = Model(layers, in_scale=inp.get("scale", 1.0) if in_scale is None else in_scale,
                  in_bits=inp.get("bits", 4), act_bits=spec.get("act_bits", 4),
                  in_shape=tuple(shape) if shape else None)
    try:
        if isinstance(layers[0], _layer_types()["rnn"]):    # the recurrent mapper checks the rest
            check_input_coding(m.in_scale, m.in_bits, m.act_bits)
            for i, L in enumerate(layers):
                check_name(L.name or f"L{i + 1}", f"layer {i}")
        else:
            m.shapes()
    except MapError as e:
        raise ModelFileError(f"{path}: {e}") from None
    return m


def _load_plain(z, path: Path, in_scale: float) -> Model:
    ws = sorted(int(k[1:]) for k in z.files if k[:1] == "W" and k[1:].isdigit())
    if not ws or ws != list(range(len(ws))):
        raise ModelFileError(f"{path}: expected arrays W0, b0, W1, b1, … (or a {SPEC_KEY} description), "
                             f"found {', '.join(sorted(z.files)) or 'none'}")
    layers = []
    for k in ws:
        W = _array(z, path, f"W{k}", f"layer {k}")
        b = _array(z, path, f"b{k}", f"layer {k}") if f"b{k}" in z.files else None
        layers.append(Dense(W, b, k < len(ws) - 1, f"fc{k + 1}"))
    m = Model(layers, in_scale=in_scale)
    try:
        m.shapes()
    except MapError as e:
        raise ModelFileError(f"{path}: {e}") from None
    return m
