/* ifire.c — the integrate-and-fire mode of the neurons (docs/machine.md, Integrate-and-fire):
   ifrun (T time steps on one input, spike counts out), ifstep (one step, spike vector out,
   charges kept) and ifclr (initialise the charges and counts).

   The neuron's own sequence — sample and integrate the input pulses, compare, subtract a fixed
   charge — run continuously is an integrate-and-fire neuron with reset by subtraction.  Each
   time step of output lane q:

       u ← leak(u, ifleak)           stored charge moves toward 0 by ifleak (not past it)
       u ← clamp(u + y_q + n, ±2^40) y_q: pre-activation of the window (unclamped), n: read noise
       if u ≥ ifthr: u ← u − ifthr, spike (count + 1)

   The ideal model has n = 0 and integer y, so every charge is an exact integer (a numpy
   reference reproduces it); the analog model takes y from the analog sensing path and draws n
   per step and lane.  The neuron state (if_u, if_cnt) changes at issue — only IF instructions
   read it and they wait for the core — and the output register at completion, like an MVM. */
#include <math.h>
#include <string.h>

#include "nr_private.h"

#define _NR_IF_UMAX 1099511627776.0   /* 2^40: the charge clamp */

static double _nr_if_leak(double u, double leak)
{
    if (u > 0) return u > leak ? u - leak : 0.0;
    if (u < 0) return -u > leak ? u + leak : 0.0;
    return 0.0;
}

typedef struct {
    nr_machine *m;
    uint64_t t;
    int dir, rate, n;
    int ids[NR_NUM_CORES];
    uint64_t lo[NR_NUM_CORES], nout[NR_NUM_CORES], end[NR_NUM_CORES], spikes[NR_NUM_CORES];
} _nr_if_job;

/* the steps of one core (an independent item of _nr_parallel: it writes only its own core) */
static void _nr_if_core(void *ctx, int k)
{
    _nr_if_job *jb = ctx;
    nr_machine *m = jb->m;
    const int id = jb->ids[k];
    nr_core *c = &m->core[id];
    const int32_t *cfg = c->cfg;
    const int analog = m->cfg.model == NR_MODEL_ANALOG;
    double y[NR_REG_LEN], sn = 0;
    int npass = 1, b0 = 0;
    uint64_t lo, n;
    if (analog) {
        _nr_relax_sync(m, id, jb->t);
        _nr_mvm_preact_analog(m, c, id, jb->dir, y, &sn, &npass, &b0, &lo, &n);
    } else {
        _nr_mvm_preact(c, jb->dir, y, &lo, &n);
    }
    const uint64_t steps = jb->rate ? (uint64_t)cfg[NR_CFG_IFSTEPS] : 1;
    const double thr = (double)cfg[NR_CFG_IFTHR], leak = (double)cfg[NR_CFG_IFLEAK];
    if (jb->rate) {
        for (uint64_t q = 0; q < n; q++) {
            c->if_u[lo + q] = 0;
            c->if_cnt[lo + q] = 0;
        }
    }
    int16_t *out = &c->pend_buf[lo];
    uint64_t spikes = 0;
    for (uint64_t q = 0; q < n; q++) {
        double u = c->if_u[lo + q];
        uint32_t cnt = c->if_cnt[lo + q];
        int fired = 0;
        for (uint64_t s = 0; s < steps; s++) {
            u = _nr_if_leak(u, leak) + y[q];
            if (analog && sn > 0) u += _nr_if_noise(m, id, c->n_if, s, lo + q, sn, npass, b0);
            u = u > _NR_IF_UMAX ? _NR_IF_UMAX : u < -_NR_IF_UMAX ? -_NR_IF_UMAX : u;
            fired = u >= thr;
            if (fired) {
                u -= thr;
                if (cnt < UINT32_MAX) cnt++;
                spikes++;
            }
        }
        c->if_u[lo + q] = u;
        c->if_cnt[lo + q] = cnt;
        out[q] = (int16_t)(jb->rate ? (cnt > INT16_MAX ? INT16_MAX : cnt) : fired);
    }
    uint64_t passes, pulses, lines;
    _nr_mvm_input_events(&m->cfg, c, jb->dir, &passes, &pulses, &lines);
    c->ev_if_pulses += steps * pulses * lines;
    c->ev_if_integ += steps * pulses * n;
    c->ev_if_steps += steps * n;
    /* each time step is an MVM's input stage: per magnitude bit (and bit round) a WL pulse on
       every window row, an input level on every driven line and a sample in every sensing
       neuron; per phase the WLs return to idle (the silicon events of docs/analog.md, Energy) */
    int bits[2];
    _nr_pass_bits(&m->cfg, cfg, bits);
    const uint64_t mbits = (uint64_t)(bits[0] + bits[1]) * m->cfg.bit_phases;
    const uint64_t rows = 2 * (uint64_t)cfg[NR_CFG_NROWS];
    c->ev_wl_switches += steps * rows * mbits;
    c->ev_wl_phases += steps * rows * passes;
    c->ev_input_pulses += steps * lines * mbits;
    c->ev_samples += steps * n * mbits;
    c->ev_spikes += spikes;
    c->n_if++;
    jb->lo[k] = lo;
    jb->nout[k] = n;
    jb->spikes[k] = spikes;
    jb->end[k] = _nr_if_schedule(&m->cfg, c, steps, jb->t);
}

