/* mvm.c — ideal-model numerics of a core: weight cache, MVM in three directions, readouts,
   stochastic sampling.  Pure integer arithmetic, exactly as docs/machine.md states it, so a
   numpy reference reproduces every output bit for bit. */
#include <string.h>   /* before the clone test: it defines __GLIBC__ */

#include "nr_private.h"

/* The weight cache is int16 and the MVM kernels accumulate in int32.  Both are exact: with
   g_lsb ≥ 3 nS every |W| ≤ round(65535/3) = 21845, inputs are at most 255 in magnitude and a
   sum has at most 256 terms, so |acc| ≤ 256·255·21845 < 2^31.  The result then widens to
   64 bits for the gain, which is what the contract's "64-bit accumulation" asks for. */

void _nr_refresh_weights(nr_core *c, int lrow0, int lrows, int col0, int ncols, uint64_t g_lsb)
{
    const int32_t q = (int32_t)g_lsb;
    for (int i = lrow0; i < lrow0 + lrows; i++) {
        const uint16_t *gp = c->g[2 * i], *gn = c->g[2 * i + 1];
        for (int j = col0; j < col0 + ncols; j++) {
            int32_t d = (int32_t)gp[j] - (int32_t)gn[j];
            int32_t a = d < 0 ? -d : d;
            int32_t r = (2 * a + q) / (2 * q);   /* nearest, ties away from zero */
            c->w[i][j] = (int16_t)(d < 0 ? -r : r);
        }
    }
}

static void _nr_clamp_inputs(const int16_t *src, int n, int32_t lo, int32_t hi, int16_t *dst)
{
    for (int i = 0; i < n; i++) {
        int32_t v = src[i];
        dst[i] = (int16_t)(v < lo ? lo : v > hi ? hi : v);
    }
}

/* The kernels are plain C that -O3 vectorises for the SSE2 baseline.  On x86-64 glibc builds
   gcc also emits an AVX2 clone of each and picks one at load time (ifunc): same source, same
   integer results, about 1.5× faster where AVX2 exists, and no -march=native needed.
   Define NR_NO_CLONES to build the SSE2 baseline only (e.g. to measure it). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
#define _NR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define _NR_CLONES
#endif

/* acc[j] = Σ_i w[row0+i][col0+j]·x[i]: rows outer, columns inner, so the inner loop is a
   straight int16×int16→int32 multiply-add over contiguous memory.  Four rows per sweep cut
   the loads and stores of the accumulator by four; groups of zero inputs are skipped. */
_NR_CLONES
static void _nr_kernel_fwd(const nr_core *c, int row0, int nrows, int col0, int ncols,
                           const int16_t *x, int32_t *acc)
{
    for (int j = 0; j < ncols; j++) acc[j] = 0;
    int i = 0;
    for (; i + 3 < nrows; i += 4) {
        const int32_t x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        if ((x0 | x1 | x2 | x3) == 0) continue;
        const int16_t *restrict w0 = &c->w[row0 + i][col0];
        const int16_t *restrict w1 = &c->w[row0 + i + 1][col0];
        const int16_t *restrict w2 = &c->w[row0 + i + 2][col0];
        const int16_t *restrict w3 = &c->w[row0 + i + 3][col0];
        for (int j = 0; j < ncols; j++)
            acc[j] += (int32_t)w0[j] * x0 + (int32_t)w1[j] * x1 + (int32_t)w2[j] * x2 + (int32_t)w3[j] * x3;
    }
    for (; i < nrows; i++) {
        const int32_t x0 = x[i];
        if (x0 == 0) continue;
        const int16_t *restrict w0 = &c->w[row0 + i][col0];
        for (int j = 0; j < ncols; j++) acc[j] += (int32_t)w0[j] * x0;
    }
}

/* acc[i] = Σ_j w[row0+i][col0+j]·x[j]: one dot product per logical row. */
_NR_CLONES
static void _nr_kernel_bwd(const nr_core *c, int row0, int nrows, int col0, int ncols,
                           const int16_t *x, int32_t *acc)
{
    for (int i = 0; i < nrows; i++) {
        const int16_t *restrict wr = &c->w[row0 + i][col0];
        int32_t s = 0;
        for (int j = 0; j < ncols; j++) s += (int32_t)wr[j] * (int32_t)x[j];
        acc[i] = s;
    }
}

/* Output codes of one MVM.  The step-counting limit ±stepmax and the output range both
   contain 0, so limiting then clamping equals one clamp to their intersection; sign outputs
   (readout 2, or a signed 1-bit output) are +1 for y ≥ 0, else −1. */
static uint64_t _nr_readout(const int32_t *cfg, const int32_t *acc, int n, int16_t *out)
{
    const int mode = cfg[NR_CFG_READOUT], gs = cfg[NR_CFG_GSHIFT];
    const int64_t gain = cfg[NR_CFG_GAIN], offset = cfg[NR_CFG_OFFSET];
    const int64_t rnd = gs ? (int64_t)1 << (gs - 1) : 0;
    const int sign = _nr_sign_readout(cfg);
    const int64_t sm = cfg[NR_CFG_STEPMAX];
    int64_t lo, hi;
    _nr_output_range(cfg, 1, &lo, &hi);
    uint64_t max_abs = 0;
    for (int k = 0; k < n; k++) {
        const int64_t y = ((gain * acc[k] + rnd) >> gs) + offset;
        if (mode == 1) {
            const uint64_t a = (uint64_t)(y < 0 ? -y : y);
            if (a > max_abs) max_abs = a;
        }
        out[k] = (int16_t)(sign ? (y >= 0 ? 1 : -1) : y < lo ? lo : y > hi ? hi : y);
    }
    return max_abs < (uint64_t)sm ? max_abs : (uint64_t)sm;
}

