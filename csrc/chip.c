/* chip.c — the chip instruction group: power, configuration, scan chains, programming, cell
   reads, MVM/sample issue, sync and status; and the completion of core operations.

   Every handler validates everything first (mask, power, window, memory range, values), then
   waits for the cores it names, and only then changes state, so a faulting or stalled
   instruction leaves the machine untouched.  Work is computed when it issues (inputs cannot
   change while the core is busy) and its results are applied when it ends. */
#include <string.h>

#include "nr_private.h"

#define _NR_ALL_CORES ((1ull << NR_NUM_CORES) - 1)


void _nr_core_reset_regs(nr_core *c)
{
    memset(c->h, 0, sizeof c->h);
    memset(c->v, 0, sizeof c->v);
    memset(c->cfg, 0, sizeof c->cfg);
    memcpy(c->cfg, nr_cfg_default, sizeof nr_cfg_default);
    memset(c->if_u, 0, sizeof c->if_u);
    memset(c->if_cnt, 0, sizeof c->if_cnt);
}

int _nr_window_ok(const nr_core *c, int rec)
{
    const int32_t *k = c->cfg;
    if (k[NR_CFG_ROW0] + k[NR_CFG_NROWS] > NR_LOGICAL_ROWS) return 0;
    if (k[NR_CFG_COL0] + k[NR_CFG_NCOLS] > (rec ? NR_LOGICAL_ROWS : NR_CORE_COLS)) return 0;
    return 1;
}

static int _nr_check_mask(nr_machine *m, uint64_t mask)
{
    return (mask >> NR_NUM_CORES) ? _nr_fault(m, NR_FAULT_BAD_MASK, mask) : _NR_DONE;
}

static int _nr_check_powered(nr_machine *m, uint64_t mask)
{
    for (int c = 0; c < NR_NUM_CORES; c++)
        if ((mask >> c & 1) && !m->core[c].powered) return _nr_fault(m, NR_FAULT_CORE_OFF, (uint64_t)c);
    return _NR_DONE;
}

/* Holds the instruction until every core in the mask is idle.  The retry cycle is capped at
   `until` and stall cycles are counted only up to it, so a run sliced anywhere inside a stall
   accumulates exactly the same state as one long run. */
int _nr_wait(nr_machine *m, uint64_t mask, uint64_t t, uint64_t until)
{
    uint64_t ready = 0;
    int last = -1;
    for (int c = 0; c < NR_NUM_CORES; c++)
        if ((mask >> c & 1) && m->core[c].busy_until > ready) { ready = m->core[c].busy_until; last = c; }
    if (ready <= t) return _NR_DONE;
    uint64_t next = _nr_min(ready, until);
    m->stall_cycles += next - t;
    /* a wait for weight programming is one-time work, whichever instruction it delays */
    if (m->prof && m->core[last].pend_kind == NR_PEND_PROGRAM) _nr_prof(m, m->pc, NR_PF_PROG_WAIT, next - t);
    m->next_issue = next;
    return _NR_STALL;
}

void _nr_set_pending(nr_machine *m, nr_core *c, uint64_t kind, uint64_t end)
{
    c->pend_kind = kind;
    c->pend_end = end;
    c->pend_pc = m->pc;   /* the issuing instruction: completion events are profiled there */
    if (end < m->next_event) m->next_event = end;
}

int16_t _nr_load_elem(const uint8_t *p, uint64_t dt)
{
    switch (dt) {
    case NR_DTYPE_I8: return (int8_t)p[0];
    case NR_DTYPE_U8: return p[0];
    case NR_DTYPE_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    default: {
        int32_t v;
        memcpy(&v, p, 4);
        return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
    }
    }
}

void _nr_store_elem(uint8_t *p, uint64_t dt, int16_t v)
{
    switch (dt) {
    case NR_DTYPE_I8: p[0] = (uint8_t)(int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); break;
    case NR_DTYPE_U8: p[0] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v); break;
    case NR_DTYPE_I16: memcpy(p, &v, 2); break;
    default: { int32_t w = v; memcpy(p, &w, 4); }
    }
}

