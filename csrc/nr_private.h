/* nr_private.h — internals shared by the C core's source files (not part of the API). */
#ifndef NR_PRIVATE_H
#define NR_PRIVATE_H

#include "nr48.h"

/* outcome of an instruction handler */
#define _NR_DONE 0     /* executed; *cost holds its cycles */
#define _NR_STALL 1    /* waits for a busy core: m->next_issue moved to the retry cycle */
#define _NR_FAULTED 2  /* nothing changed; the fault is in m->result */

/* bytes per element of each dtype code (NR_DTYPE_I8, _I16, _I32, _U8) */
static const uint64_t _nr_dsize[4] = {1, 2, 4, 1};

static inline uint64_t _nr_min(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t _nr_max(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* true when [addr, addr+len) lies inside data memory; written so that no sum can wrap */
static inline int _nr_in_mem(const nr_machine *m, uint64_t addr, uint64_t len)
{
    return len == 0 || (addr < m->cfg.mem_size && len <= m->cfg.mem_size - addr);
}

int _nr_fault(nr_machine *m, int code, uint64_t detail);

/* Input encoding of a core (docs/machine.md): m magnitude bits (signed codes give one to the
   sign, but keep at least one: signed 1-bit inputs are ternary), codes clamped to ±(2^m − 1)
   or 0 … 2^m − 1, and passes of at most 4 magnitude bits (LSBs first). */
static inline int _nr_mag_bits(const int32_t *cfg)
{
    int m = cfg[NR_CFG_INBITS] - cfg[NR_CFG_INSIGNED];
    return m < 1 ? 1 : m;
}

static inline void _nr_input_range(const int32_t *cfg, int32_t *lo, int32_t *hi)
{
    *hi = (1 << _nr_mag_bits(cfg)) - 1;
    *lo = cfg[NR_CFG_INSIGNED] ? -*hi : 0;
}

/* Output encoding: the sign readout (readout 2, or a signed 1-bit output) gives ±1; otherwise
   codes are clamped to ±(2^(outbits−1) − 1) or 0 … 2^outbits − 1, and step counting
   (readout 1) also to ±stepmax when `with_steps`. */
static inline int _nr_sign_readout(const int32_t *cfg)
{
    return cfg[NR_CFG_READOUT] == 2 || (cfg[NR_CFG_OUTSIGNED] && cfg[NR_CFG_OUTBITS] == 1);
}

static inline void _nr_output_range(const int32_t *cfg, int with_steps, int64_t *lo, int64_t *hi)
{
    const int ob = cfg[NR_CFG_OUTBITS];
    *hi = cfg[NR_CFG_OUTSIGNED] ? ((int64_t)1 << (ob - 1)) - 1 : ((int64_t)1 << ob) - 1;
    *lo = cfg[NR_CFG_OUTSIGNED] ? -*hi : 0;
    if (with_steps && cfg[NR_CFG_READOUT] == 1) {
        const int64_t sm = cfg[NR_CFG_STEPMAX];
        if (*hi > sm) *hi = sm;
        if (*lo < -sm) *lo = -sm;
    }
}

static inline void _nr_pass_bits(const int32_t *cfg, int bits[2])
{
    const int m = _nr_mag_bits(cfg);
    bits[0] = m > 4 ? 4 : m;
    bits[1] = m > 4 ? m - 4 : 0;
}

/* decode.c */
void _nr_predecode(uint32_t w, nr_insn *in);
/* the instruction writes register rd: the generated table (writes=rd in isa/nr48.isa) */
static inline int _nr_writes_rd(int op) { return NR_WRITES_RD(op); }

/* the element type of a vector memory operand whose dtype comes from field `f` (nr_mem_dtype):
   the decoder keeps vt in in->a and vd in in->b */
static inline int _nr_mem_dtype(const nr_insn *in, int f) { return f == NR_MEM_DT_VD ? in->b : in->a; }

/* trace.c: records while m->trace is set (the start hook also notes the pending op's kind) */
int _nr_trace_full(const nr_machine *m);
uint32_t _nr_fnv1a(const void *data, uint64_t n);
void _nr_trace_insn(nr_machine *m, const nr_insn *in, uint64_t pc, uint64_t t, uint64_t mark,
                    uint64_t stall);
void _nr_trace_start(nr_machine *m, int id, int kind, uint64_t t, uint64_t end, uint64_t b,
                     uint64_t queued, const void *payload, uint64_t len);
void _nr_trace_end(nr_machine *m, int id, uint64_t addr, uint64_t len);
void _nr_trace_power_off(nr_machine *m, int id, uint64_t t);
void _nr_trace_fault(nr_machine *m, uint64_t t);

/* check.c: the program checker, reached only while m->check is set */
struct nr_check {
    uint64_t *sym_lo, *sym_hi, n_sym;
    uint8_t *written;       /* one bit per data byte */
    uint8_t *seen;          /* per code word: bit k set once kind k was recorded there */
    uint64_t code_n;
    nr_check_event *ev;
    uint64_t n, cap, total, dropped;
    int strict;
};
void _nr_chk_written(nr_check *k, uint64_t addr, uint64_t len);
/* one access: crossing (reads and writes) and unwritten bytes (reads); 1 = strict: fault it */
int _nr_chk_access(nr_machine *m, uint64_t pc, uint64_t t, int write, uint64_t addr, uint64_t len);
int _nr_chk_event(nr_machine *m, uint64_t pc, uint64_t t, int kind, uint64_t addr, uint64_t len,
                  uint64_t sym, uint64_t at);
/* run.c */
void _nr_complete_through(nr_machine *m, uint64_t t);
void _nr_update_next_event(nr_machine *m);

/* vector.c */
int _nr_exec_vector(nr_machine *m, const nr_insn *in, uint64_t *cost);

/* chip.c */
int _nr_exec_chip(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost);
void _nr_complete_core(nr_machine *m, int core);
void _nr_core_reset_regs(nr_core *c);

/* mvm.c: the ideal numerics */
uint64_t _nr_mix64(uint64_t z);

/* The noise draw of stochastic sampling (docs/machine.md), shared by both models: uniform in
   [−R, R] for output lane `lane` of the n_smp-th sample on `core`. */
static inline int64_t _nr_sample_noise(uint64_t seed, int core, uint64_t n_smp, uint64_t lane, int64_t R)
{
    const uint64_t key = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)core + 1) * 0xBF58476D1CE4E5B9ull
                       ^ (n_smp + 1) * 0x94D049BB133111EBull ^ lane;
    return (int64_t)(_nr_mix64(key) % (2 * (uint64_t)R + 1)) - R;
}
void _nr_refresh_weights(nr_core *c, int lrow0, int lrows, int col0, int ncols, uint64_t g_lsb);
/* Computes the outputs of an MVM (sample = 0) or a stochastic sample (sample = 1) into
   c->pend_buf[lo … lo+n) and returns the step count of a step-counting readout. */
