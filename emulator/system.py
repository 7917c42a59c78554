"""`System`: several chips, each a `Machine`, stepped in cycle order by the C scheduler.

    sys = System(2, link="c2c", seed=1)            # two chips; chip 0 is the single machine
    sys.load(["ping.s", "pong.s"])                  # one program per chip
    r = sys.run()                                   # SystemResult: stop, cycles, per-chip results
    sys.chips[1].mem(sys.chips[1].sym("buf"), 16)   # each chip is a Machine
    sys.link_report()                               # transfers, bytes, occupancy, energy per link

Chips share nothing but the links (csrc/system.c): each has its own cores, conductances,
controller, program and data memory, and its own seed, `nr_chip_seed(seed, chip)` — chip 0
keeps the seed, so a one-chip system is the single machine and a chip's noise never depends on
how many chips sit beside it.  Runs, steps and cycle advances go through one C call per slice;
the scheduler never crosses into Python per cycle.  Link presets are in LINK_PRESETS, with their
sources; docs/machine.md (Systems) describes the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ._native import FAULT_NAMES, OP_NAMES, STOP_NAMES, CoreError, check, ffi, lib
from .config import ChipConfig, ConfigError
from .machine import DEFAULT_MAX_CYCLES, Machine, RunResult, Snapshot

__all__ = ["System", "SystemResult", "SystemSnapshot", "LINK_PRESETS", "MAX_CHIPS"]

MAX_CHIPS = lib.NR_MAX_CHIPS
_SLICE = 1 << 26
_NEVER = 2**64 - 1

# Interconnect presets.  Times in picoseconds; a transfer is padded to whole packets, crosses
# `crossings` links one after the other (each paying `setup_ps` and the packets' wire time,
# holding the link meanwhile), then `latency_ps` of flight that does not hold the link.
LINK_PRESETS: dict[str, dict[str, Any]] = {
    # The authors' flow: every activation goes chip → FPGA → host PC → FPGA → chip over the
    # test board's USB link (Opal Kelly XEM6310, USB 3.0 FrontPanel pipes).  Nobody measured that
    # link (reference/multichip.md), so the figures are our estimates: 340 MB/s, the vendor's
    # rating of a XEM6310 pipe; 16-byte pipe granularity (FrontPanel USB 3 block size); 100 µs
    # per pipe transaction for driver + USB round trip + the host's Python, consistent with the
    # harness's measured 1.2 ms per MVM including several USB transactions (neurram-facts §3);
    # one host serves every transfer (shared); 100 pJ/bit per crossing, a USB 3.0 PHY pair at
    # ~0.5 W for 5 Gb/s (the PC's own energy is not counted).
    "host": {"packet_bytes": 16, "packet_ps": 47_059, "setup_ps": 100_000_000, "latency_ps": 0,
             "crossings": 2, "shared": 1, "pj_per_bit": 100.0,
             "source": "estimate: XEM6310 USB 3.0 pipe 340 MB/s, 100 µs per transaction, "
                       "2 crossings via the host PC, 100 pJ/bit"},
    # A direct chip-to-chip link with PUMA's published figures (puma-simulator
    # include/constants.py, taken from ISAAC): HyperTransport, 6.4 GB/s, 5 ns per 32-byte packet,
    # 10.4 W → 10.4 W / 51.2 Gb/s = 203 pJ/bit; a point-to-point link per ordered chip pair.
    "c2c": {"packet_bytes": 32, "packet_ps": 5_000, "setup_ps": 0, "latency_ps": 5_000,
            "crossings": 1, "shared": 0, "pj_per_bit": 10.4 / 51.2e9 * 1e12,
            "source": "PUMA (from ISAAC): HyperTransport 6.4 GB/s, 5 ns per 32-byte packet, "
                      "10.4 W"},
}
_LINK_KEYS = ("packet_bytes", "packet_ps", "setup_ps", "latency_ps", "crossings", "shared")


def link_preset(link: "str | dict") -> dict[str, Any]:
    """A preset by name, or a dict of its keys (missing ones from `c2c`)."""
    if isinstance(link, str):
        if link not in LINK_PRESETS:
            raise ConfigError(f"unknown link preset {link!r}; presets: {', '.join(LINK_PRESETS)}")
        return dict(LINK_PRESETS[link], name=link)
    out = dict(LINK_PRESETS["c2c"], name="custom", source="user")
    for k, v in link.items():
        if k not in out:
            raise ConfigError(f"unknown link key {k!r}; keys: {', '.join(_LINK_KEYS + ('pj_per_bit',))}")
        out[k] = v
    return out


@dataclass(frozen=True)
class SystemResult:
    """How a system run ended: the stop, the system's cycle and every chip's own result."""
    stop: str                   # halt (every chip), cycle, step, breakpoint, ebreak, fault, deadlock
    cycles: int                 # the latest chip cycle
    chip: int                   # the chip whose stop ended the run (0 when all halted)
    chips: tuple[RunResult, ...]
    clock_hz: float
    message: str | None = None  # fault or deadlock: which chips, at which pcs, waiting for whom

    @property
    def ok(self) -> bool:
        return self.stop == "halt"

    @property
    def time_s(self) -> float:
        return self.cycles / self.clock_hz

    def to_dict(self) -> dict[str, Any]:
        return {"stop": self.stop, "cycles": self.cycles, "time_s": self.time_s, "chip": self.chip,
                "message": self.message, "chips": [r.to_dict() for r in self.chips]}


class SystemSnapshot:
    """A copy of the whole system: the scheduler's link state and every chip's snapshot."""

    def __init__(self, state: bytes, chips: tuple[Snapshot, ...]):
        self.state, self.chips = state, chips

    def __eq__(self, other) -> bool:
        return (isinstance(other, SystemSnapshot) and self.state == other.state
                and self.chips == other.chips)


class System:
    """N chips and their links.  `config` is one chip configuration for all chips or a list
    with one per chip (path, dict or ChipConfig); `model` and `seed` override it as in Machine."""

    def __init__(self, n_chips: int = 1, model: str | None = None, seed: int | None = None,
                 config: "Any | Sequence[Any]" = None, link: "str | dict" = "c2c"):
        if not 1 <= n_chips <= MAX_CHIPS:
            raise ConfigError(f"a system has 1..{MAX_CHIPS} chips, not {n_chips}")
        configs = list(config) if isinstance(config, (list, tuple)) else [config] * n_chips
        if len(configs) != n_chips:
            raise ConfigError(f"{len(configs)} chip configurations for {n_chips} chips")
        self.chips: list[Machine] = []
        for k, c in enumerate(configs):
            cfg = ChipConfig.load(c, model=model, seed=seed)
            cfg = cfg.updated({"seed": int(lib.nr_chip_seed(cfg["seed"], k))}, f"<chip {k} seed>")
            self.chips.append(Machine(config=cfg))
        clocks = {m.config.clock_hz for m in self.chips}
        if len(clocks) != 1:
            raise ConfigError(f"the chips of a system share one clock; got {sorted(clocks)} Hz")
        self.clock_hz = clocks.pop()
        self.link = link_preset(link)
        self._c = ffi.new("nr_system *")
        self._chip_ptrs = ffi.new("nr_machine *[]", [m._native.m for m in self.chips])
        self._init_links()

    def _init_links(self) -> None:
        cfg = ffi.new("nr_link_cfg *")
        for k in _LINK_KEYS:
            v = self.link[k]
            if not isinstance(v, int) or v < 0:
                raise ConfigError(f"link key {k!r} must be a non-negative integer, got {v!r}")
            setattr(cfg, k, v)
        cycle_ps = round(1e12 / self.clock_hz)
        rc = lib.nr_sys_init(self._c, self._chip_ptrs, len(self.chips), cfg, cycle_ps)
        if rc != lib.NR_OK:
            raise ConfigError(f"link configuration {self.link} is out of range "
                              "(crossings 1..16, packet_bytes ≥ 1, times below 2^50 ps)")

    @property
    def n_chips(self) -> int:
        return len(self.chips)

    # ------------------------------------------------------------ loading

    def load(self, programs: Sequence[Any]) -> "System":
        """One program per chip (anything Machine.load takes); resets chips and link counters."""
        if len(programs) != self.n_chips:
            raise CoreError(f"{len(programs)} programs for {self.n_chips} chips: give one per chip")
        for m, p in zip(self.chips, programs):
            m.load(p)
        self._init_links()
        return self

    # ------------------------------------------------------------ running

    def _call(self, until: int, step_chip: int = -1, target: int = 0) -> int:
        """nr_sys_run, draining every chip's trace buffer whenever one fills."""
        while True:
            stop = lib.nr_sys_run(self._c, min(until, _NEVER), step_chip, target)
            check(stop, "system run")
            if stop != lib.NR_STOP_TRACE_FULL:
                for m in self.chips:
                    m._native.trace_drain()
                return stop
            for m in self.chips:
                m._native.trace_drain()

    def run(self, max_cycles: int | None = DEFAULT_MAX_CYCLES) -> SystemResult:
        """Run until every chip has halted, or a stop (breakpoint, ebreak, fault, deadlock).
        A system still running after max_cycles cycles (default: Machine.run's, 10^10; None: no
        limit) stops with cycle_limit."""
        self._require_programs()
        target = None if max_cycles is None else self.cycle + max_cycles
        while True:
            base = self.cycle
            until = base + _SLICE if target is None else min(target, base + _SLICE)
            stop = self._call(until)
            if stop != lib.NR_STOP_CYCLE or (target is not None and self.cycle >= target):
                break
        if stop == lib.NR_STOP_CYCLE and target is not None:
            return self._result(stop, limit=max_cycles)
        return self._result(stop)

    def run_until(self, cycle: int) -> SystemResult:
        """Advance every chip to cycle `cycle` (chips waiting on a link stay at their wait)."""
        self._require_programs()
        return self._result(self._call(int(cycle)))

    def step_cycles(self, n: int = 1) -> SystemResult:
        return self.run_until(self.cycle + n)

    def step(self, n: int = 1, chip: int = 0) -> SystemResult:
        """Issue n instructions on `chip`; the other chips advance to the cycle it stops at."""
        self._require_programs()
        self._check_chip(chip)
        if n <= 0:
            return self._result(lib.NR_STOP_STEP)
        target = self.chips[chip].instret + n
        return self._result(self._call(_NEVER, chip, target))

    def advance(self, until: int | None = None, steps: int | None = None, chip: int = 0) -> str:
        """One scheduler call (for drivers such as the debugger): to cycle `until`, or `steps`
        instructions of `chip`.  Returns the stop name."""
        self._require_programs()
        if steps is not None:
            self._check_chip(chip)
            return STOP_NAMES[self._call(_NEVER, chip, self.chips[chip].instret + steps)]
        return STOP_NAMES[self._call(_NEVER if until is None else int(until))]

    def _check_chip(self, chip: int) -> None:
        if not 0 <= chip < self.n_chips:
            raise IndexError(f"no chip {chip} (chips 0..{self.n_chips - 1})")

    def _require_programs(self) -> None:
        if any(m.program is None for m in self.chips):
            raise CoreError("load one program per chip first (System.load)")

    @property
    def cycle(self) -> int:
        """The system's cycle: the latest chip's (waiting or halted chips may be behind it)."""
        return max(m.cycle for m in self.chips)

    @property
    def halted(self) -> bool:
        return all(m.halted for m in self.chips)

    @property
    def stop_chip(self) -> int:
        return int(self._c.stop_chip)

    @property
    def barriers(self) -> int:
        return int(self._c.barriers)

    def waiting(self, chip: int) -> dict[str, Any] | None:
        """The link request chip `chip` waits in, or None."""
        m = self.chips[chip]._native.m
        state = int(m.link_state)
        if state in (lib.NR_LINK_NONE, lib.NR_LINK_DONE):
            return None
        op = _LINK_OPS.get(int(m.link_op), "?")
        return {"op": op, "peer": None if op == "barrier" else int(m.link_peer),
                "addr": int(m.link_addr), "bytes": int(m.link_len), "since": int(m.link_post),
                "state": "granted" if state == lib.NR_LINK_GRANTED else "posted",
                "end": int(m.link_end) if state == lib.NR_LINK_GRANTED else None}

    # ------------------------------------------------------------ snapshots

    def snapshot(self) -> SystemSnapshot:
        size = lib.nr_sys_state_size()
        buf = bytearray(size)
        check(lib.nr_sys_state_save(self._c, ffi.from_buffer(buf), size), "system snapshot")
        return SystemSnapshot(bytes(buf), tuple(m.snapshot() for m in self.chips))

    def restore(self, snap: SystemSnapshot) -> None:
        if len(snap.chips) != self.n_chips:
            raise CoreError(f"a snapshot of {len(snap.chips)} chips does not fit {self.n_chips}")
        check(lib.nr_sys_state_load(self._c, ffi.from_buffer(snap.state), len(snap.state)),
              "system restore")
        for m, s in zip(self.chips, snap.chips):
            m.restore(s)

    def normalize(self) -> None:
        for m in self.chips:
            m.normalize()

    # ------------------------------------------------------------ reports

    def transfer_cycles(self, nbytes: int) -> tuple[int, int]:
        """(cycles from match to end, cycles the link is held) of one transfer on an idle link."""
        occ = ffi.new("uint64_t *")
        total = lib.nr_sys_transfer_cycles(self._c, nbytes, occ)
        return int(total), int(occ[0])

    def link_report(self) -> dict[str, Any]:
        """Per link: transfers, bytes, wire bytes, busy (occupancy) and queueing cycles, summed
        latency, energy; plus totals.  Links that carried nothing are left out."""
        n, shared = self.n_chips, bool(self.link["shared"])
        cycles = max(self.cycle, 1)
        pj = float(self.link["pj_per_bit"])
        links, tot = {}, dict.fromkeys(("transfers", "bytes", "wire_bytes", "busy_cycles",
                                        "queue_cycles", "latency_cycles"), 0)
        for idx in range(1 if shared else n * n):
            st = self._c.links[idx]
            if not st.transfers:
                continue
            row = {k: int(getattr(st, k)) for k in tot}
            row["occupancy"] = row["busy_cycles"] / cycles
            row["energy_pj"] = row["wire_bytes"] * 8 * pj
            name = "host" if shared else f"chip{idx // n}->chip{idx % n}"
            links[name] = row
            for k in tot:
                tot[k] += row[k]
        tot["energy_pj"] = tot["wire_bytes"] * 8 * pj
        tot["latency_s"] = tot["latency_cycles"] / self.clock_hz
        return {"preset": self.link["name"], "source": self.link["source"], "pj_per_bit": pj,
                "barriers": self.barriers, "links": links, "total": tot}

    def energy_report(self) -> dict[str, Any]:
        """Each chip's energy report, the links' energy and the sum."""
        chips = [m.energy_report() for m in self.chips]
        links = self.link_report()
        total = sum(c["total_pj"] for c in chips) + links["total"]["energy_pj"]
        return {"chips": chips, "links": links, "total_pj": total}

    def _result(self, stop: int, limit: int | None = None) -> SystemResult:
        results = tuple(m.result() for m in self.chips)
        name = STOP_NAMES[stop]
        chip = self.stop_chip
        message = None
        if limit is not None:
            name, message = "fault", f"system: still running after {limit} cycles (cycle_limit)"
        elif name == "deadlock":
            message = self._deadlock_message()
        elif name == "fault":
            message = f"chip {chip}: {results[chip].message}"
        return SystemResult(name, self.cycle, chip, results, self.clock_hz, message)

    def _deadlock_message(self) -> str:
        parts = []
        for k, m in enumerate(self.chips):
            r = m._native.m.result
            if FAULT_NAMES[r.fault] != "deadlock":
                continue
            w = self.waiting(k) or {"op": "?", "peer": None}
            loc = m.source_location(int(r.fault_pc))
            where = f"pc {int(r.fault_pc):#x}" + (f" ({loc})" if loc else "")
            if w["op"] == "barrier":
                why = "waits at a barrier that some chip can never reach"
            else:
                peer = w["peer"]
                state = "halted" if self.chips[peer].halted else f"at pc {self.chips[peer].pc:#x}"
                verb = "to" if w["op"] == "send" else "from"
                why = f"waits in {w['op']} {verb} chip {peer} ({state})"
            parts.append(f"chip {k} at {where} {why}")
        return "deadlock: " + "; ".join(parts)


