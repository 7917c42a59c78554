/* nr_private.h — internals shared by the C core's source files (not part of the API). */
#ifndef NR_PRIVATE_H
#define NR_PRIVATE_H

#include <string.h>

#include "nr48.h"

/* outcome of an instruction handler */
#define _NR_DONE 0     /* executed; *cost holds its cycles */
#define _NR_STALL 1    /* waits for a busy core: m->next_issue moved to the retry cycle */
#define _NR_FAULTED 2  /* nothing changed; the fault is in m->result */
#define _NR_BLOCK 3    /* a link instruction waits for the system scheduler (NR_STOP_LINK) */

/* bytes per element of each dtype code (NR_DTYPE_I8, _I16, _I32, _U8) */
static const uint64_t _nr_dsize[4] = {1, 2, 4, 1};

static inline uint64_t _nr_min(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t _nr_max(uint64_t a, uint64_t b) { return a > b ? a : b; }
/* the core's operation enters phase `code` at cycle `at` (its phase list, read by the status
   and the trace) */
static inline void _nr_phase_add(nr_core *c, uint64_t at, int code)
{
    c->phase_at[c->n_phase] = at;
    c->phase_code[c->n_phase++] = code;
}

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

/* Phases of an input (the profile's rule, docs/configuration.md): m magnitude bits up to
   phase_bits run as one phase; wider inputs as two, LSBs first: phase_bits LSBs then the rest
   (phase_split 0, the test board), or floor(m/2) then ceil(m/2) (phase_split 1, the chip). */
static inline void _nr_pass_bits(const nr_config *mc, const int32_t *cfg, int bits[2])
{
    const int m = _nr_mag_bits(cfg), pb = (int)mc->phase_bits;
    if (m <= pb) { bits[0] = m; bits[1] = 0; }
    else if (mc->phase_split) { bits[0] = m / 2; bits[1] = m - m / 2; }
    else { bits[0] = pb; bits[1] = m - pb; }
}

/* SAR conversions of phase p: every output bit, or with adc_skip only the bits the first
   phase has not resolved (at least one) */
static inline uint64_t _nr_adc_bits(const nr_config *mc, const int32_t *cfg, const int bits[2], int p)
{
    const int ob = cfg[NR_CFG_OUTBITS];
    if (p == 0 || !mc->adc_skip) return (uint64_t)ob;
    return (uint64_t)(ob - bits[0] > 1 ? ob - bits[0] : 1);
}

/* adds n to profile counter k of the instruction at code address pc (profiling on) */
static inline void _nr_prof(nr_machine *m, uint64_t pc, int k, uint64_t n)
{
    if (m->prof && (pc >> 2) < m->code_n) m->prof[(pc >> 2) * NR_PF_COUNT + (uint64_t)k] += n;
}

/* vector.c: element access of the vector unit (saturating to the element type) */
static inline int64_t _nr_vget(const uint8_t *mem, uint64_t addr, int dt)
{
    switch (dt) {
    case NR_DTYPE_I8: return (int8_t)mem[addr];
    case NR_DTYPE_U8: return mem[addr];
    case NR_DTYPE_I16: { int16_t v; memcpy(&v, mem + addr, 2); return v; }
    default: { int32_t v; memcpy(&v, mem + addr, 4); return v; }
    }
}

static inline int64_t _nr_sat(int64_t v, int dt)
{
    int64_t lo, hi;
    switch (dt) {
    case NR_DTYPE_I8: lo = INT8_MIN; hi = INT8_MAX; break;
    case NR_DTYPE_U8: lo = 0; hi = UINT8_MAX; break;
    case NR_DTYPE_I16: lo = INT16_MIN; hi = INT16_MAX; break;
    default: lo = INT32_MIN; hi = INT32_MAX; break;
    }
    return v < lo ? lo : v > hi ? hi : v;
}

static inline void _nr_vput(uint8_t *mem, uint64_t addr, int dt, int64_t v)
{
    v = _nr_sat(v, dt);
    switch (dt) {
    case NR_DTYPE_I8:
    case NR_DTYPE_U8: mem[addr] = (uint8_t)v; break;
    case NR_DTYPE_I16: { int16_t s = (int16_t)v; memcpy(mem + addr, &s, 2); break; }
    default: { int32_t s = (int32_t)v; memcpy(mem + addr, &s, 4); }
    }
}

int _nr_voperand(nr_machine *m, uint64_t addr, uint64_t count, int dt);

/* batch.c: batched MVMs and samples, the batch registers and the row-strided vector ops */
int _nr_exec_batch(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost);
int _nr_exec_rows(nr_machine *m, const nr_insn *in, uint64_t *cost);
/* vector.c: the element-wise kernels the row-strided instructions share with the flat ones */
void _nr_velem(uint8_t *mem, int op, int dt, int dd, uint64_t d, uint64_t a, uint64_t b, uint64_t n);
uint64_t _nr_vargmax(const uint8_t *mem, uint64_t a, uint64_t n, int dt);
/* vkernel.c: the i16 element kernel of the vector unit and the condition under which it equals
   the sequential element loop */
int _nr_v16_ok(int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t s, uint64_t n);
void _nr_v16(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n);
int _nr_v16_rows_ok(int op, int dd, uint64_t d, uint64_t a, uint64_t b, uint64_t n, uint64_t rows, uint64_t sd,
                    uint64_t s1, uint64_t s2);
void _nr_v16_rows(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n,
                  uint64_t rows, uint64_t sd, uint64_t s1, uint64_t s2);
/* index of the first largest of n i16 elements at p (0 for n = 0) */
uint64_t _nr_argmax16(const uint8_t *p, uint64_t n);
/* bytes from rd that a row-strided op writes (its BN rows and the gaps between), or UINT64_MAX */
uint64_t _nr_rows_dest_len(const nr_machine *m, const nr_insn *in);

/* noise_simd.c: the vector code allowed by NR48_SIMD (0 portable, 1 AVX2, 2 AVX-512, 3 any) */
int _nr_simd_level(void);
/* noise_simd.c: z[q] = acc[q]·fac[q] + off + sn·N(mix64(base ^ (b0 + q))) for q < n (the read noise
   of the analog readout; N the Irwin–Hall draw), vectorised where the host allows, same doubles */
void _nr_noise_z(const double *fac, const int32_t *acc, double off, double sn, uint64_t base, uint64_t b0,
                 int n, double *z);
/* the SAR readout of one pass: d[q] = clamp(floor(z[q] + 0.5) within ±1e9, lo, hi) */
void _nr_sar_round(const double *z, int n, int64_t lo, int64_t hi, int64_t *d);
/* a one-pass readout straight from the accumulators: _nr_noise_z, then _nr_sar_round clamped on
   to the output range [olo, ohi], stored as codes */
void _nr_noise_sar_out(const double *fac, const int32_t *acc, double off, double sn, uint64_t base, uint64_t b0,
                       int n, int64_t lo, int64_t hi, int64_t olo, int64_t ohi, int16_t *out);

/* batch_kernel.c: accumulators of _NR_BK_V vectors of a batch at once from weights packed as
   int16 pairs (fwd/rec/bwd, ideal w or analog G⁺/G⁻); acc and x2 are [_NR_BK_V][n16] / [_NR_BK_V][P] */
#define _NR_BK_V 4
typedef struct {
    int16_t *w2;
    size_t cap;
    int P, n16, nin, nout, analog;
} _nr_bk;
int _nr_bk_pack(_nr_bk *k, const nr_core *c, int dir, int analog);   /* 0: out of memory */
void _nr_bk_free(_nr_bk *k);
void _nr_bk_xpairs(const _nr_bk *k, const int32_t *x, int32_t *x2);
void _nr_bk_xpairs16(const _nr_bk *k, const int16_t *x, int32_t lo, int32_t hi, int32_t *x2);
void _nr_bk_xpairs8(const _nr_bk *k, const uint8_t *x, int32_t lo, int32_t hi, int32_t *x2);
void _nr_bk_run(const _nr_bk *k, const int32_t *x2, int32_t *acc);

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
nr_trace_rec *_nr_trace_push(nr_machine *m, int kind, uint64_t cycle);

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

/* link.c: send, recv, barrier, chipid, nchips */
int _nr_exec_link(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost);

/* vector.c */
int _nr_exec_vector(nr_machine *m, const nr_insn *in, uint64_t *cost);

/* chip.c */
int _nr_exec_chip(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost);
void _nr_complete_core(nr_machine *m, int core);
void _nr_core_reset_regs(nr_core *c);
int _nr_wait(nr_machine *m, uint64_t mask, uint64_t t, uint64_t until);
int _nr_window_ok(const nr_core *c, int rec);
void _nr_set_pending(nr_machine *m, nr_core *c, uint64_t kind, uint64_t end);
int16_t _nr_load_elem(const uint8_t *p, uint64_t dt);
void _nr_store_elem(uint8_t *p, uint64_t dt, int16_t v);
void _nr_mvm_events(nr_machine *m, nr_core *c, uint64_t pc, int dir, int sample, uint64_t nout);

/* mvm.c: the ideal numerics */
/* the splitmix64 finaliser: every random draw is this of a key (inline: the analog model's
   noise calls it a few times per output) */
static inline uint64_t _nr_mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z;
}

