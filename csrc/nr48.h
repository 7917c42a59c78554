/* nr48.h — cycle-level emulator core of the NeuRRAM-48 chip (ISA NR48).

   One plain struct, `nr_machine`, holds the whole chip: the controller (pc, x0–x15, VL, clock),
   the pre-decoded program, data memory, the 48 compute-in-memory cores, the 8 scan chains and
   the chip's single write-verify programmer.  docs/machine.md is the contract this implements:
   ideal integer numerics, the timing of every instruction and core operation, and the faults.

   API
     nr_config_default(&cfg)              defaults: 4 MiB memory, ideal model, timing from the ISA
     nr_config_set_param(&cfg, name, v)   set a timing parameter by its ISA name
     nr_new(&cfg, &err) / nr_delete(m)    allocate a machine (or nr_init / nr_free on your own
                                          struct); errors are NR_ERR_* codes
     nr_load(m, code, n, segs, nsegs, entry)
                                          reset to the power-on state, decode the program once,
                                          copy the data segments into data memory
     nr_run(m, until_cycle, max_insns)    run until halt, ebreak, a breakpoint, a fault, the
                                          cycle `until_cycle`, or `max_insns` issued instructions
                                          (0 = no instruction budget); returns an nr_stop and
                                          fills m->result
     nr_reg / nr_set_reg, nr_mem_read / nr_mem_write, nr_core_*   accessors for the driver
     nr_bp_set / nr_bp_clear              debugger breakpoints on code addresses
     nr_trace_enable / _drain / _disable  commit-log trace records (docs/trace-format.md)
     nr_snapshot_size / _save / _load     the machine as a flat byte image (a copy)

   Usage
     nr_config cfg; nr_config_default(&cfg);
     int err;
     nr_machine *m = nr_new(&cfg, &err);          // or nr_init() on a struct you own
     if (!m) abort();
     nr_load(m, words, nwords, segs, nsegs, 0);
     for (;;) {
         int stop = nr_run(m, m->cycle + 1000000, 0);    // one million cycles at a time
         if (stop != NR_STOP_CYCLE) break;                 // halt, ebreak, breakpoint or fault
     }
     printf("%s after %llu cycles\n", nr_stop_name(m->result.stop),
            (unsigned long long)m->cycle);
     nr_delete(m);

   Time.  `cycle` is the cycle the state describes: every instruction issued before it has
   executed and every core operation ending at or before it has completed.  Running to T in one
   call or in many gives the same state, so the driver may slice runs freely.

   Stops.  halt retires and leaves pc on itself; the machine stays halted (nr_run returns
   NR_STOP_HALT at once) until the next nr_load.  ebreak retires and stops past itself.  A
   breakpoint stops before its instruction issues (before any wait for a busy core); the next
   run issues it.  A fault stops before the faulting instruction changes anything, with pc on
   it and m->result naming the fault, its pc and a detail (see nr_fault).

   Prefixes: nr_ public, _nr_ private (nr_private.h), NR_ macros. */
#ifndef NR48_H
#define NR48_H

#include <stddef.h>
#include <stdint.h>

#include "nr_isa.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the data memory is little-endian and the core copies it with memcpy: little-endian hosts only"
#endif

#define NR_CORE_ROWS 256          /* physical rows (BLs) of a core's array */
#define NR_CORE_COLS 256          /* columns (SLs) */
#define NR_LOGICAL_ROWS 128       /* differential row pairs = logical weight rows */
#define NR_REG_LEN 256            /* entries of the H and V registers */
#define NR_NUM_CHAINS 8
#define NR_CORES_PER_CHAIN 6
#define NR_MAX_PHASES 4           /* segments of one core operation: wait + op, or 2 MVM passes */
#define NR_NO_DETAIL UINT64_MAX   /* fault detail when there is none */

/* pad the per-core configuration to an even count so the struct has no hidden padding bytes:
   snapshots are compared byte for byte */
#define NR_CFG_SLOTS (NR_CFG_COUNT + (NR_CFG_COUNT & 1))

typedef enum { NR_MODEL_IDEAL = 0, NR_MODEL_ANALOG = 1 } nr_model;

typedef enum {
    NR_OK = 0,
    NR_ERR_CONFIG = -1,     /* a configuration value is out of its range */
    NR_ERR_NOMEM = -2,
    NR_ERR_MODEL = -3,      /* the model is not implemented (analog, for now) */
    NR_ERR_SEGMENT = -4,    /* a data segment does not fit data memory */
    NR_ERR_ENTRY = -5,      /* entry point outside the program or not word-aligned */
    NR_ERR_ARG = -6,        /* an index or address argument is out of range */
    NR_ERR_SNAPSHOT = -7,   /* a snapshot of another build, memory size or configuration */
    NR_ERR_PROGRAM = -8,    /* the program does not fit code memory (NR_MAX_CODE_WORDS) */
    NR_ERR_CORRUPT = -9     /* a snapshot whose state no run could produce (an index, length or state out of range) */
} nr_error;