/* hin / vin / hout / vout: the core waits for itself, then queues on its chain. */
static int _nr_scan(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const int id = in->c, out = in->op == NR_OP_HOUT || in->op == NR_OP_VOUT;
    const int v_side = in->op == NR_OP_VIN || in->op == NR_OP_VOUT;
    nr_core *c = &m->core[id];
    if (!c->powered) return _nr_fault(m, NR_FAULT_CORE_OFF, (uint64_t)id);
    if (!_nr_window_ok(c, 0)) return _nr_fault(m, NR_FAULT_BAD_WINDOW, (uint64_t)id);
    const uint64_t lo = (uint64_t)(v_side ? c->cfg[NR_CFG_COL0] : c->cfg[NR_CFG_ROW0]);
    const uint64_t n = (uint64_t)(v_side ? c->cfg[NR_CFG_NCOLS] : c->cfg[NR_CFG_NROWS]);
    const uint64_t addr = m->x[in->rs1], es = _nr_dsize[in->a];
    if (!_nr_in_mem(m, addr, n * es)) return _nr_fault(m, NR_FAULT_MEM_BOUNDS, addr);
    int r = _nr_wait(m, 1ull << id, t, until);
    if (r != _NR_DONE) return r;
    /* checked once the core is idle: an earlier scan-out of this core has landed by then */
    if (m->check && _nr_chk_access(m, m->pc, t, out, addr, n * es))
        return _nr_fault(m, NR_FAULT_CHECK, addr);

    uint64_t k = nr_chain_of(id);
    uint64_t start = _nr_max(t, m->chain_free[k]);
    uint64_t end = start + _nr_scan_cycles(&m->cfg, id, v_side);
    m->chain_free[k] = end;
    c->ev_scan_shifts += (uint64_t)NR_REG_LEN * nr_scan_shifts(id, v_side);
    _nr_prof(m, m->pc, NR_PF_SCAN_SHIFTS, (uint64_t)NR_REG_LEN * nr_scan_shifts(id, v_side));
    _nr_begin_op(c, t, end);
    c->n_phase = 0;
    if (start > t) {
        _nr_phase_add(c, t, NR_PHASE_SCAN_WAIT);
    }
    _nr_phase_add(c, start, out ? NR_PHASE_SCAN_OUT : NR_PHASE_SCAN_IN);
    c->pend_lo = lo;
    c->pend_n = n;
    if (out) {
        memcpy(&c->pend_buf[lo], v_side ? &c->v[lo] : &c->h[lo], n * sizeof(int16_t));
        c->pend_addr = addr;
        c->pend_dtype = in->a;
        _nr_set_pending(m, c, NR_PEND_SCAN_OUT, end);
        /* the trace shows the bytes the scan will write, fixed now */
        uint8_t bytes[NR_REG_LEN * 4];
        if (m->trace)
            for (uint64_t i = 0; i < n; i++) _nr_store_elem(&bytes[i * es], in->a, c->pend_buf[lo + i]);
        _nr_trace_start(m, id, NR_TR_SCAN_OUT, t, end, addr, start - t, m->trace ? bytes : NULL, n * es);
    } else {
        /* scan-in reads memory when it issues */
        for (uint64_t i = 0; i < n; i++) c->pend_buf[lo + i] = _nr_load_elem(&m->mem[addr + i * es], in->a);
        _nr_set_pending(m, c, v_side ? NR_PEND_SCAN_IN_V : NR_PEND_SCAN_IN_H, end);
        _nr_trace_start(m, id, NR_TR_SCAN_IN, t, end, addr, start - t, &m->mem[addr], n * es);
    }
    return _NR_DONE;
}

/* The chip's single programmer (cprog, oprefresh): the operation of `dur` cycles waits for it,
   then holds it; the core waits (phase program_wait) and then programs.  Returns the end
   cycle; *start the cycle programming begins. */
uint64_t _nr_queue_program(nr_machine *m, nr_core *c, uint64_t t, uint64_t dur, uint64_t *start)
{
    const uint64_t s = _nr_max(t, m->programmer_free), end = s + dur;
    m->programmer_free = end;
    _nr_begin_op(c, t, end);
    c->n_phase = 0;
    if (s > t) {
        _nr_phase_add(c, t, NR_PHASE_PROGRAM_WAIT);
    }
    _nr_phase_add(c, s, NR_PHASE_PROGRAM);
    *start = s;
    return end;
}