uint64_t _nr_mvm_compute(nr_core *c, int core_id, int dir, int sample, uint64_t seed,
                         uint64_t *lo, uint64_t *n);

/* analog.c: the analog model */
int _nr_relax_due(const nr_machine *m, int id, uint64_t t);   /* the age epoch moved on */
void _nr_relax_sync(nr_machine *m, int id, uint64_t t);
uint64_t _nr_wv_window(const nr_machine *m, nr_core *c, int id, int apply, uint64_t *failed,
                       uint64_t *outside);
uint64_t _nr_mvm_analog(const nr_machine *m, nr_core *c, int id, int dir, int sample,
                        uint64_t *lo, uint64_t *n);

/* timing.c */
uint64_t _nr_scan_cycles(const nr_config *cfg, int core, int v_side);
/* schedule of one MVM/sample issued at t: fills c->phase_at/phase_code/n_phase, returns the end */
uint64_t _nr_mvm_schedule(const nr_config *cfg, nr_core *c, int sample, uint64_t steps, uint64_t t);
uint64_t _nr_prog_cycles(const nr_config *cfg, const nr_core *c, uint64_t *pulses);
uint64_t _nr_prog_cycles_pulses(const nr_config *cfg, const nr_core *c, uint64_t pulses);
int _nr_phase_at(const nr_core *c, uint64_t t);
void _nr_begin_op(nr_core *c, uint64_t t, uint64_t end);

/* threads.c: fn(ctx, 0 … n−1) on up to cfg.threads host threads (items must be independent) */
typedef void (*_nr_task_fn)(void *ctx, int i);
void _nr_parallel(const nr_machine *m, int n, _nr_task_fn fn, void *ctx);

#endif /* NR_PRIVATE_H */
