"""What a sweep point runs: a Build (the assembled program and how to score its outputs),
prepared once on the client per distinct build setting and shared by every point that uses it,
and run_point, the task each point is — a pure function of (build, settings, point parameters).

Nothing in a point depends on the process that runs it: the machine seed comes from the point's
`seed` and `die_seed`, so a point gives the same record in-process, on one worker or on many.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .spec import KIND_AXES, WORKLOAD_AXES, SpecError

MAX_CYCLES = 10**10             # the `neurram run` limit: only a runaway program gets there


@dataclass
class Build:
    """A program ready to load, with what is needed to score a run of it."""
    program: object             # emulator.program.LoadedProgram
    inferences: int             # inputs the program processes (energy and latency are divided by it)
    read: str                   # "classifier", "rbm" or "dumps"
    loop: str | None = None     # label where the per-inference part starts (before it: setup)
    labels: np.ndarray | None = None
    dumps: tuple = ()           # (name, addr, count, dtype) for "dumps"
    rbm: dict = field(default_factory=dict)   # result symbol, row, n_v, keep, clean images


def build_params(workload: dict, params: dict) -> dict:
    """The settings a point's program is compiled with: its build axes, else the fixed values."""
    kind = workload["kind"]
    return {k: params.get(k, workload.get(k)) for k in sorted(KIND_AXES[kind] - {"die_seed"})}


def build_key(workload: dict, bp: dict) -> str:
    return hashlib.sha256(json.dumps([workload, bp], sort_keys=True, default=str).encode()).hexdigest()[:16]


def _program(asm: str, data: dict, name: str):
    from emulator.program import load_program
    from emulator.workloads.chiprun import save_program

    with tempfile.TemporaryDirectory(prefix="neurram_sweep_") as d:
        return load_program(save_program(asm, data, d, name))


def _npy(path: str, what: str) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise SpecError(f"{path}: not a .npy array ({what}): {e}") from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf" or len(a) == 0:
        raise SpecError(f"{path}: {what} must be a non-empty numeric .npy array")
    return a


def _noise(wl: dict) -> bool:
    return wl.get("training", "noise-aware") == "noise-aware"


def make_build(workload: dict, bp: dict) -> Build:
    """Compile and assemble the program of one build setting (on the client)."""
    kind = workload["kind"]
    try:
        return _BUILDERS[kind](workload, bp)
    except SpecError:
        raise
    except Exception as e:   # a mapper refusal (MapError), an assembler error: the spec's fault
        what = ", ".join(f"{k} = {v}" for k, v in bp.items() if v is not None)
        raise SpecError(f"{workload.get('program') or workload.get('model_file') or kind}"
                        f"{' (' + what + ')' if what else ''}: cannot build the program: {e}") from None


def _build_program(wl: dict, bp: dict) -> Build:
    from emulator.machine import Machine
    from emulator.program import load_program
    from emulator.dumps import DumpError, parse_dump

    prog = load_program(Path(wl["program"]))
    m = Machine().load(prog)
    try:
        dumps = tuple((d.name, d.addr, d.count, d.dtype) for d in (parse_dump(s, m) for s in wl["outputs"]))
    except DumpError as e:
        raise SpecError(f"{wl['program']}: outputs: {e}") from None
    loop = wl.get("loop")
    if loop is not None and loop not in prog.symbols:
        raise SpecError(f"{wl['program']}: loop: no label {loop!r} in the program")
    return Build(prog, wl.get("inferences", 1), "dumps", loop, dumps=dumps)


def _digits_model(wl: dict, in_bits):
    from emulator.workloads import digits as D

    model = D.shipped_model(_noise(wl))
    if in_bits is not None and in_bits != model.in_bits:
        # keep the pixel range 0..16 on the full code range of the new width
        model = replace(model, in_bits=in_bits, in_scale=16 / (2**in_bits - 1))
    return model


def _build_digits(wl: dict, bp: dict) -> Build:
    from emulator.workloads import digits as D

    c, y = D.compile_digits(_digits_model(wl, bp["in_bits"]), wl.get("n_test"),
                            age_ms=D.AGE_MS if bp["age_ms"] is None else bp["age_ms"],
                            copies=bp["copies"] or D.COPIES)
    return Build(_program(c.asm, c.data, c.name), c.n, "classifier", "loop", labels=y)


def _test_digits(n):
    from emulator.workloads.digits import load_digits_split

    Xtr, _, Xte, yte = load_digits_split()
    return Xtr, Xte[:n], yte[:n]