static int _nr_cprog(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const int id = in->c;
    nr_core *c = &m->core[id];
    if (!c->powered) return _nr_fault(m, NR_FAULT_CORE_OFF, (uint64_t)id);
    if (!_nr_window_ok(c, 0)) return _nr_fault(m, NR_FAULT_BAD_WINDOW, (uint64_t)id);
    const uint64_t nrows = (uint64_t)c->cfg[NR_CFG_NROWS], ncols = (uint64_t)c->cfg[NR_CFG_NCOLS];
    const uint64_t addr = m->x[in->rs1];
    if (!_nr_in_mem(m, addr, nrows * ncols)) return _nr_fault(m, NR_FAULT_MEM_BOUNDS, addr);
    int r = _nr_wait(m, 1ull << id, t, until);
    if (r != _NR_DONE) return r;
    if (m->check && _nr_chk_access(m, m->pc, t, 0, addr, nrows * ncols))
        return _nr_fault(m, NR_FAULT_CHECK, addr);

    c->arrays_dirty = 1;
    memcpy(c->prog_codes, &m->mem[addr], nrows * ncols);
    uint64_t pulses, dur;
    if (m->cfg.model == NR_MODEL_ANALOG) {
        /* write-verify starts from the conductances as relaxed at issue and is simulated
           there into g_prog (relaxation waits while a cprog is pending); G shows the result
           at completion.  wv_serial simulates again at completion from the same keys. */
        _nr_relax_sync(m, id, t);
        pulses = _nr_wv_window(m, c, id, !m->cfg.wv_serial, &c->pend_failed, &c->pend_outside);
        dur = _nr_prog_cycles_pulses(&m->cfg, c, pulses);
    } else {
        dur = _nr_prog_cycles(&m->cfg, c, &pulses);
    }
    uint64_t start;
    const uint64_t end = _nr_queue_program(m, c, t, dur, &start);
    c->pend_lo = (uint64_t)c->cfg[NR_CFG_ROW0];
    c->pend_n = nrows;
    c->pend_col0 = (uint64_t)c->cfg[NR_CFG_COL0];
    c->pend_ncols = ncols;
    c->pend_pulses = pulses;
    _nr_set_pending(m, c, NR_PEND_PROGRAM, end);
    _nr_trace_start(m, id, NR_TR_PROG, t, end, pulses, start - t, c->prog_codes, nrows * ncols);
    return _NR_DONE;
}

int _nr_chip_wait(nr_machine *m, uint64_t mask, uint64_t t, uint64_t until)
{
    return _nr_wait(m, mask, t, until);
}

void _nr_chip_set_pending(nr_machine *m, nr_core *c, uint64_t kind, uint64_t end)
{
    _nr_set_pending(m, c, kind, end);
}

/* mask in range, every core in it powered and (for an operation on the window) with a window
   that fits; the first failure faults */
int _nr_chip_check_cores(nr_machine *m, uint64_t mask, int rec)
{
    int r = _nr_check_mask(m, mask);
    if (r == _NR_DONE) r = _nr_check_powered(m, mask);
    if (r != _NR_DONE || rec < 0) return r;
    for (int id = 0; id < NR_NUM_CORES; id++)
        if ((mask >> id & 1) && !_nr_window_ok(&m->core[id], rec))
            return _nr_fault(m, NR_FAULT_BAD_WINDOW, (uint64_t)id);
    return _NR_DONE;
}

/* the input stage of one MVM-like operation: phases, input pulses per line, lines driven */
void _nr_mvm_input_events(const nr_config *mc, nr_core *c, int dir, uint64_t *passes, uint64_t *pulses,
                          uint64_t *lines)
{
    const int32_t *k = c->cfg;
    int bits[2];
    _nr_pass_bits(mc, k, bits);
    *lines = dir == NR_DIR_BWD ? (uint64_t)k[NR_CFG_NCOLS] : 2 * (uint64_t)k[NR_CFG_NROWS];
    *passes = *pulses = 0;
    for (int p = 0; p < 2; p++)
        if (bits[p] > 0) { (*passes)++; *pulses += mc->bit_phases * (uint64_t)k[NR_CFG_PMUL] * ((1ull << bits[p]) - 1); }
}

/* energy events of one MVM or sample whose outputs are in c->pend_buf (docs/analog.md,
   Energy), added to the core and to the profile of the issuing instruction at `pc`.  Per phase
   of b magnitude bits: bit_phases·pmul·(2^b − 1) integration steps, each a pulse on every
   driven line and an integration in every sensing neuron; per magnitude bit (and bit phase) one
   WL pulse on every row of the window, one input pulse on every driven line and one sample of
   the new level in every sensing neuron; per phase every WL returns to idle and every neuron
   shifts and adds its result.  Readout: SAR _nr_adc_bits compares and one fewer charge steps
   per output and phase; sign/sample one compare; step counting one compare and |y| decrements. */