/* the ideal kernel on the core's input register: acc[k] for output k of the window (inputs
   clamped to the configured range); returns the output count */
static int _nr_ideal_acc(const nr_core *c, int dir, int32_t *acc)
{
    const int32_t *cfg = c->cfg;
    const int row0 = cfg[NR_CFG_ROW0], nrows = cfg[NR_CFG_NROWS];
    const int col0 = cfg[NR_CFG_COL0], ncols = cfg[NR_CFG_NCOLS];
    int16_t x[NR_REG_LEN];
    int32_t ilo, ihi;
    _nr_input_range(cfg, &ilo, &ihi);
    if (dir == NR_DIR_BWD) {
        _nr_clamp_inputs(&c->v[col0], ncols, ilo, ihi, x);
        _nr_kernel_bwd(c, row0, nrows, col0, ncols, x, acc);
        return nrows;
    }
    _nr_clamp_inputs(&c->h[row0], nrows, ilo, ihi, x);
    _nr_kernel_fwd(c, row0, nrows, col0, ncols, x, acc);
    return ncols;
}

uint64_t _nr_mvm_compute(nr_core *c, int core_id, int dir, int sample, uint64_t seed,
                         uint64_t *lo, uint64_t *n)
{
    int32_t acc[NR_REG_LEN];
    _nr_ideal_acc(c, dir, acc);
    return _nr_mvm_finish(c, core_id, dir, sample, seed, acc, lo, n);
}

/* The outputs of an MVM or sample from its accumulators (acc[k] for output k of the window):
   the part after the kernel, shared with the batched kernels of batch.c. */
uint64_t _nr_mvm_finish(nr_core *c, int core_id, int dir, int sample, uint64_t seed, const int32_t *acc,
                        uint64_t *lo, uint64_t *n)
{
    const int bwd = dir == NR_DIR_BWD;
    *lo = (uint64_t)(bwd ? c->cfg[NR_CFG_ROW0] : c->cfg[NR_CFG_COL0]);   /* rec writes H[col0 …] */
    *n = (uint64_t)(bwd ? c->cfg[NR_CFG_NROWS] : c->cfg[NR_CFG_NCOLS]);
    return _nr_mvm_finish_to(c, core_id, dir, sample, seed, c->k_smp, acc, &c->pend_buf[*lo]);
}

uint64_t _nr_mvm_finish_to(const nr_core *c, int core_id, int dir, int sample, uint64_t seed, uint64_t key,
                           const int32_t *acc, int16_t *out)
{
    const int32_t *cfg = c->cfg;
    const int bwd = dir == NR_DIR_BWD;
    const int nout = bwd ? cfg[NR_CFG_NROWS] : cfg[NR_CFG_NCOLS];
    const int out_lo = bwd ? cfg[NR_CFG_ROW0] : cfg[NR_CFG_COL0];
    const int64_t gain = cfg[NR_CFG_GAIN], offset = cfg[NR_CFG_OFFSET];
    const int gs = cfg[NR_CFG_GSHIFT];
    if (sample) {
        /* z + u > 0 with z = gain·acc + offset·2^gshift and u uniform in [−R, R]: the noise is
           scaled by 2^gshift instead of dividing z, so no rounding enters the comparison */
        const int64_t R = (int64_t)cfg[NR_CFG_NOISE] << gs;
        for (int k = 0; k < nout; k++) {
            int64_t z = gain * (int64_t)acc[k] + offset * ((int64_t)1 << gs);
            int64_t u = _nr_sample_noise(seed, core_id, key, (uint64_t)(out_lo + k), R);
            out[k] = (int16_t)(z + u > 0);
        }
        return 0;
    }
    return _nr_readout(cfg, acc, nout, out);
}

/* Integrate-and-fire input (ideal model): the unclamped pre-activation of every output lane,
   y = ((gain·acc + 2^(gshift−1)) >> gshift) + offset, as the charge one time step adds.  The
   values are integers (|y| < 2^47), so doubles hold them exactly. */
void _nr_mvm_preact(nr_core *c, int dir, double *y, uint64_t *lo, uint64_t *n)
{
    const int32_t *cfg = c->cfg;
    int32_t acc[NR_REG_LEN];
    const int nout = _nr_ideal_acc(c, dir, acc);
    *lo = (uint64_t)(dir == NR_DIR_BWD ? cfg[NR_CFG_ROW0] : cfg[NR_CFG_COL0]);
    *n = (uint64_t)nout;
    const int gs = cfg[NR_CFG_GSHIFT];
    const int64_t gain = cfg[NR_CFG_GAIN], offset = cfg[NR_CFG_OFFSET];
    const int64_t rnd = gs ? (int64_t)1 << (gs - 1) : 0;
    for (int k = 0; k < nout; k++) y[k] = (double)(((gain * acc[k] + rnd) >> gs) + offset);
}