def _build_cnn(wl: dict, bp: dict) -> Build:
    from emulator.workloads import cnn as C

    Xtr, X, y = _test_digits(wl.get("n_test"))
    copies = bp["copies"] or C.CONV_COPIES
    q = C.quantise_cnn(C.shipped(_noise(wl)), Xtr, rc=copies, rf=copies)
    asm, data = C.program(q, X, age_ms=C.AGE_MS if bp["age_ms"] is None else bp["age_ms"])
    return Build(_program(asm, data, "cnn_digits"), len(X), "classifier", "image", labels=y)


def _build_rnn(wl: dict, bp: dict) -> Build:
    from emulator.workloads import rnn as R

    Xtr, X, y = _test_digits(wl.get("n_test"))
    q = R.quantise_rnn(R.shipped(_noise(wl)), Xtr, copies=bp["copies"] or R.COPIES)
    asm, data = R.program(q, X)
    return Build(_program(asm, data, "rnn_digits"), len(X), "classifier", "image", labels=y)


def _build_rbm(wl: dict, bp: dict) -> Build:
    from emulator.workloads import rbm as B

    n, frac, known = wl.get("n", 40), wl.get("frac", 0.2), not wl.get("unknown", False)
    V = B.binarise(B.load_digits_split()[2][:n])
    C, mask = (B.corrupt if known else B.flip)(V, frac, seed=0)
    c = B.compiled(B.shipped(), C, mask if known else None, age_ms=bp["age_ms"] or 0)
    info = {"result": c.extra["result"], "row": c.extra["row"], "n_v": c.extra["n_out"],
            "keep": c.extra["keep"], "clean": V}
    return Build(_program(c.asm, c.data, c.name), len(V), "rbm", "image", rbm=info)


def _build_model(wl: dict, bp: dict) -> Build:
    from emulator.mapper import compile_model, quantise
    from emulator.mapper.modelfile import load_model

    m = load_model(wl["model_file"], wl.get("in_scale"))
    if not hasattr(m, "layers"):
        raise SpecError(f"{wl['model_file']}: an RBM model file: sweep it with kind = \"rbm\" "
                        "or compile it and sweep the program")
    X = _npy(wl["inputs"], "inputs")
    X = X.reshape(len(X), -1).astype(float)
    C = _npy(wl["calib"], "calib").reshape(-1, X.shape[1]).astype(float) if "calib" in wl else X
    y = _npy(wl["labels"], "labels").astype(np.int64).ravel() if "labels" in wl else None
    if y is not None and len(y) != len(X):
        raise SpecError(f"{wl['labels']}: {len(y)} labels for {len(X)} inputs")
    if bp["in_bits"] is not None and bp["in_bits"] != m.in_bits:
        m = replace(m, in_bits=bp["in_bits"], in_scale=m.in_scale * (2**m.in_bits - 1) / (2**bp["in_bits"] - 1))
    age = bp["age_ms"] or 0
    if type(m.layers[0]).__name__ == "SimpleRNN":
        from emulator.mapper.rnn import compile_rnn, quantise_rnn

        q = quantise_rnn(m, C, copies=bp["copies"] or 1)
        c = compile_rnn(q, q.encode(X), name="model", age_ms=age)
    else:
        q = quantise(m, C, copies=bp["copies"] or 1)
        c = compile_model(q, q.encode(X), name="model", age_ms=age)
    return Build(_program(c.asm, c.data, c.name), c.n, "classifier", "loop", labels=y)


_BUILDERS = {"program": _build_program, "digits": _build_digits, "cnn": _build_cnn, "rnn": _build_rnn,
             "rbm": _build_rbm, "model": _build_model}


# ------------------------------------------------------------------------------- worker side