typedef enum {
    NR_STOP_NONE = 0,
    NR_STOP_CYCLE,          /* reached the requested cycle */
    NR_STOP_STEP,           /* issued the requested number of instructions */
    NR_STOP_HALT,
    NR_STOP_EBREAK,
    NR_STOP_BREAKPOINT,     /* a debugger breakpoint (nr_bp_set), before the instruction issues */
    NR_STOP_FAULT,
    NR_STOP_TRACE_FULL,     /* the trace buffer needs draining (nr_trace_drain), then run on */
    NR_STOP_LINK,           /* a link instruction waits for another chip (system.c resolves it);
                               a machine outside a system never stops so */
    NR_STOP_DEADLOCK,       /* nr_sys_run: the waiting chips can never be matched (each has
                               the fault NR_FAULT_DEADLOCK) */
    NR_STOP_COUNT
} nr_stop;

typedef enum {
    NR_FAULT_NONE = 0,
    NR_FAULT_ILLEGAL,       /* detail: the instruction word */
    NR_FAULT_PC_BOUNDS,     /* detail: pc of the instruction that jumped there, or NR_NO_DETAIL */
    NR_FAULT_MEM_BOUNDS,    /* detail: first byte address of the access */
    NR_FAULT_MEM_ALIGN,     /* detail: the misaligned address */
    NR_FAULT_CORE_OFF,      /* detail: core id */
    NR_FAULT_BAD_MASK,      /* detail: the mask */
    NR_FAULT_BAD_WINDOW,    /* detail: core id */
    NR_FAULT_BAD_CONFIG,    /* detail: the rejected value (vpmax: the group, 0) */
    NR_FAULT_BAD_CELL,      /* detail: the rejected row or column */
    NR_FAULT_CYCLE_LIMIT,   /* raised by the driver when a run passes its cycle limit */
    NR_FAULT_CHECK,         /* strict checker: a diagnostic (detail: the address, 0 for sync) */
    NR_FAULT_BAD_CHIP,      /* send/recv names no other chip of the system; detail: the chip id */
    NR_FAULT_DEADLOCK,      /* a link instruction can never be matched; detail: the awaited chip
                               (nchips for a barrier) */
    NR_FAULT_LINK_SIZE,     /* send and recv lengths differ; detail: the partner's length */
    NR_FAULT_COUNT
} nr_fault;

typedef enum {
    NR_PHASE_OFF = 0, NR_PHASE_IDLE, NR_PHASE_WAKING, NR_PHASE_SCAN_WAIT, NR_PHASE_SCAN_IN,
    NR_PHASE_SCAN_OUT, NR_PHASE_INTEGRATE, NR_PHASE_READOUT, NR_PHASE_PROGRAM_WAIT,
    NR_PHASE_PROGRAM, NR_PHASE_FIRE, NR_PHASE_UPDATE, NR_PHASE_COUNT
} nr_phase;