int _nr_ifire(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const int dir = in->b;
    const uint64_t mask = m->x[in->rs1];
    int r = _nr_chip_check_cores(m, mask, dir == NR_DIR_REC);
    if (r != _NR_DONE) return r;
    r = _nr_chip_wait(m, mask, t, until);
    if (r != _NR_DONE) return r;

    _nr_if_job jb;
    jb.m = m;
    jb.t = t;
    jb.dir = dir;
    jb.rate = in->op == NR_OP_IFRUN;
    jb.n = 0;
    uint64_t work = 0;
    for (int id = 0; id < NR_NUM_CORES; id++) {
        if (!(mask >> id & 1)) continue;
        jb.ids[jb.n++] = id;
        const int32_t *k = m->core[id].cfg;
        work += (uint64_t)k[NR_CFG_NROWS] * (uint64_t)k[NR_CFG_NCOLS];
    }
    if (work >= 16384) _nr_parallel(m, jb.n, _nr_if_core, &jb);
    else
        for (int k = 0; k < jb.n; k++) _nr_if_core(&jb, k);

    for (int k = 0; k < jb.n; k++) {
        const int id = jb.ids[k];
        nr_core *c = &m->core[id];
        const uint64_t end = jb.end[k], lo = jb.lo[k], n = jb.nout[k];
        c->ev_if_cycles += end - t;
        _nr_begin_op(c, t, end);
        c->pend_lo = lo;
        c->pend_n = n;
        _nr_chip_set_pending(m, c, dir == NR_DIR_FWD ? NR_PEND_MVM_V : NR_PEND_MVM_H, end);
        /* b: direction, bit 8 set for ifstep (a spike vector, not counts); payload: outputs */
        _nr_trace_start(m, id, NR_TR_IFIRE, t, end, (uint64_t)dir | (uint64_t)!jb.rate << 8, jb.spikes[k],
                        &c->pend_buf[lo], n * sizeof(int16_t));
    }
    return _NR_DONE;
}

int _nr_ifclr(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const uint64_t mask = m->x[in->rs1];
    int r = _nr_chip_check_cores(m, mask, -1);
    if (r == _NR_DONE) r = _nr_chip_wait(m, mask, t, until);
    if (r != _NR_DONE) return r;
    for (int id = 0; id < NR_NUM_CORES; id++) {
        if (!(mask >> id & 1)) continue;
        memset(m->core[id].if_u, 0, sizeof m->core[id].if_u);
        memset(m->core[id].if_cnt, 0, sizeof m->core[id].if_cnt);
    }
    return _NR_DONE;
}
