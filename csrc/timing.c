/* timing.c — cost formulas of core operations and the phase schedule that answers "what is
   core c doing at cycle t" (docs/machine.md, Timing contract). */
#include "nr_private.h"

/* Scan chain k links cores 6k … 6k+5; each core holds an H and a V segment of 256 cells.
   Cores 0–2 are reached from one end (H first), cores 3–5 from the other end (V first), so
   the number of whole segments shifted depends on the position and the register side. */
uint64_t nr_scan_shifts(int core, int v_side)
{
    int p = core % NR_CORES_PER_CHAIN;
    if (p <= 2) return (uint64_t)(v_side ? 2 * p + 2 : 2 * p + 1);
    return (uint64_t)(v_side ? 2 * (5 - p) + 1 : 2 * (5 - p) + 2);
}

uint64_t nr_chain_of(int core) { return (uint64_t)(core / NR_CORES_PER_CHAIN); }

uint64_t _nr_scan_cycles(const nr_config *cfg, int core, int v_side)
{
    return (uint64_t)NR_REG_LEN * nr_scan_shifts(core, v_side) * cfg->scan_div;
}

/* One MVM is one phase, or two for inputs wider than the profile's phase_bits (_nr_pass_bits);
   each phase restarts its bit weights at 2^0 and its result is shifted and added afterwards.
   Input stage of a phase of b magnitude bits: t_cds + bit_phases·pmul·(2^b − 1)·(t_sample +
   t_integ) neuron clocks; readout: one compare per converted bit (SAR, _nr_adc_bits), one
   compare (sign, sample), or a compare plus `steps` decrements (step counting). */
uint64_t _nr_mvm_schedule(const nr_config *cfg, nr_core *c, int sample, uint64_t steps, uint64_t t)
{
    const int32_t *k = c->cfg;
    int bits[2];
    _nr_pass_bits(cfg, k, bits);
    const uint64_t pulse = cfg->t_sample + cfg->t_integ;
    uint64_t at = t;
    c->n_phase = 0;
    for (int p = 0; p < 2 && bits[p] > 0; p++) {
        uint64_t readout;
        if (sample || k[NR_CFG_READOUT] == 2) readout = cfg->t_comp;
        else if (k[NR_CFG_READOUT] == 1) readout = cfg->t_comp + steps * cfg->t_step;
        else readout = _nr_adc_bits(cfg, k, bits, p) * cfg->t_comp;
        uint64_t input = cfg->t_cds + cfg->bit_phases * (uint64_t)k[NR_CFG_PMUL] * (((uint64_t)1 << bits[p]) - 1) * pulse;
        _nr_phase_add(c, at, NR_PHASE_INTEGRATE);
        at += cfg->neuron_div * input;
        _nr_phase_add(c, at, NR_PHASE_READOUT);
        at += cfg->neuron_div * readout;
    }
    return at;
}

/* Integrate-and-fire: one correlated double sampling, then per time step the input pulses of
   every phase (as an MVM's input stage, without its t_cds), one comparison and one charge-
   subtraction slot (taken every step, fired or not, so the time is data-independent):
   neuron_div·(t_cds + steps·(Σ_phases bit_phases·pmul·(2^b − 1)·(t_sample + t_integ) + t_comp + t_step)).
   The whole operation is one "fire" phase. */
uint64_t _nr_if_schedule(const nr_config *cfg, nr_core *c, uint64_t steps, uint64_t t)
{
    const int32_t *k = c->cfg;
    int bits[2];
    _nr_pass_bits(cfg, k, bits);
    const uint64_t pulse = cfg->t_sample + cfg->t_integ;
    uint64_t step = cfg->t_comp + cfg->t_step;
    for (int p = 0; p < 2 && bits[p] > 0; p++)
        step += cfg->bit_phases * (uint64_t)k[NR_CFG_PMUL] * (((uint64_t)1 << bits[p]) - 1) * pulse;
    c->n_phase = 1;
    c->phase_at[0] = t;
    c->phase_code[0] = NR_PHASE_FIRE;
    return t + cfg->neuron_div * (cfg->t_cds + steps * step);
}