/* Every field is 64 bits wide so the struct has no padding (snapshots compare byte for byte). */
typedef struct {
    uint64_t mem_size;      /* data memory bytes */
    uint64_t seed;          /* keys the counter-based RNG of smp */
    int64_t model;          /* nr_model */
    uint64_t g_lsb_ns;      /* conductance of one weight code step, nS (3..511) */
    uint64_t g_pulse_ns;    /* conductance change of one programming pulse, nS (ideal model) */
    double clock_hz;        /* controller clock: converts cycles to chip time (relaxation age) */
    /* ---- analog model (docs/analog.md); ignored by the ideal model */
    uint64_t g_tol_ns;      /* write-verify acceptance window ±g_tol */
    uint64_t g_min_ns;      /* targets below g_min are RESET until the cell reads below g_min */
    uint64_t wv_max_vmax;   /* give up after this many pulses at the maximum voltage in one run */
    uint64_t wv_max_iters;  /* give up after this many SET/RESET polarity runs */
    double wv_v_start;      /* first pulse voltage of a SET or RESET run, V */
    double wv_v_step;       /* voltage increment per pulse, V */
    double wv_v_max;        /* maximum pulse voltage, V */
    double wv_v_th;         /* pulse voltage below which a pulse does not move G, V */
    double wv_set_gain_ns;  /* mean SET ΔG per volt above wv_v_th, nS/V */
    double wv_reset_gain_ns;/* mean RESET −ΔG per volt above wv_v_th, nS/V */
    double wv_pulse_sigma;  /* relative (multiplicative) std of one pulse's ΔG */
    double wv_read_sigma_ns;/* std of a verify read, nS */
    double relax_scale;     /* scales the relaxation σ(g, age) of the Wan-2022 fit (0 = off) */
    double relax_wv_sigma_ns; /* std of the write-verify residue, subtracted from the fit's σ */
    double read_noise;      /* MVM read noise: std per pass as a fraction of the output full scale */
    double col_gain_sigma;  /* per-column relative gain mismatch (0 = off) */
    double core_offset_sigma; /* per-core output offset mismatch, output codes (0 = off) */
    double ir_drop;         /* fractional gain loss per mS of a line's total conductance (0 = off) */
    uint64_t threads;       /* host threads for independent core operations (0 = all host cores);
                               results never depend on it */
    uint64_t wv_reference;  /* 1: the exact draws of write-verify (Box–Muller) every documented
                               figure was measured with; 0: the cheaper Irwin–Hall draws */
    uint64_t wv_serial;     /* 1: write-verify and relaxation executed as the previous release did
                               (one thread, simulated at issue and again at completion, every
                               relaxation draw made again per epoch): the same results, slower;
                               kept so that `make bench` (B5) times old against new */
    /* ---- outer-product update (opu, oprefresh; docs/analog.md, In-situ update) */
    double op_v_pulse;      /* analog: voltage of the fixed 1 µs update pulse, V */
    uint64_t op_g_max_ns;   /* analog: upper soft bound of the update response and the refresh target, nS */
#define NR_X_FIELD(name, def) uint64_t name;
    NR_PARAMS(NR_X_FIELD)   /* timing parameters, named as in isa/nr48.isa */
#undef NR_X_FIELD
} nr_config;

/* One pre-decoded instruction: decoded once at load, so the run loop never re-decodes. */
typedef struct {
    uint8_t op;             /* nr_op */
    uint8_t rd;             /* destination; x0 is remapped to the sink slot NR_XSINK */
    uint8_t rs1, rs2, rt;   /* sources (rt: store data / first branch operand) */
    uint8_t a;              /* vt, or csel */
    uint8_t b;              /* vd, dir */
    uint8_t c;              /* core id, shamt, vimm, vbits */
    int32_t imm;            /* imm16 / uimm16, or the branch/jump offset in bytes */
    uint32_t word;          /* the original word (fault detail, disassembly) */
} nr_insn;

#define NR_XSINK NR_NUM_REGS  /* writes to x0 land here, so x0 always reads 0 without a test */

typedef enum {
    NR_PEND_NONE = 0, NR_PEND_SCAN_IN_H, NR_PEND_SCAN_IN_V, NR_PEND_SCAN_OUT, NR_PEND_MVM_H,
    NR_PEND_MVM_V, NR_PEND_PROGRAM, NR_PEND_REFRESH,
    NR_PEND_UPDATE
} nr_pending;