void _nr_mvm_events(nr_machine *m, nr_core *c, uint64_t pc, int dir, int sample, uint64_t nout)
{
    const nr_config *mc = &m->cfg;
    const int32_t *k = c->cfg;
    int bits[2];
    _nr_pass_bits(mc, k, bits);
    const uint64_t nrows = (uint64_t)k[NR_CFG_NROWS], ncols = (uint64_t)k[NR_CFG_NCOLS];
    const uint64_t lines = dir == NR_DIR_BWD ? ncols : 2 * nrows, rows = 2 * nrows;
    const uint64_t mbits = (uint64_t)(bits[0] + bits[1]) * mc->bit_phases;
    uint64_t passes = 0, pulses = 0, adc = 0;
    for (int p = 0; p < 2; p++)
        if (bits[p] > 0) {
            passes++;
            pulses += mc->bit_phases * (uint64_t)k[NR_CFG_PMUL] * ((1ull << bits[p]) - 1);
            adc += _nr_adc_bits(mc, k, bits, p);
        }
    uint64_t cmp, dec;
    const int mode = k[NR_CFG_READOUT];
    if (sample || mode == 2 || (k[NR_CFG_OUTSIGNED] && k[NR_CFG_OUTBITS] == 1)) {
        cmp = passes * nout;
        dec = 0;
    } else if (mode == 1) {
        uint64_t steps = 0;
        for (uint64_t q = 0; q < nout; q++) {
            int32_t y = c->pend_buf[c->pend_lo + q];
            steps += (uint64_t)(y < 0 ? -y : y);
        }
        cmp = passes * nout + steps;
        dec = steps;
    } else {
        cmp = adc * nout;
        dec = (adc - passes) * nout;
    }
    const uint64_t ev[][2] = {
        {NR_PF_LINE_PULSES, pulses * lines}, {NR_PF_INTEG, pulses * nout},
        {NR_PF_COMPARE, cmp}, {NR_PF_DECREMENT, dec}, {NR_PF_WL_SWITCHES, rows * mbits},
        {NR_PF_WL_PHASES, rows * passes}, {NR_PF_INPUT_PULSES, lines * mbits},
        {NR_PF_SAMPLES, nout * mbits}, {NR_PF_SHIFT_ADDS, nout * passes},
        {NR_PF_MACS, nrows * ncols}, {NR_PF_COREOPS, 1}};
    c->ev_passes += passes;
    c->ev_line_pulses += ev[0][1];
    c->ev_integ += ev[1][1];
    c->ev_compare += cmp;
    c->ev_decrement += dec;
    c->ev_wl_switches += ev[4][1];
    c->ev_wl_phases += ev[5][1];
    c->ev_input_pulses += ev[6][1];
    c->ev_samples += ev[7][1];
    c->ev_shift_adds += ev[8][1];
    c->ev_macs += nrows * ncols;
    if (m->prof)
        for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) _nr_prof(m, pc, (int)ev[i][0], ev[i][1]);
}

/* The numerics of one core's MVM or sample: an independent item of _nr_parallel (it reads
   the configuration and writes only its own core).  The machine-wide effects follow in core
   order in _nr_mvm. */
typedef struct {
    nr_machine *m;
    uint64_t t;
    int dir, sample, n;
    int ids[NR_NUM_CORES];
    uint64_t lo[NR_NUM_CORES], nout[NR_NUM_CORES], end[NR_NUM_CORES];
} _nr_mvm_job;

static void _nr_mvm_core(void *ctx, int k)
{
    _nr_mvm_job *jb = ctx;
    nr_machine *m = jb->m;
    const int id = jb->ids[k];
    nr_core *c = &m->core[id];
    uint64_t lo, n, steps;
    if (m->cfg.model == NR_MODEL_ANALOG) {
        _nr_relax_sync(m, id, jb->t);
        steps = _nr_mvm_analog(m, c, id, jb->dir, jb->sample, &lo, &n);
    } else {
        steps = _nr_mvm_compute(c, id, jb->dir, jb->sample, m->cfg.seed, &lo, &n);
    }
    c->pend_lo = lo;
    jb->lo[k] = lo;
    jb->nout[k] = n;
    jb->end[k] = _nr_mvm_schedule(&m->cfg, c, jb->sample, steps, jb->t);
}