/* The noise draw of stochastic sampling (docs/machine.md), shared by both models: uniform in
   [−R, R] for output lane `lane` of the sample keyed n_smp on `core` (its k_smp). */
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
/* the part of _nr_mvm_compute after the kernel: outputs from the accumulators acc[0 … nout) */
uint64_t _nr_mvm_finish(nr_core *c, int core_id, int dir, int sample, uint64_t seed, const int32_t *acc,
                        uint64_t *lo, uint64_t *n);
/* the same into out[0 … nout) with an explicit sample key (the batch threads of batch.c) */
uint64_t _nr_mvm_finish_to(const nr_core *c, int core_id, int dir, int sample, uint64_t seed, uint64_t key,
                           const int32_t *acc, int16_t *out);

/* the ideal unclamped pre-activation of every output lane (integrate-and-fire input) */
void _nr_mvm_preact(nr_core *c, int dir, double *y, uint64_t *lo, uint64_t *n);

/* analog.c: the analog model */
int _nr_relax_due(nr_machine *m, int id, uint64_t t);   /* the age epoch moved on */
void _nr_relax_sync(nr_machine *m, int id, uint64_t t);
uint64_t _nr_wv_window(const nr_machine *m, nr_core *c, int id, int apply, uint64_t *failed,
                       uint64_t *outside);