typedef struct {
    /* 64-bit fields first, then the arrays, so that no padding appears */
    uint64_t powered;
    uint64_t busy_until;          /* first cycle at which the core is idle */
    uint64_t op_start;            /* issue cycle of the current (or last) operation */
    uint64_t busy_accum;          /* busy cycles of finished operations before op_start */
    uint64_t pend_kind;           /* nr_pending: result to apply at pend_end */
    uint64_t pend_op;             /* nr_trace_kind of the pending operation (its end record) */
    uint64_t pend_end;
    uint64_t pend_addr;           /* scan-out: memory address */
    uint64_t pend_dtype;          /* scan-out: element type */
    uint64_t pend_lo, pend_n;     /* register entries written at completion; cprog: rows */
    uint64_t pend_col0, pend_ncols;   /* cprog: columns of the window captured at issue */
    uint64_t pend_pulses;         /* cprog: pulses counted at completion */
    uint64_t n_mvm, n_smp;        /* MVMs and samples issued (the statistic) */
    uint64_t k_mvm, k_smp;        /* noise-key counters: the n of the draws of the next MVM and sample
                                     (each mvm/smp advances its counter by one; a batch by KA) */
    uint64_t key_stride, key_adv; /* bkey: KS and KA of this core's next batches (0: 1 and BN) */
    uint64_t n_prog_cells, n_prog_pulses;
    uint64_t n_phase;
    uint64_t arrays_dirty;        /* prog_codes / g / w written since the last reset */
    /* analog model */
    uint64_t n_cprog;             /* cprog operations completed (keys the programming noise) */
    uint64_t n_prog_failed;       /* cells that write-verify gave up on (analog) */
    uint64_t n_prog_outside;      /* cells whose programmed G ended outside the window (analog) */
    uint64_t pend_failed, pend_outside;
    double t_prog_s;              /* chip time (s) at which the last cprog completed */
    int64_t relax_epoch;          /* age epoch the conductances g are materialised for; -1 none */
    uint64_t has_prog;            /* some cell was programmed by an analog cprog */
    uint64_t tot_key;             /* window key of the cached line totals, 0 = invalid */
    /* energy event counters (docs/analog.md, Energy) */
    uint64_t ev_line_pulses;      /* Σ input pulses × driven lines */
    uint64_t ev_integ;            /* Σ sample+integrate operations × sensing neurons */
    uint64_t ev_compare;          /* neuron comparisons */
    uint64_t ev_decrement;        /* neuron charge add/subtract steps */
    uint64_t ev_macs;             /* multiply-accumulates of MVMs (nrows × ncols each) */
    uint64_t ev_scan_shifts;      /* scan shift clocks of this core's scans */
    uint64_t ev_wv_pulses;        /* write-verify SET/RESET pulses */
    uint64_t ev_wv_reads;         /* write-verify verify reads and single-cell reads */
    uint64_t ev_passes;           /* MVM/sample passes */
    uint64_t ev_mvm_cycles;       /* Σ durations of MVMs and samples (latency report) */
    uint64_t ev_wl_switches;      /* Σ window rows × magnitude bits × bit_phases: WL pulses */
    uint64_t ev_wl_phases;        /* Σ window rows × phases: WLs returned to idle after a phase */
    uint64_t ev_input_pulses;     /* Σ driven input lines × magnitude bits × bit_phases */
    uint64_t ev_samples;          /* Σ sensing neurons × magnitude bits × bit_phases: samples of a new input level */
    uint64_t ev_shift_adds;       /* Σ sensing neurons × phases: phase results shifted and added */
    uint64_t pend_pc;             /* code address of the instruction that issued the pending operation */
    /* integrate-and-fire mode (ifrun/ifstep/ifclr): own counters, apart from the MVM events */
    uint64_t n_if;                /* IF operations issued: keys the analog per-step read noise */
    uint64_t ev_if_pulses;        /* Σ time steps × input pulses × driven lines */
    uint64_t ev_if_integ;         /* Σ time steps × input pulses × sensing neurons */
    uint64_t ev_if_steps;         /* Σ time steps × sensing neurons (one comparison each) */
    uint64_t ev_spikes;           /* spikes fired (each one a charge subtraction) */
    uint64_t ev_if_cycles;        /* Σ durations of ifrun/ifstep (latency report) */
    /* in-situ update (opu, oprefresh): own counters */
    uint64_t n_opu;               /* opu operations issued: keys the analog pulse response */
    uint64_t n_refresh;           /* oprefresh operations issued: keys their reads and write-verify */
    uint64_t ev_op_pulses;        /* update pulses (one per selected cell and phase) */
    uint64_t ev_op_phases;        /* update phases with a selected cell (selection loads) */
    uint64_t ev_op_cycles;        /* Σ durations of opu */
    uint64_t pow_since;           /* cycle at which the core was last powered on */
    uint64_t pow_accum;           /* powered cycles before pow_since */
    uint64_t phase_at[NR_MAX_PHASES];   /* start cycle of each phase segment of the operation */
    uint64_t phase_code[NR_MAX_PHASES];
    double if_u[NR_REG_LEN];      /* IF charge of each output lane, output codes (|u| ≤ 2^40) */
    uint32_t if_cnt[NR_REG_LEN];  /* IF spike count of each output lane since ifclr / ifrun */
    int32_t cfg[NR_CFG_SLOTS];
    int16_t h[NR_REG_LEN];
    int16_t v[NR_REG_LEN];
    int16_t pend_buf[NR_REG_LEN]; /* register values or scanned-out values awaiting completion */
    /* the large arrays stay last: a reset clears them only when arrays_dirty */
    int8_t prog_codes[NR_LOGICAL_ROWS * NR_CORE_COLS];   /* cprog codes read at issue */
    uint16_t g[NR_CORE_ROWS][NR_CORE_COLS];              /* conductances, nS */
    int16_t w[NR_LOGICAL_ROWS][NR_CORE_COLS];            /* ideal weights derived from g */
    uint16_t g_prog[NR_CORE_ROWS][NR_CORE_COLS];         /* analog: G after write-verify, nS */
    uint16_t g_target[NR_CORE_ROWS][NR_CORE_COLS];       /* analog: cprog target, nS (σ(g) reads it) */
    uint64_t prog_mask[NR_CORE_ROWS][NR_CORE_COLS / 64]; /* analog: cells programmed by cprog */
    uint8_t cell_pulses[NR_CORE_ROWS][NR_CORE_COLS];     /* analog: pulses of each cell's last write-verify (saturates at 255) */
    uint16_t op_pulses[NR_CORE_ROWS][NR_CORE_COLS];      /* update pulses each cell took (opu; endurance), saturates at 65535 */
    int32_t line_tot[NR_CORE_COLS];                      /* cached Σ G of each sensed line */
} nr_core;