/* below this many multiply-accumulates a wave is cheaper on one thread than waking workers */
#define _NR_PARALLEL_MACS 65536

static int _nr_mvm(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const int sample = in->op == NR_OP_SMP, dir = in->b;
    const uint64_t mask = m->x[in->rs1];
    int r = _nr_check_mask(m, mask);
    if (r == _NR_DONE) r = _nr_check_powered(m, mask);
    if (r != _NR_DONE) return r;
    for (int id = 0; id < NR_NUM_CORES; id++)
        if ((mask >> id & 1) && !_nr_window_ok(&m->core[id], dir == NR_DIR_REC))
            return _nr_fault(m, NR_FAULT_BAD_WINDOW, (uint64_t)id);
    /* a key counter at 2^64 − 1 (only a snapshot can set one) would wrap to reused keys: a
       fault, as a batch that would pass it is */
    for (int id = 0; id < NR_NUM_CORES; id++)
        if ((mask >> id & 1) && (sample ? m->core[id].k_smp : m->core[id].k_mvm) == UINT64_MAX)
            return _nr_fault(m, NR_FAULT_BAD_CONFIG, UINT64_MAX);
    r = _nr_wait(m, mask, t, until);
    if (r != _NR_DONE) return r;

    _nr_mvm_job jb;
    jb.m = m;
    jb.t = t;
    jb.dir = dir;
    jb.sample = sample;
    jb.n = 0;
    uint64_t macs = 0;
    for (int id = 0; id < NR_NUM_CORES; id++) {
        if (!(mask >> id & 1)) continue;
        jb.ids[jb.n++] = id;
        macs += (uint64_t)m->core[id].cfg[NR_CFG_NROWS] * (uint64_t)m->core[id].cfg[NR_CFG_NCOLS];
    }
    if (macs >= (m->cfg.model == NR_MODEL_ANALOG ? _NR_PARALLEL_MACS / 4 : _NR_PARALLEL_MACS))
        _nr_parallel(m, jb.n, _nr_mvm_core, &jb);
    else
        for (int k = 0; k < jb.n; k++) _nr_mvm_core(&jb, k);

    for (int k = 0; k < jb.n; k++) {
        const int id = jb.ids[k];
        nr_core *c = &m->core[id];
        const uint64_t end = jb.end[k], lo = jb.lo[k], n = jb.nout[k];
        /* events in core order on this thread: the profile is shared by all cores */
        _nr_mvm_events(m, c, m->pc, dir, sample, n);
        c->ev_mvm_cycles += end - t;
        _nr_prof(m, m->pc, NR_PF_MVM_CYCLES, end - t);
        _nr_begin_op(c, t, end);
        c->pend_n = n;
        if (sample) c->n_smp++, c->k_smp++;
        else c->n_mvm++, c->k_mvm++;
        _nr_set_pending(m, c, dir == NR_DIR_FWD ? NR_PEND_MVM_V : NR_PEND_MVM_H, end);
        _nr_trace_start(m, id, sample ? NR_TR_SMP : NR_TR_MVM, t, end, (uint64_t)dir, 0,
                        &c->pend_buf[lo], n * sizeof(int16_t));
    }
    return _NR_DONE;
}

static int _nr_config(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const uint64_t mask = m->x[in->rs1];
    const int f = in->a;
    const int64_t v = in->op == NR_OP_CCFG ? (int64_t)in->imm : (int64_t)m->x[in->rs2];
    int r = _nr_check_mask(m, mask);
    if (r == _NR_DONE) r = _nr_check_powered(m, mask);
    if (r != _NR_DONE) return r;
    if (v < nr_cfg_lo[f] || v > nr_cfg_hi[f]) return _nr_fault(m, NR_FAULT_BAD_CONFIG, (uint64_t)v);
    r = _nr_wait(m, mask, t, until);
    if (r != _NR_DONE) return r;
    for (int id = 0; id < NR_NUM_CORES; id++)
        if (mask >> id & 1) m->core[id].cfg[f] = (int32_t)v;
    return _NR_DONE;
}