uint64_t _nr_mvm_analog(const nr_machine *m, nr_core *c, int id, int dir, int sample,
                        uint64_t *lo, uint64_t *n);
/* its parts, shared with the batched kernels of batch.c: the conversion fixed by the
   conductances and configuration, the pass digits of one input vector, and the noise and
   readout of one vector's accumulators acc[pass][output] */
typedef struct {
    int bwd, nin, nout, out_lo, npass, b0;   /* b0: magnitude bits of the first phase */
    double offset, sn;
    double fac[NR_REG_LEN];
} _nr_analog_ctx;
void _nr_analog_prep(const nr_machine *m, nr_core *c, int id, int dir, _nr_analog_ctx *ax);
void _nr_analog_digits(const int32_t *k, const int16_t *src, int nin, int npass, int b0, int32_t xd[2][NR_REG_LEN]);
uint64_t _nr_analog_finish(const nr_machine *m, nr_core *c, int id, const _nr_analog_ctx *ax, int sample,
                           const int32_t *const acc[2]);
/* the same into out[0 … nout) with an explicit key counter nev (the batch threads of batch.c) */
uint64_t _nr_analog_finish_to(const nr_machine *m, const nr_core *c, int id, const _nr_analog_ctx *ax, int sample,
                              uint64_t nev, const int32_t *const acc[2], int16_t *out);

/* the analog pre-activation of every output lane without read noise (integrate-and-fire
   input), and the per-pass read noise σ a time step adds (_nr_if_noise draws it) */
void _nr_mvm_preact_analog(const nr_machine *m, nr_core *c, int id, int dir, double *y,
                           double *sn, int *npass, int *b0, uint64_t *lo, uint64_t *n);
double _nr_if_noise(const nr_machine *m, int id, uint64_t n_if, uint64_t step, uint64_t lane,
                    double sn, int npass, int b0);

/* analog in-situ update: one pulse's response, a refresh read, a refresh write-verify */
double _nr_op_pulse_analog(const nr_machine *m, int id, uint64_t n, int r, int j, double g, int set);
double _nr_refresh_read(const nr_machine *m, int id, uint64_t n, int r, int j, double g);
uint64_t _nr_refresh_cell(const nr_machine *m, int id, uint64_t n, int r, int j, double g, double target,
                          double *g_out);

/* update.c: outer-product update and pair refresh */
int _nr_opu(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until);
int _nr_oprefresh(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until);
void _nr_refresh_complete(nr_machine *m, int id);

/* ifire.c: integrate-and-fire instructions */
int _nr_ifire(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until);
int _nr_ifclr(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until);

/* chip.c helpers the other chip files share */
int _nr_chip_wait(nr_machine *m, uint64_t mask, uint64_t t, uint64_t until);
int _nr_chip_check_cores(nr_machine *m, uint64_t mask, int rec);
void _nr_chip_set_pending(nr_machine *m, nr_core *c, uint64_t kind, uint64_t end);
void _nr_mvm_input_events(const nr_config *mc, nr_core *c, int dir, uint64_t *passes, uint64_t *pulses,
                          uint64_t *lines);

/* timing.c */
uint64_t _nr_scan_cycles(const nr_config *cfg, int core, int v_side);
/* schedule of one MVM/sample issued at t: fills c->phase_at/phase_code/n_phase, returns the end */
uint64_t _nr_mvm_schedule(const nr_config *cfg, nr_core *c, int sample, uint64_t steps, uint64_t t);
uint64_t _nr_prog_cycles(const nr_config *cfg, const nr_core *c, uint64_t *pulses);
/* schedule of an ifrun/ifstep of `steps` time steps issued at t: phases, returns the end */
uint64_t _nr_if_schedule(const nr_config *cfg, nr_core *c, uint64_t steps, uint64_t t);
uint64_t _nr_prog_cycles_pulses(const nr_config *cfg, const nr_core *c, uint64_t pulses);
int _nr_phase_at(const nr_core *c, uint64_t t);
void _nr_begin_op(nr_core *c, uint64_t t, uint64_t end);
uint64_t _nr_queue_program(nr_machine *m, nr_core *c, uint64_t t, uint64_t dur, uint64_t *start);

/* threads.c: fn(ctx, 0 … n−1) on up to cfg.threads host threads (items must be independent) */
typedef void (*_nr_task_fn)(void *ctx, int i);
void _nr_parallel(const nr_machine *m, int n, _nr_task_fn fn, void *ctx);
int _nr_threads_for(const nr_machine *m);   /* the threads _nr_parallel may use (caller included) */

#endif /* NR_PRIVATE_H */