/* Trace records (docs/trace-format.md): appended while tracing is on, drained in bulk. */
typedef enum {
    NR_TR_INSN = 0, NR_TR_WAKE, NR_TR_SCAN_IN, NR_TR_SCAN_OUT, NR_TR_MVM, NR_TR_SMP, NR_TR_PROG,
    NR_TR_END, NR_TR_POWER_OFF, NR_TR_FAULT, NR_TR_PHASE, NR_TR_BATCH, NR_TR_BVEC, NR_TR_IFIRE,
    NR_TR_UPDATE, NR_TR_REFRESH, NR_TR_COUNT
} nr_trace_kind;

typedef struct {
    uint64_t cycle;
    uint64_t a, b;          /* kind-specific, see docs/trace-format.md */
    uint32_t pc, word;
    uint32_t stall;         /* stall cycles (instructions), queueing cycles (core events) */
    uint32_t mlen, digest;  /* bytes and FNV-1a-32 digest of the payload (0: none) */
    uint16_t kind;          /* nr_trace_kind */
    uint8_t rd;             /* register written + 1, 0 = none */
    uint8_t core;
} nr_trace_rec;

/* The buffer stops a run (NR_STOP_TRACE_FULL) while NR_TRACE_MARGIN records are still free:
   more than one instruction can emit (an MVM on 48 cores with their phases, plus 48
   completions), so no record is ever dropped. */
#define NR_TRACE_MARGIN 1024
typedef struct {
    nr_trace_rec *buf;
    uint64_t cap, n;
} nr_trace;

/* Program checker diagnostics (csrc/check.c, docs/machine.md): one record per (pc, kind). */
typedef enum {
    NR_CHK_CROSS_READ = 0,  /* a read runs past the end of the symbol it starts in */
    NR_CHK_CROSS_WRITE,     /* a write runs past the end of the symbol it starts in */
    NR_CHK_UNWRITTEN,       /* a read of a byte nothing wrote (no data segment, store or scan-out) */
    NR_CHK_SYNC_EMPTY,      /* sync on a register that holds 0: it waits for no core */
    NR_CHK_COUNT
} nr_check_kind;

typedef struct {
    uint64_t pc, cycle;
    uint64_t kind;          /* nr_check_kind */
    uint64_t addr, len;     /* the access */
    uint64_t sym;           /* index of the symbol involved (crossed, or holding `at`), or UINT64_MAX */
    uint64_t at;            /* the symbol's end (crossing) or the first unwritten byte */
} nr_check_event;

typedef struct nr_check nr_check;

typedef struct {
    uint64_t stop;          /* nr_stop */
    uint64_t fault;         /* nr_fault */
    uint64_t fault_pc;
    uint64_t fault_detail;
} nr_result;

typedef struct {
    nr_config cfg;
    /* controller */
    uint64_t pc;
    uint64_t prev_pc;       /* the last issued instruction (names the jump of a pc_bounds fault) */
    uint64_t x[NR_NUM_REGS + 1];  /* x[NR_XSINK] absorbs writes to x0 */
    uint64_t vl;
    uint64_t bn;            /* batch count BN (bcount): vectors of bmvm/bsmp, rows of vadd2 … */
    uint64_t bs_d, bs_1, bs_2;  /* byte strides SD, S1, S2 between batch rows (bstride) */
    uint64_t cycle;
    uint64_t next_issue;
    uint64_t instret;
    uint64_t stall_cycles;
    uint64_t halted;
    uint64_t bp_skip;       /* instret + 1 while the instruction at pc already stopped on its
                               breakpoint or stalled (its breakpoint must not fire again) */
    uint64_t next_event;    /* earliest pending core completion, UINT64_MAX if none */
    uint64_t stall_mark;    /* stall_cycles when the last vector/chip instruction retired: only
                               those stall, so a trace gets each one's own stall cycles */
    uint64_t chain_free[NR_NUM_CHAINS];
    uint64_t programmer_free;
    double age_s;           /* chip wall-clock time added by cage / nr_age (s) */
    /* multi-chip systems (link.c, system.c): this chip's place and its one link operation */
    uint64_t chip_id;
    uint64_t n_chips;       /* 1 outside a system */
    uint64_t link_state;    /* nr_link_state */
    uint64_t link_op;       /* NR_OP_SEND / _RECV / _BARRIER of the waiting instruction */
    uint64_t link_peer, link_addr, link_len;
    uint64_t link_post;     /* cycle the instruction first tried to issue */
    uint64_t link_end;      /* granted: cycle the transfer (or barrier) ends */
    uint64_t op_count[NR_OP_COUNT + (NR_OP_COUNT & 1)];  /* retired instructions per opcode */
    uint64_t ev_vec_elems;  /* vector element operations */
    nr_result result;
    nr_core core[NR_NUM_CORES];
    /* owned buffers: not part of the snapshot's struct image (zeroed there) */
    uint8_t *mem;
    uint32_t *words;        /* the program as loaded */
    nr_insn *code;          /* pre-decoded program */
    uint64_t *bp_bits;      /* one bit per code word */
    uint64_t code_n;        /* instruction words */
    uint64_t bp_count;
    nr_trace *trace;        /* NULL: tracing off */
    uint64_t *prof;         /* NULL: profiling off; else code_n × NR_PF_COUNT counters */
    nr_check *check;        /* NULL: program checker off */
    /* per core, the relaxation's standard normal of every cell (analog.c): a cache of a pure
       function of (seed, core, cell, g_prog), filled on first use, NULL until then */
    struct nr_relax_cache *rcache[NR_NUM_CORES];
    uint64_t host_ahead;    /* batch vectors computed ahead on the worker threads: how the host ran,
                               not chip state (zero in a snapshot image, kept across a restore) */
    double epoch_memo[NR_NUM_CORES][3];   /* per core, at the last full relaxation-epoch
                               evaluation (analog.c): the age a (s), x = 16·log10(a / 1 ms) + 1e-9
                               and dx/da; host state like host_ahead */
} nr_machine;