static int _nr_power(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const uint64_t mask = m->x[in->rs1];
    int r = _nr_check_mask(m, mask);
    if (r == _NR_DONE) r = _nr_wait(m, mask, t, until);
    if (r != _NR_DONE) return r;
    for (int id = 0; id < NR_NUM_CORES; id++) {
        if (!(mask >> id & 1)) continue;
        nr_core *c = &m->core[id];
        if (in->op == NR_OP_CPOFF) {
            /* conductances stay; the registers and configuration are lost */
            if (c->powered) c->pow_accum += t - c->pow_since;
            if (c->powered && m->trace) _nr_trace_power_off(m, id, t);
            c->powered = 0;
            _nr_core_reset_regs(c);
        } else if (!c->powered) {
            c->powered = 1;
            c->pow_since = t;
            _nr_core_reset_regs(c);
            _nr_begin_op(c, t, t + m->cfg.t_wake);
            c->n_phase = 1;
            c->phase_at[0] = t;
            c->phase_code[0] = NR_PHASE_WAKING;
            _nr_trace_start(m, id, NR_TR_WAKE, t, t + m->cfg.t_wake, 0, 0, NULL, 0);
        }
    }
    return _NR_DONE;
}

static int _nr_cread(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost)
{
    const int id = in->c;
    if (!m->core[id].powered) return _nr_fault(m, NR_FAULT_CORE_OFF, (uint64_t)id);
    const uint64_t row = m->x[in->rs1], col = m->x[in->rs2];
    if (row >= NR_CORE_ROWS) return _nr_fault(m, NR_FAULT_BAD_CELL, row);
    if (col >= NR_CORE_COLS) return _nr_fault(m, NR_FAULT_BAD_CELL, col);
    int r = _nr_wait(m, 1ull << id, t, until);
    if (r != _NR_DONE) return r;
    _nr_relax_sync(m, id, t);
    m->core[id].ev_wv_reads++;
    _nr_prof(m, m->pc, NR_PF_WV_READS, 1);
    m->x[in->rd] = m->core[id].g[row][col];
    *cost = m->cfg.t_cellread;
    return _NR_DONE;
}

static void _nr_cstat(nr_machine *m, const nr_insn *in, uint64_t t)
{
    const nr_core *c = &m->core[in->c];
    uint64_t busy = c->busy_until > t;
    uint64_t left = busy ? c->busy_until - t : 0;
    if (left >> 48) left = (1ull << 48) - 1;
    m->x[in->rd] = (c->powered ? 1u : 0u) | busy << 1 | (uint64_t)_nr_phase_at(c, t) << 8 | left << 16;
}

int _nr_exec_chip(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost)
{
    *cost = 1;
    switch (in->op) {
    case NR_OP_CPON:
    case NR_OP_CPOFF: return _nr_power(m, in, t, until);
    case NR_OP_CCFG:
    case NR_OP_CCFGR: return _nr_config(m, in, t, until);
    case NR_OP_HIN:
    case NR_OP_VIN:
    case NR_OP_HOUT:
    case NR_OP_VOUT: return _nr_scan(m, in, t, until);
    case NR_OP_CPROG: return _nr_cprog(m, in, t, until);
    case NR_OP_CREAD: return _nr_cread(m, in, t, until, cost);
    case NR_OP_MVM:
    case NR_OP_SMP: return _nr_mvm(m, in, t, until);
    case NR_OP_SYNC: {
        /* the rs1 *field* x0 means every core; a register that holds 0 means none */
        const uint64_t mask = in->rs1 == 0 ? _NR_ALL_CORES : m->x[in->rs1];
        int r = _nr_check_mask(m, mask);
        if (r == _NR_DONE && mask == 0 && m->check
            && _nr_chk_event(m, m->pc, t, NR_CHK_SYNC_EMPTY, 0, 0, UINT64_MAX, 0))
            return _nr_fault(m, NR_FAULT_CHECK, 0);
        return r == _NR_DONE ? _nr_wait(m, mask, t, until) : r;
    }
    case NR_OP_CSTAT: _nr_cstat(m, in, t); return _NR_DONE;
    case NR_OP_BCOUNT:
    case NR_OP_BSTRIDE:
    case NR_OP_BMVM:
    case NR_OP_BSMP:
    case NR_OP_BKEY: return _nr_exec_batch(m, in, t, until, cost);   /* batch.c */
    case NR_OP_IFRUN:
    case NR_OP_IFSTEP: return _nr_ifire(m, in, t, until);
    case NR_OP_IFCLR: return _nr_ifclr(m, in, t, until);
    case NR_OP_OPU: return _nr_opu(m, in, t, until);
    case NR_OP_OPREFRESH: return _nr_oprefresh(m, in, t, until);
    case NR_OP_HALT: return _nr_wait(m, _NR_ALL_CORES, t, until);   /* its drain (run.c) */
    case NR_OP_CAGE:
        /* a shelf period: chip time passes, cycles do not (relaxation reads the chip time) */
        m->age_s += (double)m->x[in->rs1] * 1e-3;
        return _NR_DONE;
    default: return _nr_fault(m, NR_FAULT_ILLEGAL, in->word);
    }
}

