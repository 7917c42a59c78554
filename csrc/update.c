/* update.c — in-situ weight update (docs/machine.md, In-situ update): opu, the test software's
   outer-product update (ternary x on the rows, y on the columns, four selection + pulse phases:
   a Manhattan-rule ΔW = sign(x·y) on the whole window in parallel), and oprefresh, the pair
   refresh that re-centres drifted differential pairs near g_max.

   opu changes the conductances when it issues (only the pulses' time is waited for: the core
   is busy until they end, so no instruction sees the difference).  oprefresh needs verify
   reads, so it queues on the chip's one programmer like cprog; its results are computed at
   issue into g_prog and copied into G when it completes. */
#include <math.h>
#include <string.h>

#include "nr_private.h"

/* the four phases of outer_product_update_manual: (x, y, SET?) */
static const int _nr_px[4] = {1, 1, -1, -1}, _nr_py[4] = {1, -1, -1, 1}, _nr_pset[4] = {1, 0, 1, 0};

static int _nr_sgn(int16_t v) { return v > 0 ? 1 : v < 0 ? -1 : 0; }

static uint16_t _nr_clamp_g(double g) { return (uint16_t)(g < 0 ? 0 : g > 65535 ? 65535 : g); }

/* Ideal pulse: ±g_lsb (one weight code step of the device), bounded to 0 … 128·g_lsb (the
   conductance of code ±128); a device already above the bound is not moved by a SET. */
static uint16_t _nr_op_pulse_ideal(const nr_config *cfg, uint16_t g, int set)
{
    const uint32_t lsb = (uint32_t)cfg->g_lsb_ns, cap = 128u * lsb;
    if (set) return (uint16_t)(g >= cap ? g : (g + lsb > cap ? cap : g + lsb));
    return (uint16_t)(g <= lsb ? 0 : g - lsb);
}

static void _nr_opu_core(nr_machine *m, int id, uint64_t t)
{
    nr_core *c = &m->core[id];
    const int32_t *k = c->cfg;
    const int row0 = k[NR_CFG_ROW0], nrows = k[NR_CFG_NROWS], col0 = k[NR_CFG_COL0], ncols = k[NR_CFG_NCOLS];
    const int dev = k[NR_CFG_OPDEV], analog = m->cfg.model == NR_MODEL_ANALOG;
    if (analog) _nr_relax_sync(m, id, t);
    int cx[3] = {0, 0, 0}, cy[3] = {0, 0, 0};
    for (int i = 0; i < nrows; i++) cx[_nr_sgn(c->h[row0 + i]) + 1]++;
    for (int j = 0; j < ncols; j++) cy[_nr_sgn(c->v[col0 + j]) + 1]++;
    uint64_t pulses = 0, phases = 0;
    for (int p = 0; p < 4; p++) {
        if (!cx[_nr_px[p] + 1] || !cy[_nr_py[p] + 1]) continue;   /* nothing selected: skipped */
        phases++;
        for (int i = 0; i < nrows; i++) {
            if (_nr_sgn(c->h[row0 + i]) != _nr_px[p]) continue;
            const int r = 2 * (row0 + i) + dev;
            for (int j = 0; j < ncols; j++) {
                if (_nr_sgn(c->v[col0 + j]) != _nr_py[p]) continue;
                const int col = col0 + j;
                const uint16_t g = c->g[r][col];
                uint16_t gn;
                if (analog) {
                    /* each cell takes at most one pulse per opu: (n_opu, cell) keys its draw */
                    gn = _nr_clamp_g(floor(_nr_op_pulse_analog(m, id, c->n_opu, r, col, g, _nr_pset[p]) + 0.5));
                    const int32_t dg = (int32_t)gn - (int32_t)g;   /* the programmed state moves too */
                    c->g_prog[r][col] = _nr_clamp_g((double)c->g_prog[r][col] + dg);
                    c->g_target[r][col] = _nr_clamp_g((double)c->g_target[r][col] + dg);
                } else {
                    gn = _nr_op_pulse_ideal(&m->cfg, g, _nr_pset[p]);
                }
                c->g[r][col] = gn;
                if (c->op_pulses[r][col] < UINT16_MAX) c->op_pulses[r][col]++;
                pulses++;
            }
        }
    }
    if (pulses) {
        c->arrays_dirty = 1;
        c->tot_key = 0;
        _nr_refresh_weights(c, row0, nrows, col0, ncols, m->cfg.g_lsb_ns);
    }
    const uint64_t dur = phases * (m->cfg.t_opsel + m->cfg.t_pulse);
    c->n_opu++;
    c->ev_op_pulses += pulses;
    c->ev_op_phases += phases;
    c->ev_op_cycles += dur;
    _nr_begin_op(c, t, t + dur);
    c->n_phase = 1;
    c->phase_at[0] = t;
    c->phase_code[0] = NR_PHASE_UPDATE;
    c->pend_lo = c->pend_n = 0;
    _nr_chip_set_pending(m, c, NR_PEND_UPDATE, t + dur);
    /* b: pulses; stall: phases with a selected cell */
    _nr_trace_start(m, id, NR_TR_UPDATE, t, t + dur, pulses, phases, NULL, 0);
}