typedef struct {
    uint64_t addr;
    uint64_t size;
    const uint8_t *data;
} nr_segment;

/* Per-instruction profile: with profiling on (nr_profile_enable), every code word owns
   NR_PF_COUNT counters of what the instruction at that address caused.  Core events count
   where the operation was issued (a write-verify's pulses, counted at completion, go to its
   cprog); leakage (powered core-cycles) belongs to no instruction and is not here. */
typedef enum {
    NR_PF_INSNS = 0,        /* times retired */
    NR_PF_CYCLES,           /* cycles from its issue attempt to the next issue: stall + cost */
    NR_PF_STALL,            /* of which stalled on busy cores or chains */
    NR_PF_COREOPS,          /* MVMs and samples started (one per core) */
    NR_PF_MACS,
    NR_PF_MVM_CYCLES,       /* Σ core busy cycles of those MVMs */
    NR_PF_LINE_PULSES, NR_PF_INTEG, NR_PF_COMPARE, NR_PF_DECREMENT, NR_PF_WL_SWITCHES,
    NR_PF_WL_PHASES, NR_PF_INPUT_PULSES, NR_PF_SAMPLES, NR_PF_SHIFT_ADDS, NR_PF_SCAN_SHIFTS,
    NR_PF_WV_PULSES, NR_PF_WV_READS, NR_PF_VEC_ELEMS,
    NR_PF_PROG_WAIT,        /* of the stall, cycles waiting for a core that is being programmed */
    NR_PF_COUNT
} nr_prof_counter;
/* A link instruction's progress (link.c): posted when it first tries to issue, granted by the
   system scheduler with an end cycle, done when the data has been delivered at that cycle. */
typedef enum {
    NR_LINK_NONE = 0, NR_LINK_POSTED, NR_LINK_GRANTED, NR_LINK_DONE, NR_LINK_STATE_COUNT
} nr_link_state;

/* Status of one core at the machine's current cycle. */
typedef struct {
    uint64_t powered;
    uint64_t busy;
    uint64_t phase;          /* nr_phase */
    uint64_t busy_until;
    uint64_t busy_cycles;    /* cycles busy so far, including queueing on a chain or the programmer */
    uint64_t mvms;
    uint64_t samples;
    uint64_t prog_cells;
    uint64_t prog_pulses;
    uint64_t prog_failed;    /* analog: cells write-verify gave up on */
    uint64_t prog_outside;   /* analog: cells outside ±g_tol of their target after programming */
    uint64_t powered_cycles;
} nr_core_status;

/* configuration */
void nr_config_default(nr_config *cfg);
int nr_config_set_param(nr_config *cfg, const char *name, uint64_t value);
int nr_config_get_param(const nr_config *cfg, const char *name, uint64_t *value);
int nr_config_check(const nr_config *cfg);   /* NR_OK or NR_ERR_CONFIG / NR_ERR_MODEL */
int nr_param_count(void);
const char *nr_param_name(int i);
uint64_t nr_param_max(void);

/* lifetime: nr_init/nr_free on a struct you own, or nr_new/nr_delete to let the core calloc it
   (cheaper: the 26 MiB of core arrays stay untouched zero pages until used) */