void _nr_complete_core(nr_machine *m, int id)
{
    nr_core *c = &m->core[id];
    const uint64_t lo = c->pend_lo, n = c->pend_n;
    switch (c->pend_kind) {
    case NR_PEND_SCAN_IN_H:
    case NR_PEND_MVM_H: memcpy(&c->h[lo], &c->pend_buf[lo], n * sizeof(int16_t)); break;
    case NR_PEND_SCAN_IN_V:
    case NR_PEND_MVM_V: memcpy(&c->v[lo], &c->pend_buf[lo], n * sizeof(int16_t)); break;
    case NR_PEND_SCAN_OUT: {
        const uint64_t es = _nr_dsize[c->pend_dtype];
        for (uint64_t i = 0; i < n; i++)
            _nr_store_elem(&m->mem[c->pend_addr + i * es], c->pend_dtype, c->pend_buf[lo + i]);
        if (m->check) _nr_chk_written(m->check, c->pend_addr, n * es);
        break;
    }
    case NR_PEND_PROGRAM: {
        const int64_t lsb = (int64_t)m->cfg.g_lsb_ns;
        const uint64_t c0 = c->pend_col0, nc = c->pend_ncols;
        c->ev_wv_pulses += c->pend_pulses;
        c->ev_wv_reads += 2 * n * nc + c->pend_pulses;
        _nr_prof(m, c->pend_pc, NR_PF_WV_PULSES, c->pend_pulses);
        _nr_prof(m, c->pend_pc, NR_PF_WV_READS, 2 * n * nc + c->pend_pulses);
        if (m->cfg.model == NR_MODEL_ANALOG) {
            /* the window was captured at issue (the core was busy since); wv_serial reruns
               the same write-verify (same keys, same start) here, as the previous release did */
            if (m->cfg.wv_serial) _nr_wv_window(m, c, id, 1, NULL, NULL);
            for (uint64_t i = 0; i < 2 * n; i++)
                for (uint64_t j = 0; j < nc; j++)
                    c->g[2 * lo + i][c0 + j] = c->g_prog[2 * lo + i][c0 + j];
            _nr_refresh_weights(c, (int)lo, (int)n, (int)c0, (int)nc, m->cfg.g_lsb_ns);
            c->n_prog_cells += 2 * n * nc;
            c->n_prog_pulses += c->pend_pulses;
            c->n_prog_failed += c->pend_failed;
            c->n_prog_outside += c->pend_outside;
            c->n_cprog++;
            c->has_prog = 1;
            c->t_prog_s = (double)c->pend_end / m->cfg.clock_hz + m->age_s;
            c->relax_epoch = 1;   /* age 0: g = g_prog */
            c->tot_key = 0;
            break;
        }
        for (uint64_t i = 0; i < n; i++) {
            for (uint64_t j = 0; j < nc; j++) {
                int64_t w = c->prog_codes[i * nc + j];
                c->g[2 * (lo + i)][c0 + j] = (uint16_t)(w > 0 ? w * lsb : 0);
                c->g[2 * (lo + i) + 1][c0 + j] = (uint16_t)(w < 0 ? -w * lsb : 0);
            }
        }
        _nr_refresh_weights(c, (int)lo, (int)n, (int)c0, (int)nc, m->cfg.g_lsb_ns);
        c->n_prog_cells += 2 * n * nc;
        c->n_prog_pulses += c->pend_pulses;
        break;
    }
    case NR_PEND_REFRESH: _nr_refresh_complete(m, id); break;
    default: break;   /* NR_PEND_UPDATE: applied at issue, only the end is recorded */
    }
    if (m->trace) {
        const int scan_out = c->pend_kind == NR_PEND_SCAN_OUT;
        _nr_trace_end(m, id, c->pend_addr, scan_out ? n * _nr_dsize[c->pend_dtype] : 0);
    }
    c->pend_kind = NR_PEND_NONE;
}