int _nr_opu(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const uint64_t mask = m->x[in->rs1];
    int r = _nr_chip_check_cores(m, mask, 0);
    if (r == _NR_DONE) r = _nr_chip_wait(m, mask, t, until);
    if (r != _NR_DONE) return r;
    for (int id = 0; id < NR_NUM_CORES; id++)
        if (mask >> id & 1) _nr_opu_core(m, id, t);
    return _NR_DONE;
}

/* oprefresh: per pair of the window, read Δ = G+ − G−, then write-verify the device on Δ's
   side to g_max and the other to max(g_max − |Δ|, 0).  g_max: the analog model's op_g_max_ns,
   the ideal model's 128·g_lsb (whose write-verify is exact, ⌈|target − G| / g_pulse⌉ pulses). */
int _nr_oprefresh(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const int id = in->c;
    int r = _nr_chip_check_cores(m, 1ull << id, 0);
    if (r == _NR_DONE) r = _nr_chip_wait(m, 1ull << id, t, until);
    if (r != _NR_DONE) return r;
    nr_core *c = &m->core[id];
    const int32_t *k = c->cfg;
    const int row0 = k[NR_CFG_ROW0], nrows = k[NR_CFG_NROWS], col0 = k[NR_CFG_COL0], ncols = k[NR_CFG_NCOLS];
    const int analog = m->cfg.model == NR_MODEL_ANALOG;
    const double gmax = analog ? (double)m->cfg.op_g_max_ns : 128.0 * (double)m->cfg.g_lsb_ns;
    const double gp = (double)m->cfg.g_pulse_ns;
    if (analog) _nr_relax_sync(m, id, t);
    uint64_t pulses = 0;
    for (int i = 0; i < nrows; i++) {
        const int rp = 2 * (row0 + i), rn = rp + 1;
        for (int j = col0; j < col0 + ncols; j++) {
            double a = c->g[rp][j], b = c->g[rn][j];
            if (analog) {
                a = _nr_refresh_read(m, id, c->n_refresh, rp, j, a);
                b = _nr_refresh_read(m, id, c->n_refresh, rn, j, b);
            }
            const double d = a - b, lo = gmax - fabs(d) > 0 ? gmax - fabs(d) : 0;
            const double tp = d >= 0 ? gmax : lo, tn = d >= 0 ? lo : gmax;
            for (int s = 0; s < 2; s++) {
                const int row = s ? rn : rp;
                const double target = s ? tn : tp, g0 = c->g[row][j];
                double g;
                if (analog) {
                    const uint64_t np = _nr_refresh_cell(m, id, c->n_refresh, row, j, g0, target, &g);
                    pulses += np;
                    c->g_target[row][j] = _nr_clamp_g(floor(target + 0.5));
                    c->cell_pulses[row][j] = (uint8_t)(np > 255 ? 255 : np);
                    c->prog_mask[row][j >> 6] |= 1ull << (j & 63);
                } else {
                    g = floor(target + 0.5);
                    pulses += (uint64_t)ceil(fabs(g - g0) / gp);
                }
                c->g_prog[row][j] = _nr_clamp_g(floor(g + 0.5));
            }
        }
    }
    c->arrays_dirty = 1;
    c->n_refresh++;
    const uint64_t cells = 2 * (uint64_t)nrows * (uint64_t)ncols;
    /* two verify reads per pair (Δ), then the write-verify of both devices */
    const uint64_t dur = cells * m->cfg.t_verify + _nr_prog_cycles_pulses(&m->cfg, c, pulses);
    uint64_t start;
    const uint64_t end = _nr_queue_program(m, c, t, dur, &start);
    c->pend_lo = (uint64_t)row0;
    c->pend_n = (uint64_t)nrows;
    c->pend_col0 = (uint64_t)col0;
    c->pend_ncols = (uint64_t)ncols;
    c->pend_pulses = pulses;
    _nr_chip_set_pending(m, c, NR_PEND_REFRESH, end);
    _nr_trace_start(m, id, NR_TR_REFRESH, t, end, pulses, start - t, NULL, 0);
    return _NR_DONE;
}

/* completion of an oprefresh: the window's pairs take their refreshed conductances */
void _nr_refresh_complete(nr_machine *m, int id)
{
    nr_core *c = &m->core[id];
    const uint64_t lo = c->pend_lo, n = c->pend_n, c0 = c->pend_col0, nc = c->pend_ncols;
    for (uint64_t i = 2 * lo; i < 2 * (lo + n); i++)
        memcpy(&c->g[i][c0], &c->g_prog[i][c0], nc * sizeof(uint16_t));
    c->ev_wv_pulses += c->pend_pulses;
    c->ev_wv_reads += 2 * (2 * n * nc) + c->pend_pulses;
    c->tot_key = 0;
    if (m->cfg.model == NR_MODEL_ANALOG) {
        /* like a cprog: the core's relaxation clock restarts (age 0: g = g_prog) */
        c->has_prog = 1;
        c->t_prog_s = (double)c->pend_end / m->cfg.clock_hz + m->age_s;
        c->relax_epoch = 1;
    }
    _nr_refresh_weights(c, (int)lo, (int)n, (int)c0, (int)nc, m->cfg.g_lsb_ns);
}