int nr_init(nr_machine *m, const nr_config *cfg);
void nr_free(nr_machine *m);
nr_machine *nr_new(const nr_config *cfg, int *err);
void nr_delete(nr_machine *m);
int nr_load(nr_machine *m, const uint32_t *code, uint64_t n, const nr_segment *segs, int nsegs,
            uint64_t entry);

/* execution */
int nr_run(nr_machine *m, uint64_t until_cycle, uint64_t max_insns);

/* controller and memory */
uint64_t nr_reg(const nr_machine *m, int r);
void nr_set_reg(nr_machine *m, int r, uint64_t v);
int nr_mem_read(const nr_machine *m, uint64_t addr, void *dst, uint64_t n);
int nr_mem_write(nr_machine *m, uint64_t addr, const void *src, uint64_t n);

/* cores */
int nr_core_status_get(const nr_machine *m, int core, nr_core_status *out);
int nr_core_phase_at(const nr_machine *m, int core, uint64_t cycle);
int nr_core_set_cfg(nr_machine *m, int core, int field, int64_t value);
int nr_core_set_conductances(nr_machine *m, int core, const uint16_t *g);  /* 256×256 row-major */
int nr_core_set_power(nr_machine *m, int core, int on);                    /* no wake time */
uint64_t nr_core_busy_cycles(const nr_machine *m, int core);
/* what a run result reports, in one call: out[0 … 7] = result.stop, result.fault, result.fault_pc,
   result.fault_detail, cycle, instret, stall_cycles, pc; out[NR_SUMMARY_BUSY + c] =
   nr_core_busy_cycles of core c (NR_SUMMARY_LEN words) */
#define NR_SUMMARY_BUSY 8
#define NR_SUMMARY_LEN (NR_SUMMARY_BUSY + NR_NUM_CORES)
void nr_result_summary(const nr_machine *m, uint64_t *out);
uint64_t nr_chain_of(int core);
uint64_t nr_scan_shifts(int core, int v_side);

/* analog model */
int nr_age(nr_machine *m, double seconds);            /* let chip time pass (as cage) */
double nr_chip_time(const nr_machine *m);            /* cycle / clock_hz + age, seconds */
int nr_core_relax_sync(nr_machine *m, int core);     /* materialise g for the current age */
double nr_sigma_fit(double g_ns, double age_s);      /* σ(g, age) of the Wan-2022 fit, nS */
int nr_host_threads(void);                            /* online host CPUs (threads = 0 uses them all) */
uint64_t nr_host_ahead(const nr_machine *m);          /* batch vectors computed ahead on worker threads */

/* debugger */
int nr_bp_set(nr_machine *m, uint64_t addr);
int nr_bp_clear(nr_machine *m, uint64_t addr);
void nr_bp_clear_all(nr_machine *m);

/* tracing: records accumulate from nr_trace_enable until nr_trace_disable; a run stops with
   NR_STOP_TRACE_FULL when the buffer must be drained (then call nr_run again) */
int nr_trace_enable(nr_machine *m, uint64_t capacity);   /* capacity > NR_TRACE_MARGIN */
void nr_trace_disable(nr_machine *m);
uint64_t nr_trace_drain(nr_machine *m, nr_trace_rec *dst, uint64_t max);   /* oldest first */

/* profiling: counters per code word from nr_profile_enable until nr_profile_disable or the
   next nr_load (which turns it off); nr_profile_data gives the code_n × NR_PF_COUNT array */
int nr_profile_enable(nr_machine *m);                 /* NR_ERR_ARG without a program */
void nr_profile_disable(nr_machine *m);
const uint64_t *nr_profile_data(const nr_machine *m, uint64_t *words);
const char *nr_prof_counter_name(int k);
/* program checker: symbol extents [lo, hi) sorted and disjoint; events accumulate (first per
   pc and kind, at most `capacity`) until drained; strict turns every diagnostic into a fault.
   Enable after nr_load, then mark the image's data segments written. */
int nr_check_enable(nr_machine *m, const uint64_t *lo, const uint64_t *hi, uint64_t n_sym,
                    int strict, uint64_t capacity);
void nr_check_disable(nr_machine *m);
int nr_check_mark_written(nr_machine *m, uint64_t addr, uint64_t len);
uint64_t nr_check_drain(nr_machine *m, nr_check_event *dst, uint64_t max);
uint64_t nr_check_total(const nr_machine *m);     /* every diagnostic, repeats included */
uint64_t nr_check_dropped(const nr_machine *m);   /* first occurrences past the capacity */

/* snapshots: a flat copy of the struct, the data memory and the program */
uint64_t nr_snapshot_size(const nr_machine *m);
int nr_snapshot_save(const nr_machine *m, void *buf, uint64_t size);
int nr_snapshot_load(nr_machine *m, const void *buf, uint64_t size);

