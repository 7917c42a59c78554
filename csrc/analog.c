/* analog.c — the analog model (docs/analog.md): write-verify programming with a stochastic
   per-pulse response, relaxation with the Wan-2022 σ(g, age) fit, voltage-mode sensing, the
   neuron's per-pass digitisation and read noise.

   Every random number is a pure function of a key (seed, core, event counter, cell or lane,
   stream tag) through the splitmix finaliser _nr_mix64, so results never depend on the order
   in which anything is evaluated.  Doubles are used where the physics is continuous, always in
   a fixed order of operations and without -ffast-math, so runs are bit-reproducible. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

#define _NR_WV_PULSE_CAP 100000   /* pulses on one cell in one cprog */

enum { _NR_TAG_WV = 1, _NR_TAG_RELAX = 2, _NR_TAG_READ = 3, _NR_TAG_SMP = 4, _NR_TAG_COLGAIN = 5,
       _NR_TAG_COREOFS = 6, _NR_TAG_IF = 7, _NR_TAG_OPU = 8,
       _NR_TAG_REFRESH = 9, _NR_TAG_REFRESH_READ = 10 };

/* the part of a key that does not depend on b: _nr_akey = mix64(_nr_akey_base ^ b) */
static inline uint64_t _nr_akey_base(uint64_t seed, int core, uint64_t a, uint64_t tag)
{
    uint64_t k = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)core + 1) * 0xBF58476D1CE4E5B9ull
               ^ (a + 1) * 0x94D049BB133111EBull ^ tag << 56;
    return _nr_mix64(k);
}

static inline uint64_t _nr_akey(uint64_t seed, int core, uint64_t a, uint64_t b, uint64_t tag)
{
    return _nr_mix64(_nr_akey_base(seed, core, a, tag) ^ b);
}

/* uniform in (0, 1] */
static inline double _nr_u01(uint64_t x) { return ((double)(x >> 11) + 1.0) * 0x1.0p-53; }