def machine_seed(seed: int, die_seed) -> int:
    """The machine seed of a point.  The C core draws every random number from one seed, so a
    die seed is mixed with the analog seed (splitmix64) into a distinct stream per (die, seed)
    pair; without a die seed the point's seed is used as it is (same as `neurram run --seed`)."""
    if die_seed is None:
        return seed
    z = (seed * 0x9E3779B97F4A7C15 + (die_seed + 1) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    return z ^ (z >> 31)


def per_inference(total_cycles: int, setup_cycles: int, total_pj: float, setup_pj: float,
                  inferences: int, clock_hz: float) -> dict:
    """Latency and energy per inference from what a run reports today: the part of the run after
    the setup (weight programming, chip age) divided by the inferences.  The silicon profiles of
    issue 11 will supply their own per-inference figures; this is the one place to switch."""
    return {"latency_s": (total_cycles - setup_cycles) / clock_hz / inferences,
            "energy_j": (total_pj - setup_pj) * 1e-12 / inferences}


def _outputs(m, build: Build) -> np.ndarray:
    if build.read == "classifier":
        return m.mem(m.sym("pred"), build.inferences, "u8").astype(np.int64)
    if build.read == "rbm":
        b = build.rbm
        cnt = m.mem(m.sym(b["result"]), build.inferences * b["row"], "u8").reshape(build.inferences, b["row"])
        return (cnt[:, :b["n_v"]].astype(np.int64) * 2 > b["keep"]).astype(np.int64)
    return np.concatenate([m.mem(a, n, dt).astype(np.int64) for _, a, n, dt in build.dumps])


def _run(build: Build, cfg: dict):
    """Run the build's program with a configuration: (machine, outputs, setup cycles, setup pJ)."""
    from emulator.machine import Machine

    m = Machine(config=cfg).load(build.program)
    setup_cycles, setup_pj = 0, 0.0
    if build.loop is not None:
        m.set_breakpoint(build.loop)
        r = m.run(max_cycles=MAX_CYCLES)
        m.clear_breakpoint(build.loop)
        if r.stop == "breakpoint":
            # setup ends when the controller reaches the loop and every core has finished programming
            busy = max([m.cycle] + [c.busy_until for c in m.cores])
            setup_cycles, setup_pj = busy, m.energy_report()["total_pj"]
    r = m.run(max_cycles=MAX_CYCLES)
    if not r.ok:
        raise RuntimeError(f"the program stopped: {r.message or r.stop}")
    return m, _outputs(m, build), setup_cycles, setup_pj


_IDEAL: dict = {}   # per process: ideal outputs of a (build, configuration), reused across points


def _ideal(build: Build, build_id: str, cfg: dict) -> np.ndarray:
    icfg = {**cfg, "model": "ideal"}
    k = (build_id, json.dumps({c: v for c, v in icfg.items() if c not in HOST_KEYS}, sort_keys=True))
    if k not in _IDEAL:
        if len(_IDEAL) > 64:
            _IDEAL.clear()
        _IDEAL[k] = _run(build, icfg)[1]
    return _IDEAL[k]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neurram48")
    except PackageNotFoundError:
        return "unknown"


def run_point(build: Build, build_id: str, config: dict, workload: dict, params: dict,
              host_threads: int | None = None) -> dict:
    """One point: its record (docs/sweeps.md, the points table) or, if it fails, its error.
    `host_threads`: the chip's worker threads when the spec does not set `threads` (a local
    cluster gives each of its processes its share of the cores); never changes a result."""
    t0 = time.perf_counter()
    try:
        rec = _measure(build, build_id, config, workload, params, host_threads)
        rec["status"] = "ok"
    except Exception as e:   # recorded in the store, retried once: never lost in a worker log
        rec = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
    rec["wall_s"] = time.perf_counter() - t0
    return rec


# host-execution keys: how the emulator runs, never what it computes (not part of a record's hash)
HOST_KEYS = ("threads", "wv_serial")


def _measure(build: Build, build_id: str, config: dict, workload: dict, params: dict,
             host_threads: int | None = None) -> dict:
    cfg = {**config, **{k: v for k, v in params.items() if k not in WORKLOAD_AXES}}
    if host_threads is not None and "threads" not in cfg:
        cfg["threads"] = host_threads
    cfg["seed"] = machine_seed(cfg.get("seed", 0), params.get("die_seed", workload.get("die_seed")))
    m, out, setup_cycles, setup_pj = _run(build, cfg)
    e = m.energy_report()
    rec = {"cycles": int(m.cycle), "setup_cycles": int(setup_cycles), "energy_j": e["total_pj"] * 1e-12,
           "inferences": build.inferences, "accuracy": None, "output_error": None, "outputs": None}
    per = per_inference(m.cycle, setup_cycles, e["total_pj"], setup_pj, build.inferences, m.config.clock_hz)
    rec["latency_per_inference_s"], rec["energy_per_inference_j"] = per["latency_s"], per["energy_j"]
    if build.read == "classifier" and build.labels is not None:
        rec["accuracy"] = float(np.mean(out == build.labels))
    elif build.read == "rbm":
        wrong = int((out != build.rbm["clean"]).sum())
        rec["accuracy"] = 1 - wrong / out.size
        rec["output_error"] = wrong / build.inferences       # wrong pixels per recovered image
    if build.read == "dumps" or (build.read == "classifier" and build.labels is None):
        ideal = _ideal(build, build_id, cfg)
        d = (out - ideal).astype(float)
        rec["output_error"] = float(np.sqrt(np.mean(d * d)))  # RMS difference from the ideal model
        if build.read == "dumps":
            rec["outputs"] = json.dumps(out.tolist())
    chip = {k: v for k, v in dict(m.config).items() if k not in HOST_KEYS}
    rec["config_hash"] = hashlib.sha256(json.dumps(chip, sort_keys=True).encode()).hexdigest()[:16]
    rec["version"] = _version()
    return rec