/* ---- multi-chip systems (system.c; docs/machine.md, Systems) ----
   An nr_system steps n independent machines, one per chip, in cycle order.  Chips share
   nothing but the links: each machine runs on its own until a link instruction stops it, and
   the scheduler matches requests (a send with the receive that names it, a barrier with every
   chip's barrier), grants them in the order of the cycle they matched at (then sender, then
   receiver id), and delivers the data at the end cycle.  A grant is made only once no chip
   can still post a request that matches earlier, so the schedule does not depend on how runs
   are sliced.  Chips are stepped one after the other on the calling thread; each may use its
   own worker threads for core operations, which never change results.

     nr_machine *chips[2] = {a, b};                 // loaded machines, owned by the caller
     nr_system s;
     nr_link_cfg link = {...};                       // a preset: host or c2c (docs/machine.md)
     nr_sys_init(&s, chips, 2, &link, 10000);        // 10 000 ps cycles (100 MHz)
     while (nr_sys_run(&s, UINT64_MAX, -1, 0) == NR_STOP_TRACE_FULL) drain_traces();
*/
#define NR_MAX_CHIPS 16

typedef struct {
    uint64_t packet_bytes;  /* a transfer is padded to whole packets of this many bytes */
    uint64_t packet_ps;     /* wire time of one packet, ps */
    uint64_t setup_ps;      /* fixed time of each crossing (a host transaction), ps */
    uint64_t latency_ps;    /* flight time after the last packet, ps (does not hold the link) */
    uint64_t crossings;     /* link crossings of one transfer, one after the other (host: 2) */
    uint64_t shared;        /* 1: one link carries every transfer; 0: one per ordered chip pair */
} nr_link_cfg;

typedef struct {
    uint64_t transfers;
    uint64_t bytes;         /* payload bytes */
    uint64_t wire_bytes;    /* bytes on the wire: padded to packets, times crossings */
    uint64_t busy_cycles;   /* cycles the link was occupied */
    uint64_t queue_cycles;  /* cycles matched transfers waited for the link (contention) */
    uint64_t latency_cycles;/* Σ over transfers of end − match cycle (queueing included) */
    uint64_t free_at;       /* first cycle the link is free */
} nr_link_stat;

typedef struct {
    uint64_t n_chips;
    uint64_t cycle_ps;
    nr_link_cfg link;
    uint64_t barriers;      /* barriers completed */
    uint64_t stop_chip;     /* the chip whose stop ended the last nr_sys_run */
    nr_link_stat links[NR_MAX_CHIPS * NR_MAX_CHIPS];   /* shared: links[0]; else src·n + dst */
    nr_machine *chip[NR_MAX_CHIPS];                    /* not owned; not part of the state */
} nr_system;

/* chip k's seed: chip 0 keeps `seed`, so a one-chip system is the single machine; the others
   depend on (seed, k) only, never on the number of chips */
uint64_t nr_chip_seed(uint64_t seed, uint64_t chip);
int nr_sys_init(nr_system *s, nr_machine **chips, uint64_t n, const nr_link_cfg *link,
                uint64_t cycle_ps);
/* run every chip to `until`, stopping early when all have halted, on a breakpoint, ebreak,
   fault or full trace buffer of any chip (s->stop_chip names it), on a deadlock, or — with
   step_chip ≥ 0 — when that chip's instret reaches step_target (the others are then
   brought to its cycle).  With breakpoints set or a step, chips advance together one issue
   cycle at a time, so a stop leaves every chip at the same cycle. */
int nr_sys_run(nr_system *s, uint64_t until, int64_t step_chip, uint64_t step_target);
/* cycles of one transfer of `bytes` on an idle link: the time it holds the link and its end */
uint64_t nr_sys_transfer_cycles(const nr_system *s, uint64_t bytes, uint64_t *occupancy);
/* the scheduler's own state (link counters and times) as a flat image; machines snapshot apart */
uint64_t nr_sys_state_size(void);
int nr_sys_state_save(const nr_system *s, void *buf, uint64_t size);
int nr_sys_state_load(nr_system *s, const void *buf, uint64_t size);

/* names, for messages and the Python layer */
const char *nr_stop_name(int stop);
const char *nr_fault_name(int fault);
const char *nr_phase_name(int phase);
const char *nr_op_mnemonic(int op);
const char *nr_cfg_field_name(int field);
int nr_cfg_field_range(int field, int32_t *lo, int32_t *hi, int32_t *def);
int nr_decode_word(uint32_t word);   /* nr_op of a word, NR_OP_ILLEGAL if none */

#endif /* NR48_H */