/* standard normal by Box–Muller from one key (two derived streams) */
static double _nr_gauss(uint64_t key)
{
    double u1 = _nr_u01(_nr_mix64(key ^ 0x5851F42D4C957F2Dull));
    double u2 = _nr_u01(_nr_mix64(key ^ 0x14057B7EF767814Full));
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* cheap approximately normal draw for the MVM hot path: Irwin–Hall sum of four 16-bit
   uniforms of one mix64, exact mean 0 and variance 1, tails cut at ±3.46 */
static inline double _nr_gauss_fast(uint64_t key)
{
    uint64_t z = _nr_mix64(key);
    double s = (double)(z & 0xFFFF) + (double)(z >> 16 & 0xFFFF) + (double)(z >> 32 & 0xFFFF)
             + (double)(z >> 48);
    return (s - 2.0 * 65535.0) * (1.0 / 37837.22);   /* 65536·sqrt(1/3) */
}

/* ---------------------------------------------------------------- σ(g, age): Wan 2022 */

/* aihwkit ReRamWan2022NoiseModel coefficients (shared/reference/noise-fits.md): σ in µS of a
   4th-order polynomial in u = g / 40 µS; 1 s and 1 day after programming */
static const double _nr_fit_1s[5] = {0.348, 16.030, -43.853, 45.393, -16.815};
static const double _nr_fit_1d[5] = {0.701, 22.086, -50.773, 47.095, -16.458};
#define _NR_FIT_GMAX_NS 40000.0
#define _NR_DAY_S 86400.0

static double _nr_poly(const double *c, double u)
{
    return (((c[4] * u + c[3]) * u + c[2]) * u + c[1]) * u + c[0];
}

/* the fit's total σ (nS) of a cell programmed to g, `age` seconds after programming: the 1-s
   fit up to 1 s, log-time interpolation to the 1-day fit, constant after a day */
double nr_sigma_fit(double g_ns, double age_s)
{
    double u = g_ns / _NR_FIT_GMAX_NS;
    if (u < 0) u = 0;
    if (u > 1) u = 1;
    double s1 = _nr_poly(_nr_fit_1s, u), sd = _nr_poly(_nr_fit_1d, u);
    double f = age_s <= 1.0 ? 0.0 : age_s >= _NR_DAY_S ? 1.0 : log10(age_s) / log10(_NR_DAY_S);
    return 1000.0 * (s1 + (sd - s1) * f);
}

/* σ of the relaxation term added to the write-verify result: the fit's total minus the
   residue write-verify already left (in quadrature); ramps linearly from 0 over the first
   second (the fit starts at 1 s) */
static double _nr_sigma_relax(const nr_config *cfg, double g_ns, double age_s)
{
    double a = age_s < 1.0 ? 1.0 : age_s;
    double s = cfg->relax_scale * nr_sigma_fit(g_ns, a);
    double v = s * s - cfg->relax_wv_sigma_ns * cfg->relax_wv_sigma_ns;
    double r = v > 0 ? sqrt(v) : 0.0;
    return age_s < 1.0 ? r * (age_s > 0 ? age_s : 0.0) : r;
}

/* Age epochs: relaxation is materialised at quantised ages so that the conductances are a
   function of (seed, core, cell, epoch) only.  Epoch 1: under 1 ms; then 16 per decade. */
#define _NR_EPOCHS_PER_DECADE 16
/* The epoch of a core at age `age` (s since its programming): 2 + floor(x), x = 16·log10(age /
   1 ms) + 1e-9.  The machine keeps, per core, its last full evaluation (age a, x: host state in
   epoch_memo, outside the chip's).  An age a' ≥ a has x' ≤ x + 16·(a' − a)/(a·ln 10), so while
   that bound stays 1e-6 below the next integer (and x is 1e-6 above its own), the epoch is the
   remembered one; the margin is far above the rounding of log10.  (A batch asks once per
   vector; the log10 was 3 % of its time.) */
static int64_t _nr_core_epoch(nr_machine *m, int id, double age)
{
    double *memo = m->epoch_memo[id];
    if (memo[0] >= 1e-3 && age >= memo[0]) {
        const double fl = floor(memo[1]);
        if (memo[1] - fl >= 1e-6 && memo[1] + (age - memo[0]) * memo[2] + 1e-6 < fl + 1) return 2 + (int64_t)fl;
    }
    if (!(age >= 1e-3)) return 1;
    memo[0] = age;
    memo[1] = _NR_EPOCHS_PER_DECADE * log10(age / 1e-3) + 1e-9;
    memo[2] = _NR_EPOCHS_PER_DECADE / (age * 2.302585092994046);   /* the slope 16/(a·ln 10) */
    return 2 + (int64_t)floor(memo[1]);
}

static double _nr_epoch_age(int64_t e)
{
    return e <= 1 ? 0.0 : 1e-3 * pow(10.0, (double)(e - 2) / _NR_EPOCHS_PER_DECADE);
}

double nr_chip_time(const nr_machine *m) { return (double)m->cycle / m->cfg.clock_hz + m->age_s; }

static double _nr_time_at(const nr_machine *m, uint64_t t) { return (double)t / m->cfg.clock_hz + m->age_s; }

/* Materialises g = clamp(round(g_prog + σ_relax(g_target, age)·z)) for every cell programmed by
   cprog, z a fixed standard normal per (seed, core, cell, g_prog).  Nothing to do while a
   cprog is in flight (its cells get their new g_prog when it completes) or when the epoch of
   the age at cycle t is the one already materialised. */
int _nr_relax_due(nr_machine *m, int id, uint64_t t)
{
    const nr_core *c = &m->core[id];
    if (m->cfg.model != NR_MODEL_ANALOG || !c->has_prog || c->pend_kind == NR_PEND_PROGRAM ||
        c->pend_kind == NR_PEND_REFRESH)
        return 0;
    return _nr_core_epoch(m, id, _nr_time_at(m, t) - c->t_prog_s) != c->relax_epoch;
}

/* Each cell's relaxation draw z is kept (except with wv_serial): a chip run re-materialises a
   programmed core at every epoch its age crosses (16 per decade), and z is the same each time
   while the cell's g_prog is, so only σ·z and the rounding are redone.  An entry is valid for the g_prog
   it was drawn for (tag) and the machine's seed; a pure function of its key, it survives
   snapshots and restores and is never part of the state. */
struct nr_relax_cache {
    uint64_t seed;
    uint64_t valid[NR_CORE_ROWS][NR_CORE_COLS / 64];
    uint16_t tag[NR_CORE_ROWS][NR_CORE_COLS];
    double z[NR_CORE_ROWS][NR_CORE_COLS];
};

/* one physical row of a relaxation update: an independent item of _nr_parallel.  cprog
   targets are multiples of g_lsb, so σ comes from a table of the 129 code magnitudes (the same
   function, evaluated once per code instead of once per cell). */
typedef struct {
    const nr_machine *m;
    nr_core *c;
    struct nr_relax_cache *rc;   /* NULL: draw every z (wv_serial, or no memory) */
    int id;
    double age;
    double sig[NR_LOGICAL_ROWS + 1];
} _nr_relax_job;

static void _nr_relax_row(void *ctx, int r)
{
    _nr_relax_job *jb = ctx;
    nr_core *c = jb->c;
    struct nr_relax_cache *rc = jb->rc;
    const uint64_t seed = jb->m->cfg.seed, lsb = jb->m->cfg.g_lsb_ns;
    for (int w = 0; w < NR_CORE_COLS / 64; w++) {
        uint64_t bits = c->prog_mask[r][w];
        while (bits) {
            int j = w * 64 + __builtin_ctzll(bits);
            bits &= bits - 1;
            const uint16_t gt = c->g_target[r][j], gq = c->g_prog[r][j];
            double s = !jb->m->cfg.wv_serial && gt % lsb == 0 && gt / lsb <= NR_LOGICAL_ROWS
                     ? jb->sig[gt / lsb] : _nr_sigma_relax(&jb->m->cfg, gt, jb->age);
            double g = gq;
            if (s > 0) {
                double z;
                if (rc && (rc->valid[r][w] >> (j & 63) & 1) && rc->tag[r][j] == gq) {
                    z = rc->z[r][j];
                } else {
                    z = _nr_gauss(_nr_akey(seed, jb->id, (uint64_t)r << 8 | (uint64_t)j, gq, _NR_TAG_RELAX));
                    if (rc) {
                        rc->z[r][j] = z;
                        rc->tag[r][j] = gq;
                        rc->valid[r][w] |= 1ull << (j & 63);
                    }
                }
                g += s * z;
            }
            g = floor(g + 0.5);
            c->g[r][j] = (uint16_t)(g < 0 ? 0 : g > 65535 ? 65535 : g);
        }
    }
}

/* the core's draw cache, allocated on first use (NULL if there is no memory for it: the rows
   then draw every z, slower and the same) */
static struct nr_relax_cache *_nr_relax_cache(nr_machine *m, int id)
{
    struct nr_relax_cache *rc = m->rcache[id];
    if (!rc) {
        rc = m->rcache[id] = malloc(sizeof *rc);
        if (!rc) return NULL;
        rc->seed = m->cfg.seed;
        memset(rc->valid, 0, sizeof rc->valid);
    }
    if (rc->seed != m->cfg.seed) {
        rc->seed = m->cfg.seed;
        memset(rc->valid, 0, sizeof rc->valid);
    }
    return rc;
}

void _nr_relax_sync(nr_machine *m, int id, uint64_t t)
{
    nr_core *c = &m->core[id];
    if (!_nr_relax_due(m, id, t)) return;
    int64_t e = _nr_core_epoch(m, id, _nr_time_at(m, t) - c->t_prog_s);
    _nr_relax_job jb;
    jb.m = m;
    jb.c = c;
    jb.id = id;
    jb.age = _nr_epoch_age(e);
    for (int k = 0; k <= NR_LOGICAL_ROWS; k++)
        jb.sig[k] = _nr_sigma_relax(&m->cfg, (double)((uint64_t)k * m->cfg.g_lsb_ns), jb.age);
    /* wv_serial = 1 keeps the previous release's serial, per-cell σ loop and draws every z
       again at every epoch, so that `make bench` can time old against new in one run; the
       results are the same */
    jb.rc = m->cfg.wv_serial ? NULL : _nr_relax_cache(m, id);
    if (m->cfg.wv_serial)
        for (int r = 0; r < NR_CORE_ROWS; r++) _nr_relax_row(&jb, r);
    else
        _nr_parallel(m, NR_CORE_ROWS, _nr_relax_row, &jb);
    c->relax_epoch = e;
    c->tot_key = 0;
    _nr_refresh_weights(c, 0, NR_LOGICAL_ROWS, 0, NR_CORE_COLS, m->cfg.g_lsb_ns);
}

int nr_core_relax_sync(nr_machine *m, int core)
{
    if (core < 0 || core >= NR_NUM_CORES) return NR_ERR_ARG;
    _nr_relax_sync(m, core, m->cycle);
    return NR_OK;
}

int nr_age(nr_machine *m, double seconds)
{
    if (!(seconds >= 0) || !isfinite(seconds)) return NR_ERR_ARG;
    m->age_s += seconds;
    for (int c = 0; c < NR_NUM_CORES; c++) _nr_relax_sync(m, c, m->cycle);
    return NR_OK;
}

/* ---------------------------------------------------------------- write-verify */

/* One cell, following the test software's program_increment loop: verify read (with read
   noise); inside the window → one confirming re-read, accept if it also lands inside; below
   → SET run, above → RESET run.  A run starts at wv_v_start and adds wv_v_step per pulse up to
   wv_v_max, then repeats at the maximum; a change of polarity starts a new run.  A pulse moves
   G by gain·(V − v_th)·max(0, 1 + σ_p·n).  The cell is given up after wv_max_vmax pulses at the
   maximum in one run or wv_max_iters runs.  Returns the pulse count.
   Draw d of a cell is a standard normal keyed by (cell key, d): wv_reference = 1 (the default)
   takes the exact Box–Muller draw; 0 the cheap Irwin–Hall draw of the MVM path (a few ns
   instead of Box–Muller's log, sqrt and cos; the read and pulse noise it feeds are far inside
   its ±3.46σ range, so the per-cell statistics stay those of the exact draws, which
   tests/test_threads.py compares). */
static inline double _nr_wv_draw(uint64_t key, uint64_t d, int exact)
{
    return exact ? _nr_gauss(_nr_mix64(key ^ d)) : _nr_gauss_fast(key ^ d);
}

static uint64_t _nr_wv_cell(const nr_config *cfg, uint64_t key, double g, double target,
                            double *g_out, int *failed)
{
    const double tol = (double)cfg->g_tol_ns, gmin = (double)cfg->g_min_ns;
    const double lo = target < gmin ? -1e300 : target - tol;
    const double hi = target < gmin ? gmin : target + tol;
    const double sr = cfg->wv_read_sigma_ns;
    const int exact = cfg->wv_reference != 0;
    uint64_t draw = 0, pulses = 0, runs = 0, at_max = 0;
    int dir = 0;
    double v = cfg->wv_v_start;
    *failed = 0;
    for (;;) {
        double r = g + sr * _nr_wv_draw(key, draw++, exact);
        if (r >= lo && r <= hi) {
            double r2 = g + sr * _nr_wv_draw(key, draw++, exact);
            if (r2 >= lo && r2 <= hi) break;
            r = r2;
        }
        int want = r < lo ? 1 : -1;
        if (want != dir) {
            dir = want;
            if (++runs > cfg->wv_max_iters) { *failed = 1; break; }
            v = cfg->wv_v_start;
            at_max = 0;
        } else {
            v += cfg->wv_v_step;
            if (v > cfg->wv_v_max) v = cfg->wv_v_max;
        }
        if (v >= cfg->wv_v_max - 1e-9 && ++at_max > cfg->wv_max_vmax) { *failed = 1; break; }
        double dv = v - cfg->wv_v_th;
        double k = 1.0 + cfg->wv_pulse_sigma * _nr_wv_draw(key, draw++, exact);
        double dg = (dir > 0 ? cfg->wv_set_gain_ns : cfg->wv_reset_gain_ns) * (dv > 0 ? dv : 0) * (k > 0 ? k : 0);
        g += dir * dg;
        if (g < 0) g = 0;
        if (g > 65535) g = 65535;
        /* a backstop behind the documented limits: no configuration can make a cell loop forever */
        if (++pulses >= _NR_WV_PULSE_CAP) { *failed = 1; break; }
    }
    *g_out = g;
    return pulses;
}

/* one logical row of a write-verify window (both cells of each pair): an independent item of
   _nr_parallel, summed in row order by _nr_wv_window */
typedef struct {
    const nr_machine *m;
    nr_core *c;
    int id, apply;
    uint64_t pulses[NR_LOGICAL_ROWS], failed[NR_LOGICAL_ROWS], outside[NR_LOGICAL_ROWS];
} _nr_wv_job;

static void _nr_wv_row(void *ctx, int i)
{
    _nr_wv_job *jb = ctx;
    const nr_config *cfg = &jb->m->cfg;
    nr_core *c = jb->c;
    const int32_t *k = c->cfg;
    const int row0 = k[NR_CFG_ROW0], col0 = k[NR_CFG_COL0], ncols = k[NR_CFG_NCOLS];
    const double lsb = (double)cfg->g_lsb_ns, tol = (double)cfg->g_tol_ns, gmin = (double)cfg->g_min_ns;
    uint64_t pulses = 0, failed = 0, outside = 0;
    for (int s = 0; s < 2; s++) {
        const int r = 2 * (row0 + i) + s;
        for (int j = 0; j < ncols; j++) {
            const int w = c->prog_codes[i * ncols + j];
            const double target = s == 0 ? (w > 0 ? w * lsb : 0) : (w < 0 ? -w * lsb : 0);
            const uint64_t key = _nr_akey(cfg->seed, jb->id, c->n_cprog, (uint64_t)r << 8 | (uint64_t)(col0 + j),
                                          _NR_TAG_WV);
            double g;
            int f;
            const uint64_t np = _nr_wv_cell(cfg, key, c->g[r][col0 + j], target, &g, &f);
            pulses += np;
            failed += (uint64_t)f;
            g = floor(g + 0.5);
            const int out = target < gmin ? g > gmin : fabs(g - target) > tol;
            outside += (uint64_t)out;
            if (jb->apply) {
                c->g_prog[r][col0 + j] = (uint16_t)g;
                c->g_target[r][col0 + j] = (uint16_t)target;
                c->cell_pulses[r][col0 + j] = (uint8_t)(np > 255 ? 255 : np);
                c->prog_mask[r][(col0 + j) >> 6] |= 1ull << ((col0 + j) & 63);
            }
        }
    }
    jb->pulses[i] = pulses;
    jb->failed[i] = failed;
    jb->outside[i] = outside;
}

/* Write-verify of the whole cprog window (codes in c->prog_codes), starting from the current
   conductances, rows spread over the worker threads (wv_serial: on one).  With
   `apply`, the results go to g_prog and the programmed-cell mask (the caller makes them
   visible at completion).  Returns the pulse count. */
uint64_t _nr_wv_window(const nr_machine *m, nr_core *c, int id, int apply, uint64_t *failed_out,
                       uint64_t *outside_out)
{
    _nr_wv_job jb;
    jb.m = m;
    jb.c = c;
    jb.id = id;
    jb.apply = apply;
    const int nrows = c->cfg[NR_CFG_NROWS];
    if (m->cfg.wv_serial)
        for (int i = 0; i < nrows; i++) _nr_wv_row(&jb, i);
    else
        _nr_parallel(m, nrows, _nr_wv_row, &jb);
    uint64_t pulses = 0, failed = 0, outside = 0;
    for (int i = 0; i < nrows; i++) {
        pulses += jb.pulses[i];
        failed += jb.failed[i];
        outside += jb.outside[i];
    }
    if (failed_out) *failed_out = failed;
    if (outside_out) *outside_out = outside;
    return pulses;
}

/* ---------------------------------------------------------------- sensing and readout */

/* Σ G of every sensed line over the window: columns (fwd, rec) sum both rows of each pair,
   logical rows (bwd) sum the pair across the columns.  Cached until g or the window changes. */
static void _nr_line_totals(nr_core *c, int bwd)
{
    const int32_t *k = c->cfg;
    const int row0 = k[NR_CFG_ROW0], nrows = k[NR_CFG_NROWS], col0 = k[NR_CFG_COL0], ncols = k[NR_CFG_NCOLS];
    const uint64_t key = 1 + (uint64_t)bwd + 2 * ((uint64_t)row0 | (uint64_t)nrows << 8 | (uint64_t)col0 << 16 | (uint64_t)ncols << 24);
    if (c->tot_key == key) return;
    int32_t *tot = c->line_tot;
    if (bwd) {
        for (int i = 0; i < nrows; i++) {
            const uint16_t *gp = &c->g[2 * (row0 + i)][col0], *gn = &c->g[2 * (row0 + i) + 1][col0];
            int32_t s = 0;
            for (int j = 0; j < ncols; j++) s += (int32_t)gp[j] + (int32_t)gn[j];
            tot[i] = s;
        }
    } else {
        for (int j = 0; j < ncols; j++) tot[j] = 0;
        for (int i = 0; i < nrows; i++) {
            const uint16_t *gp = &c->g[2 * (row0 + i)][col0], *gn = &c->g[2 * (row0 + i) + 1][col0];
            for (int j = 0; j < ncols; j++) tot[j] += (int32_t)gp[j] + (int32_t)gn[j];
        }
    }
    c->tot_key = key;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
#define _NR_ACLONES __attribute__((target_clones("avx2", "default")))
#else
#define _NR_ACLONES
#endif

/* acc[j] = Σ_i (G+[i][j] − G−[i][j])·x[i] in nS·code: |acc| ≤ 128·65535·15 < 2^31 */
_NR_ACLONES
static void _nr_akernel_fwd(const nr_core *c, int row0, int nrows, int col0, int ncols,
                            const int32_t *x, int32_t *acc)
{
    for (int j = 0; j < ncols; j++) acc[j] = 0;
    int i = 0;
    for (; i + 1 < nrows; i += 2) {
        const int32_t x0 = x[i], x1 = x[i + 1];
        if ((x0 | x1) == 0) continue;
        const uint16_t *restrict p0 = &c->g[2 * (row0 + i)][col0], *restrict n0 = &c->g[2 * (row0 + i) + 1][col0];
        const uint16_t *restrict p1 = &c->g[2 * (row0 + i) + 2][col0], *restrict n1 = &c->g[2 * (row0 + i) + 3][col0];
        for (int j = 0; j < ncols; j++)
            acc[j] += ((int32_t)p0[j] - (int32_t)n0[j]) * x0 + ((int32_t)p1[j] - (int32_t)n1[j]) * x1;
    }
    for (; i < nrows; i++) {
        const int32_t x0 = x[i];
        if (x0 == 0) continue;
        const uint16_t *restrict p0 = &c->g[2 * (row0 + i)][col0], *restrict n0 = &c->g[2 * (row0 + i) + 1][col0];
        for (int j = 0; j < ncols; j++) acc[j] += ((int32_t)p0[j] - (int32_t)n0[j]) * x0;
    }
}

/* acc[i] = Σ_j (G+[i][j] − G−[i][j])·x[j]: |acc| ≤ 256·65535·15 < 2^31 */
_NR_ACLONES
static void _nr_akernel_bwd(const nr_core *c, int row0, int nrows, int col0, int ncols,
                            const int32_t *x, int32_t *acc)
{
    for (int i = 0; i < nrows; i++) {
        const uint16_t *restrict p = &c->g[2 * (row0 + i)][col0], *restrict n = &c->g[2 * (row0 + i) + 1][col0];
        int32_t s = 0;
        for (int j = 0; j < ncols; j++) s += ((int32_t)p[j] - (int32_t)n[j]) * x[j];
        acc[i] = s;
    }
}

/* The conversion of one analog MVM or sample from accumulators to output codes, fixed by the
   core's conductances and configuration: the same for every vector of a batch until either
   changes (see _nr_analog_prep).  Then per vector: _nr_analog_digits splits the inputs into
   pass digits, a kernel accumulates Σ (G⁺ − G⁻)·digit per output, _nr_analog_finish adds the
   read noise and reads out. */
void _nr_analog_prep(const nr_machine *m, nr_core *c, int id, int dir, _nr_analog_ctx *ax)
{
    const nr_config *cfg = &m->cfg;
    const int32_t *k = c->cfg;
    const int row0 = k[NR_CFG_ROW0], nrows = k[NR_CFG_NROWS], col0 = k[NR_CFG_COL0], ncols = k[NR_CFG_NCOLS];
    const int bwd = dir == NR_DIR_BWD;
    const int nout = bwd ? nrows : ncols, out_lo = bwd ? row0 : col0;
    ax->bwd = bwd;
    ax->nin = bwd ? ncols : nrows;
    ax->nout = nout;
    ax->out_lo = out_lo;
    int pbits[2];   /* the profile's phases (_nr_pass_bits): the LSB digit of b0 bits, then the rest */
    _nr_pass_bits(cfg, k, pbits);
    ax->npass = pbits[1] > 0 ? 2 : 1;
    ax->b0 = pbits[0];

    _nr_line_totals(c, bwd);
    double tsum = 0;
    for (int q = 0; q < nout; q++) tsum += c->line_tot[q];
    const double tref = tsum / nout;

    /* per-line conversion factor from nS·code to output codes: the line settles to
       Σ G·x / Σ G, the neuron's gain is referenced to the window's mean line total */
    const int gs = k[NR_CFG_GSHIFT];
    const double gain = (double)k[NR_CFG_GAIN] / (double)((int64_t)1 << gs);
    const double lsb = (double)cfg->g_lsb_ns;
    for (int q = 0; q < nout; q++) {
        const double t = c->line_tot[q];
        double f = t > 0 ? gain * (tref / t) / lsb : 0.0;
        if (cfg->col_gain_sigma > 0)
            f *= 1.0 + cfg->col_gain_sigma * _nr_gauss_fast(_nr_akey(cfg->seed, id, (uint64_t)bwd, (uint64_t)(out_lo + q), _NR_TAG_COLGAIN));
        if (cfg->ir_drop > 0) f /= 1.0 + cfg->ir_drop * t * 1e-6;
        ax->fac[q] = f;
    }
    ax->offset = (double)k[NR_CFG_OFFSET];
    if (cfg->core_offset_sigma > 0)
        ax->offset += cfg->core_offset_sigma * _nr_gauss_fast(_nr_akey(cfg->seed, id, 0, 0, _NR_TAG_COREOFS));
    int64_t olo, ohi;
    _nr_output_range(k, 0, &olo, &ohi);
    const double fs = (double)(ohi > 1 ? ohi : 1);
    ax->sn = cfg->read_noise * fs;
}

/* inputs, clamped as in the ideal model, split into the magnitude digits of the phases: the
   LSB digit of b0 bits, then the rest, weighted 2^b0 */
void _nr_analog_digits(const int32_t *k, const int16_t *src, int nin, int npass, int b0, int32_t xd[2][NR_REG_LEN])
{
    const int32_t dmask = npass == 2 ? (1 << b0) - 1 : -1;   /* one pass: the whole magnitude */
    int32_t ilo, ihi;
    _nr_input_range(k, &ilo, &ihi);
    for (int i = 0; i < nin; i++) {
        int32_t v = src[i];
        v = v < ilo ? ilo : v;
        v = v > ihi ? ihi : v;
        const int32_t a = v < 0 ? -v : v, s = v < 0 ? -1 : 1;
        xd[0][i] = s * (a & dmask);
        xd[1][i] = s * (a >> b0);
    }
}

/* out[q] = clamp(d[q], lo, hi): without branches (outputs pile up at the range ends, so a
   branch mispredicts) and vectorised where the host has 64-bit min/max */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void _nr_clamp_out(const int64_t *d, int n, int64_t lo, int64_t hi, int16_t *out)
{
    for (int q = 0; q < n; q++) {
        int64_t y = d[q];
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
        out[q] = (int16_t)y;
    }
}

uint64_t _nr_analog_finish(const nr_machine *m, nr_core *c, int id, const _nr_analog_ctx *ax, int sample,
                           const int32_t *const acc[2])
{
    return _nr_analog_finish_to(m, c, id, ax, sample, sample ? c->k_smp : c->k_mvm, acc, &c->pend_buf[ax->out_lo]);
}

uint64_t _nr_analog_finish_to(const nr_machine *m, const nr_core *c, int id, const _nr_analog_ctx *ax, int sample,
                              uint64_t nev, const int32_t *const acc[2], int16_t *out)
{
    const nr_config *cfg = &m->cfg;
    const int32_t *k = c->cfg;
    const int nout = ax->nout, out_lo = ax->out_lo, npass = ax->npass;
    const double dweight = (double)(1 << ax->b0);
    const int gs = k[NR_CFG_GSHIFT];
    const int mode = k[NR_CFG_READOUT];
    int64_t olo, ohi;
    _nr_output_range(k, 0, &olo, &ohi);
    const double sn = ax->sn;
    const uint64_t tag = sample ? _NR_TAG_SMP : _NR_TAG_READ;

    double z[2][NR_REG_LEN];
    /* z = acc·fac + offset (first pass) + sn·N(key (seed, core, event, pass << 16 | lane, tag)) */
    const uint64_t base = _nr_akey_base(cfg->seed, id, nev, tag);
    const int sign = _nr_sign_readout(k);
    int64_t plo, phi;
    _nr_output_range(k, 1, &plo, &phi);
    if (!sample && !sign && mode != 1 && npass == 1) {
        /* SAR, one pass: z and its binary search (below) in one sweep, no row of z between */
        _nr_noise_sar_out(ax->fac, acc[0], ax->offset, sn, base, (uint64_t)out_lo, nout, plo, phi, olo, ohi, out);
        return 0;
    }
    for (int p = 0; p < npass; p++)
        _nr_noise_z(ax->fac, acc[p], p == 0 ? ax->offset : 0.0, sn, base, (uint64_t)p << 16 | (uint64_t)out_lo,
                    nout, z[p]);

    if (sample) {
        /* z + u > 0, u uniform in [−A, A] drawn exactly as in the ideal model (docs/machine.md) */
        const int64_t R = (int64_t)k[NR_CFG_NOISE] << gs;
        const double scale = 1.0 / (double)((int64_t)1 << gs);
        for (int q = 0; q < nout; q++) {
            double u = (double)_nr_sample_noise(cfg->seed, id, nev, (uint64_t)(out_lo + q), R) * scale;
            double zz = z[0][q] + (npass == 2 ? dweight * z[1][q] : 0.0);
            out[q] = (int16_t)(zz + u > 0);
        }
        return 0;
    }
    const int64_t sm = k[NR_CFG_STEPMAX];
    uint64_t max_abs = 0;
    if (!sign && mode != 1) {
        /* SAR: binary search with a half-LSB pre-offset = round half up, pass by pass */
        int64_t d[2][NR_REG_LEN];
        for (int p = 0; p < npass; p++) _nr_sar_round(z[p], nout, plo, phi, d[p]);
        const int64_t wgt = (int64_t)1 << ax->b0;
        for (int q = 0; q < nout; q++) d[0][q] += d[1][q] * wgt;
        _nr_clamp_out(d[0], nout, olo, ohi, out);
        return 0;
    }
    for (int q = 0; q < nout; q++) {
        if (sign) {
            double zz = z[0][q] + (npass == 2 ? dweight * z[1][q] : 0.0);
            out[q] = (int16_t)(zz >= 0 ? 1 : -1);
            continue;
        }
        int64_t y = 0;
        for (int p = npass - 1; p >= 0; p--) {
            /* SAR: binary search with a half-LSB pre-offset = round half up;
               step counting: decrements until the comparator flips = ceil(|z|) */
            const double v = z[p][q];
            int64_t d;
            if (mode == 1) {
                double a = ceil(fabs(v) - 1e-9);
                d = (int64_t)(a > (double)sm ? (double)sm : a);
                if (v < 0) d = -d;
                uint64_t ad = (uint64_t)(d < 0 ? -d : d);
                if (ad > max_abs) max_abs = ad;
            } else {
                double r = floor(v + 0.5);
                d = r < -1e9 ? -1000000000 : r > 1e9 ? 1000000000 : (int64_t)r;
            }
            d = d < plo ? plo : d > phi ? phi : d;
            y = y * ((int64_t)1 << ax->b0) + d;
        }
        out[q] = (int16_t)(y < olo ? olo : y > ohi ? ohi : y);
    }
    return max_abs < (uint64_t)sm ? max_abs : (uint64_t)sm;
}

/* One vector through the analog array: the sensing set-up of the operation (ax) and, per phase,
   Σ (G⁺ − G⁻)·digit of the inputs in the core's input register (acc) */
static void _nr_analog_accumulate(const nr_machine *m, nr_core *c, int id, int dir, _nr_analog_ctx *ax,
                                  int32_t acc[2][NR_REG_LEN])
{
    const int32_t *k = c->cfg;
    const int row0 = k[NR_CFG_ROW0], nrows = k[NR_CFG_NROWS], col0 = k[NR_CFG_COL0], ncols = k[NR_CFG_NCOLS];
    _nr_analog_prep(m, c, id, dir, ax);
    int32_t xd[2][NR_REG_LEN];
    _nr_analog_digits(k, ax->bwd ? &c->v[col0] : &c->h[row0], ax->nin, ax->npass, ax->b0, xd);
    for (int p = 0; p < ax->npass; p++) {
        if (ax->bwd) _nr_akernel_bwd(c, row0, nrows, col0, ncols, xd[p], acc[p]);
        else _nr_akernel_fwd(c, row0, nrows, col0, ncols, xd[p], acc[p]);
    }
}

/* The analog MVM / sample of one core: fills c->pend_buf like the ideal path and returns the
   step count of a step-counting readout.  See docs/analog.md for the equations. */
uint64_t _nr_mvm_analog(const nr_machine *m, nr_core *c, int id, int dir, int sample,
                        uint64_t *lo_out, uint64_t *n_out)
{
    _nr_analog_ctx ax;
    int32_t acc[2][NR_REG_LEN];
    _nr_analog_accumulate(m, c, id, dir, &ax, acc);
    *lo_out = (uint64_t)ax.out_lo;
    *n_out = (uint64_t)ax.nout;
    const int32_t *const accp[2] = {acc[0], acc[1]};
    return _nr_analog_finish(m, c, id, &ax, sample, accp);
}

/* Integrate-and-fire input (analog model): the noiseless pre-activation of every output lane,
   z = Σ_phases 2^(b0·p)·(acc_p·fac + [p = 0]·offset) in output codes (b0: magnitude bits of the
   first phase), and the read-noise σ of one phase; each time step adds z plus fresh read noise
   (_nr_if_noise), so the charge integrates the noise over the steps as the neuron's capacitor
   would. */
void _nr_mvm_preact_analog(const nr_machine *m, nr_core *c, int id, int dir, double *y,
                           double *sn, int *npass, int *b0, uint64_t *lo, uint64_t *n)
{
    _nr_analog_ctx ax;
    int32_t acc[2][NR_REG_LEN];
    _nr_analog_accumulate(m, c, id, dir, &ax, acc);
    for (int q = 0; q < ax.nout; q++) y[q] = ax.offset;
    for (int p = 0; p < ax.npass; p++) {
        const double w = p ? (double)(1 << ax.b0) : 1.0;
        for (int q = 0; q < ax.nout; q++) y[q] += w * ((double)acc[p][q] * ax.fac[q]);
    }
    *sn = ax.sn;
    *npass = ax.npass;
    *b0 = ax.b0;
    *lo = (uint64_t)ax.out_lo;
    *n = (uint64_t)ax.nout;
}

/* the read noise of output lane `lane` in time step `step` of the n_if-th IF operation */
double _nr_if_noise(const nr_machine *m, int id, uint64_t n_if, uint64_t step, uint64_t lane,
                    double sn, int npass, int b0)
{
    double v = 0;
    for (int p = 0; p < npass; p++)
        v += (p ? (double)(1 << b0) : 1.0) * sn * _nr_gauss_fast(_nr_akey(m->cfg.seed, id, n_if, step << 20 | (uint64_t)p << 16 | lane, _NR_TAG_IF));
    return v;
}

/* ---------------------------------------------------------------- in-situ update */

/* One update pulse on a cell at conductance g (opu, the n-th on core id): SET moves G up by
   k_set·(V − V_th)·(g_max − g)/(g_max − g_min), RESET down by k_reset·(V − V_th)·(g −
   g_min)/(g_max − g_min), both factors clamped to 0…1 (soft bounds), times max(0, 1 + σ_p·ξ)
   for the cycle-to-cycle variation (docs/analog.md, In-situ update). */
double _nr_op_pulse_analog(const nr_machine *m, int id, uint64_t n, int r, int j, double g, int set)
{
    const nr_config *cfg = &m->cfg;
    const double gmin = (double)cfg->g_min_ns, gmax = (double)cfg->op_g_max_ns;
    double f = set ? (gmax - g) / (gmax - gmin) : (g - gmin) / (gmax - gmin);
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    const double dv = cfg->op_v_pulse - cfg->wv_v_th;
    double k = 1.0 + cfg->wv_pulse_sigma * _nr_gauss_fast(_nr_akey(cfg->seed, id, n, (uint64_t)r << 8 | (uint64_t)j, _NR_TAG_OPU));
    double dg = (set ? cfg->wv_set_gain_ns : cfg->wv_reset_gain_ns) * (dv > 0 ? dv : 0) * f * (k > 0 ? k : 0);
    g += set ? dg : -dg;
    return g < 0 ? 0 : g > 65535 ? 65535 : g;
}

/* A noisy read of a cell (oprefresh's pair reads): g + wv_read_sigma_ns·ξ */
double _nr_refresh_read(const nr_machine *m, int id, uint64_t n, int r, int j, double g)
{
    return g + m->cfg.wv_read_sigma_ns * _nr_gauss_fast(_nr_akey(m->cfg.seed, id, n, (uint64_t)r << 8 | (uint64_t)j, _NR_TAG_REFRESH_READ));
}

/* Write-verify of one cell to `target` (oprefresh), the same loop as cprog's */
uint64_t _nr_refresh_cell(const nr_machine *m, int id, uint64_t n, int r, int j, double g, double target,
                          double *g_out)
{
    int failed;
    const uint64_t key = _nr_akey(m->cfg.seed, id, n, (uint64_t)r << 8 | (uint64_t)j, _NR_TAG_REFRESH);
    return _nr_wv_cell(&m->cfg, key, g, target, g_out, &failed);
}