/* Write-verify: every cell of the window's row pairs gets one verify read, then as many
   pulse + verify rounds as ideal pulses of g_pulse need to reach the target. */
uint64_t _nr_prog_cycles(const nr_config *cfg, const nr_core *c, uint64_t *pulses_out)
{
    const int32_t *k = c->cfg;
    const int row0 = k[NR_CFG_ROW0], nrows = k[NR_CFG_NROWS];
    const int col0 = k[NR_CFG_COL0], ncols = k[NR_CFG_NCOLS];
    const int64_t lsb = (int64_t)cfg->g_lsb_ns, gp = (int64_t)cfg->g_pulse_ns;
    uint64_t pulses = 0;
    for (int i = 0; i < nrows; i++) {
        for (int j = 0; j < ncols; j++) {
            int64_t w = c->prog_codes[i * ncols + j];
            int64_t tp = w > 0 ? w * lsb : 0, tn = w < 0 ? -w * lsb : 0;
            int64_t dp = tp - c->g[2 * (row0 + i)][col0 + j];
            int64_t dn = tn - c->g[2 * (row0 + i) + 1][col0 + j];
            if (dp < 0) dp = -dp;
            if (dn < 0) dn = -dn;
            pulses += (uint64_t)((dp + gp - 1) / gp + (dn + gp - 1) / gp);
        }
    }
    *pulses_out = pulses;
    return _nr_prog_cycles_pulses(cfg, c, pulses);
}

/* Σ_cells (t_verify + pulses·(t_pulse + t_verify)) for a known pulse total (the analog model
   counts the pulses of its write-verify simulation) */
uint64_t _nr_prog_cycles_pulses(const nr_config *cfg, const nr_core *c, uint64_t pulses)
{
    uint64_t cells = 2 * (uint64_t)c->cfg[NR_CFG_NROWS] * (uint64_t)c->cfg[NR_CFG_NCOLS];
    return cells * cfg->t_verify + pulses * (cfg->t_pulse + cfg->t_verify);
}

int _nr_phase_at(const nr_core *c, uint64_t t)
{
    if (!c->powered) return NR_PHASE_OFF;
    if (t >= c->busy_until || t < c->op_start || c->n_phase == 0) return NR_PHASE_IDLE;
    int ph = (int)c->phase_code[0];
    for (uint64_t i = 1; i < c->n_phase; i++)
        if (c->phase_at[i] <= t) ph = (int)c->phase_code[i];
    return ph;
}

/* Starts an operation on an idle core: the previous operation's busy time is folded into the
   accumulated count so that busy cycles can be reported exactly at any cycle. */
void _nr_begin_op(nr_core *c, uint64_t t, uint64_t end)
{
    if (c->busy_until > c->op_start) c->busy_accum += c->busy_until - c->op_start;
    c->op_start = t;
    c->busy_until = end;
}

uint64_t nr_core_busy_cycles(const nr_machine *m, int core)
{
    if (core < 0 || core >= NR_NUM_CORES) return 0;
    const nr_core *c = &m->core[core];
    uint64_t b = c->busy_accum;
    uint64_t hi = _nr_min(m->cycle, c->busy_until);
    if (hi > c->op_start) b += hi - c->op_start;
    return b;
}

void nr_result_summary(const nr_machine *m, uint64_t *out)
{
    out[0] = m->result.stop;
    out[1] = m->result.fault;
    out[2] = m->result.fault_pc;
    out[3] = m->result.fault_detail;
    out[4] = m->cycle;
    out[5] = m->instret;
    out[6] = m->stall_cycles;
    out[7] = m->pc;
    for (int c = 0; c < NR_NUM_CORES; c++) out[NR_SUMMARY_BUSY + c] = nr_core_busy_cycles(m, c);
}

int nr_core_phase_at(const nr_machine *m, int core, uint64_t cycle)
{
    if (core < 0 || core >= NR_NUM_CORES) return -1;
    return _nr_phase_at(&m->core[core], cycle);
}