_LINK_OPS = {OP_NAMES.index(name): name for name in ("send", "recv", "barrier")}


def load_system_file(path: "str | Path") -> dict[str, Any]:
    """Read a system description (docs/machine.md, Systems): a TOML file with `link`, optional
    `model` / `seed`, and one [[chip]] table per chip with `program` and optional `config`.
    Paths are relative to the file.  Errors name the file and the key."""
    import tomllib
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror}") from None
    known = {"link", "model", "seed", "chip"}
    for k in raw:
        if k not in known:
            raise ConfigError(f"{path}: unknown key {k!r}; keys: {', '.join(sorted(known))}")
    chips = raw.get("chip")
    if not isinstance(chips, list) or not chips:
        raise ConfigError(f"{path}: give one [[chip]] table per chip, each with program = \"….s\"")
    programs, configs = [], []
    for i, c in enumerate(chips):
        extra = set(c) - {"program", "config"}
        if extra:
            raise ConfigError(f"{path}: [[chip]] {i}: unknown key {sorted(extra)[0]!r} "
                              "(keys: program, config)")
        if "program" not in c:
            raise ConfigError(f"{path}: [[chip]] {i} has no program")
        programs.append(path.parent / c["program"])
        cfg = c.get("config")
        configs.append(path.parent / cfg if isinstance(cfg, str) else cfg)
    link = raw.get("link", "c2c")
    return {"programs": programs, "configs": configs, "link": link,
            "model": raw.get("model"), "seed": raw.get("seed")}
