/* machine.c — configuration, lifetime, program loading (decode once), accessors, breakpoints,
   snapshots and names. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

/* ---------------------------------------------------------------- configuration */

static const char *const _nr_param_names[] = {
#define NR_X_NAME(name, def) #name,
    NR_PARAMS(NR_X_NAME)
#undef NR_X_NAME
};
#define _NR_PARAM_COUNT ((int)(sizeof _nr_param_names / sizeof _nr_param_names[0]))

/* Timing parameters are capped so that no duration formula can overflow 64 bits:
   the largest, an MVM, is below neuron_div·2·(t_cds + 2·64·15·(t_sample+t_integ) + 255·t_step)
   < 2^24·2^38, and a cprog below 2^17 cells·(34·2^25). */
#define _NR_PARAM_MAX ((1ull << 24) - 1)

void nr_config_default(nr_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mem_size = 4u << 20;
    cfg->seed = 0;
    cfg->model = NR_MODEL_IDEAL;
    cfg->g_lsb_ns = 312;
    cfg->g_pulse_ns = 2000;
    cfg->clock_hz = 100e6;
    cfg->g_tol_ns = 1000;
    cfg->g_min_ns = 1000;
    cfg->wv_max_vmax = 30;
    cfg->wv_max_iters = 50;
    cfg->wv_v_start = 1.2;
    cfg->wv_v_step = 0.1;
    cfg->wv_v_max = 4.0;
    cfg->wv_v_th = 1.0;
    cfg->wv_set_gain_ns = 1000;
    cfg->wv_reset_gain_ns = 1000;
    cfg->wv_pulse_sigma = 0.3;
    cfg->wv_read_sigma_ns = 25;
    cfg->relax_scale = 1.0;
    cfg->relax_wv_sigma_ns = 500;
    cfg->read_noise = 0.01;
    cfg->op_v_pulse = 1.5;
    cfg->op_g_max_ns = 40000;
#define NR_X_DEF(name, def) cfg->name = def;
    NR_PARAMS(NR_X_DEF)
#undef NR_X_DEF
}

static uint64_t *_nr_param_slot(nr_config *cfg, const char *name)
{
#define NR_X_SLOT(pname, def) if (strcmp(name, #pname) == 0) return &cfg->pname;
    NR_PARAMS(NR_X_SLOT)
#undef NR_X_SLOT
    return NULL;
}

int nr_config_set_param(nr_config *cfg, const char *name, uint64_t value)
{
    uint64_t *p = _nr_param_slot(cfg, name);
    if (!p) return NR_ERR_ARG;
    if (value > _NR_PARAM_MAX) return NR_ERR_CONFIG;
    *p = value;
    return NR_OK;
}

int nr_config_get_param(const nr_config *cfg, const char *name, uint64_t *value)
{
    uint64_t *p = _nr_param_slot((nr_config *)cfg, name);
    if (!p) return NR_ERR_ARG;
    *value = *p;
    return NR_OK;
}

int nr_param_count(void) { return _NR_PARAM_COUNT; }
const char *nr_param_name(int i) { return i >= 0 && i < _NR_PARAM_COUNT ? _nr_param_names[i] : NULL; }
uint64_t nr_param_max(void) { return _NR_PARAM_MAX; }

int nr_config_check(const nr_config *cfg)
{
    if (cfg->model != NR_MODEL_IDEAL && cfg->model != NR_MODEL_ANALOG) return NR_ERR_CONFIG;
    /* analog parameters: finite, non-negative, voltages ordered */
    const double dv[] = {cfg->wv_v_start, cfg->wv_v_step, cfg->wv_v_max, cfg->wv_v_th,
                         cfg->wv_set_gain_ns, cfg->wv_reset_gain_ns, cfg->wv_pulse_sigma,
                         cfg->wv_read_sigma_ns, cfg->relax_scale, cfg->relax_wv_sigma_ns,
                         cfg->read_noise, cfg->col_gain_sigma, cfg->core_offset_sigma, cfg->ir_drop,
                         cfg->op_v_pulse};
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++)
        if (!(dv[i] >= 0 && dv[i] < 1e9)) return NR_ERR_CONFIG;
    if (cfg->wv_v_start > cfg->wv_v_max) return NR_ERR_CONFIG;
    /* the ramp must reach wv_v_max, or a cell that does not move would never give up */
    if (cfg->wv_v_step < 1e-3) return NR_ERR_CONFIG;
    if (cfg->g_tol_ns < 1 || cfg->g_tol_ns > 65535 || cfg->g_min_ns > 65535) return NR_ERR_CONFIG;
    if (cfg->op_g_max_ns <= cfg->g_min_ns || cfg->op_g_max_ns > 65535) return NR_ERR_CONFIG;
    if (cfg->wv_max_iters < 1 || cfg->wv_max_iters > 1000000 || cfg->wv_max_vmax > 1000000) return NR_ERR_CONFIG;
    if (cfg->mem_size == 0 || cfg->mem_size > (1ull << 32)) return NR_ERR_CONFIG;
    /* g_lsb ≥ 3 keeps |W| within the int16 weight cache and every MVM sum within int32;
       g_lsb ≤ 511 keeps the conductance of code −128 (128·g_lsb) within uint16 */
    if (cfg->g_lsb_ns < 3 || cfg->g_lsb_ns > 511) return NR_ERR_CONFIG;
    if (cfg->g_pulse_ns < 1 || cfg->g_pulse_ns > 65535) return NR_ERR_CONFIG;
    if (!(cfg->clock_hz > 0)) return NR_ERR_CONFIG;
#define NR_X_CHECK(name, def) if (cfg->name > _NR_PARAM_MAX) return NR_ERR_CONFIG;
    NR_PARAMS(NR_X_CHECK)
#undef NR_X_CHECK
    if (cfg->vec_lanes == 0) return NR_ERR_CONFIG;
    /* phases: one or two rounds per bit, a phase of 1–8 bits, split and ADC rules are flags */
    if (cfg->bit_phases < 1 || cfg->bit_phases > 2 || cfg->phase_bits < 1 || cfg->phase_bits > 8 ||
        cfg->phase_split > 1 || cfg->adc_skip > 1) return NR_ERR_CONFIG;
    if (cfg->threads > 1024 || cfg->wv_reference > 1 || cfg->wv_serial > 1) return NR_ERR_CONFIG;
    return NR_OK;
}

/* ---------------------------------------------------------------- lifetime */

/* Back to power-on: everything but the configuration and the owned buffers.  A core's large
   arrays (programming codes, conductances, weights, analog state: ~550 KiB) are cleared only if
   something wrote them since, so that loading a program into a fresh machine does not touch
   the 26 MiB of core arrays. */
static void _nr_reset(nr_machine *m)
{
    m->pc = 0;
    m->prev_pc = NR_NO_DETAIL;
    memset(m->x, 0, sizeof m->x);
    m->vl = m->cycle = m->next_issue = m->instret = m->stall_cycles = m->stall_mark = 0;
    m->halted = m->bp_skip = 0;
    m->bn = 1;
    m->bs_d = m->bs_1 = m->bs_2 = 0;
    m->next_event = UINT64_MAX;
    memset(m->chain_free, 0, sizeof m->chain_free);
    m->programmer_free = 0;
    m->age_s = 0;
    /* the chip keeps its place in a system (chip_id, n_chips); its link operation is gone */
    m->link_state = m->link_op = m->link_peer = m->link_addr = m->link_len = 0;
    m->link_post = m->link_end = 0;
    memset(m->op_count, 0, sizeof m->op_count);
    m->ev_vec_elems = 0;
    memset(&m->result, 0, sizeof m->result);
    for (int c = 0; c < NR_NUM_CORES; c++) {
        nr_core *k = &m->core[c];
        if (k->arrays_dirty) memset(k->prog_codes, 0, sizeof *k - offsetof(nr_core, prog_codes));
        memset(k, 0, offsetof(nr_core, prog_codes));
        _nr_core_reset_regs(k);
    }
}

static int _nr_setup(nr_machine *m, const nr_config *cfg)
{
    int err = nr_config_check(cfg);
    if (err != NR_OK) return err;
    m->cfg = *cfg;
    m->chip_id = 0;
    m->n_chips = 1;   /* a machine on its own is a one-chip system */
    m->mem = calloc(1, cfg->mem_size);
    if (!m->mem) return NR_ERR_NOMEM;
    _nr_reset(m);
    return NR_OK;
}

int nr_init(nr_machine *m, const nr_config *cfg)
{
    memset(m, 0, sizeof *m);
    return _nr_setup(m, cfg);
}

nr_machine *nr_new(const nr_config *cfg, int *err)
{
    /* calloc hands out untouched zero pages: no 26 MiB memset, no page faults until used */
    nr_machine *m = calloc(1, sizeof *m);
    int rc = m ? _nr_setup(m, cfg) : NR_ERR_NOMEM;
    if (err) *err = rc;
    if (rc != NR_OK) {
        nr_delete(m);
        return NULL;
    }
    return m;
}

void nr_delete(nr_machine *m)
{
    if (!m) return;
    nr_free(m);
    free(m);
}

void nr_free(nr_machine *m)
{
    nr_trace_disable(m);
    nr_profile_disable(m);
    nr_check_disable(m);
    free(m->mem);
    free(m->words);
    free(m->code);
    free(m->bp_bits);
    for (int c = 0; c < NR_NUM_CORES; c++) {
        free(m->rcache[c]);
        m->rcache[c] = NULL;
    }
    m->mem = NULL;
    m->words = NULL;
    m->code = NULL;
    m->bp_bits = NULL;
    m->code_n = m->bp_count = 0;
}

/* ---------------------------------------------------------------- loading */

int nr_load(nr_machine *m, const uint32_t *code, uint64_t n, const nr_segment *segs, int nsegs,
            uint64_t entry)
{
    if (n == 0 || n > NR_MAX_CODE_WORDS) return NR_ERR_PROGRAM;
    if ((entry & 3) || entry >= n * 4) return NR_ERR_ENTRY;
    for (int i = 0; i < nsegs; i++)
        if (!_nr_in_mem(m, segs[i].addr, segs[i].size)) return NR_ERR_SEGMENT;
    uint32_t *words = malloc(n * sizeof *words);
    nr_insn *dec = malloc(n * sizeof *dec);
    uint64_t *bp = calloc((n + 63) / 64, sizeof *bp);
    if (!words || !dec || !bp) {
        free(words);
        free(dec);
        free(bp);
        return NR_ERR_NOMEM;
    }
    free(m->words);
    free(m->code);
    free(m->bp_bits);
    nr_profile_disable(m);   /* counters belong to one program */
    m->words = words;
    m->code = dec;
    m->bp_bits = bp;
    m->code_n = n;
    m->bp_count = 0;
    memcpy(words, code, n * sizeof *words);
    for (uint64_t i = 0; i < n; i++) _nr_predecode(words[i], &dec[i]);
    nr_check_disable(m);   /* its symbols and per-word marks were the previous program's */
    _nr_reset(m);
    memset(m->mem, 0, m->cfg.mem_size);
    for (int i = 0; i < nsegs; i++)
        if (segs[i].size) memcpy(m->mem + segs[i].addr, segs[i].data, segs[i].size);
    m->pc = entry;
    return NR_OK;
}

/* ---------------------------------------------------------------- accessors */

uint64_t nr_reg(const nr_machine *m, int r) { return r > 0 && r < NR_NUM_REGS ? m->x[r] : 0; }

void nr_set_reg(nr_machine *m, int r, uint64_t v)
{
    if (r > 0 && r < NR_NUM_REGS) m->x[r] = v;
}

int nr_mem_read(const nr_machine *m, uint64_t addr, void *dst, uint64_t n)
{
    if (!_nr_in_mem(m, addr, n)) return NR_ERR_ARG;
    if (n) memcpy(dst, m->mem + addr, n);
    return NR_OK;
}

int nr_mem_write(nr_machine *m, uint64_t addr, const void *src, uint64_t n)
{
    if (!_nr_in_mem(m, addr, n)) return NR_ERR_ARG;
    if (n) memcpy(m->mem + addr, src, n);
    if (n && m->check) _nr_chk_written(m->check, addr, n);
    return NR_OK;
}

int nr_core_status_get(const nr_machine *m, int core, nr_core_status *out)
{
    if (core < 0 || core >= NR_NUM_CORES) return NR_ERR_ARG;
    const nr_core *c = &m->core[core];
    out->powered = c->powered;
    out->busy = c->busy_until > m->cycle;
    out->phase = (uint64_t)_nr_phase_at(c, m->cycle);
    out->busy_until = c->busy_until;
    out->busy_cycles = nr_core_busy_cycles(m, core);
    out->mvms = c->n_mvm;
    out->samples = c->n_smp;
    out->prog_cells = c->n_prog_cells;
    out->prog_pulses = c->n_prog_pulses;
    out->prog_failed = c->n_prog_failed;
    out->prog_outside = c->n_prog_outside;
    out->powered_cycles = c->pow_accum + (c->powered && m->cycle > c->pow_since ? m->cycle - c->pow_since : 0);
    return NR_OK;
}

int nr_core_set_cfg(nr_machine *m, int core, int field, int64_t value)
{
    if (core < 0 || core >= NR_NUM_CORES || field < 0 || field >= NR_CFG_COUNT) return NR_ERR_ARG;
    if (value < nr_cfg_lo[field] || value > nr_cfg_hi[field]) return NR_ERR_CONFIG;
    m->core[core].cfg[field] = (int32_t)value;
    return NR_OK;
}

int nr_core_set_conductances(nr_machine *m, int core, const uint16_t *g)
{
    if (core < 0 || core >= NR_NUM_CORES) return NR_ERR_ARG;
    nr_core *c = &m->core[core];
    c->arrays_dirty = 1;
    memcpy(c->g, g, sizeof c->g);
    /* exact conductances: no write-verify history, no relaxation */
    memset(c->prog_mask, 0, sizeof c->prog_mask);
    c->has_prog = 0;
    c->tot_key = 0;
    _nr_refresh_weights(c, 0, NR_LOGICAL_ROWS, 0, NR_CORE_COLS, m->cfg.g_lsb_ns);
    return NR_OK;
}

int nr_core_set_power(nr_machine *m, int core, int on)
{
    if (core < 0 || core >= NR_NUM_CORES) return NR_ERR_ARG;
    nr_core *c = &m->core[core];
    if (c->busy_until > m->cycle) return NR_ERR_ARG;   /* like cpon/cpoff: only an idle core */
    if (!on || !c->powered) _nr_core_reset_regs(c);
    if (on && !c->powered) c->pow_since = m->cycle;
    if (!on && c->powered) c->pow_accum += m->cycle - c->pow_since;
    c->powered = on ? 1 : 0;
    return NR_OK;
}

/* ---------------------------------------------------------------- breakpoints */

int nr_bp_set(nr_machine *m, uint64_t addr)
{
    if ((addr & 3) || addr >= m->code_n * 4) return NR_ERR_ARG;
    uint64_t w = addr >> 2, bit = 1ull << (w & 63);
    if (!(m->bp_bits[w >> 6] & bit)) m->bp_count++;
    m->bp_bits[w >> 6] |= bit;
    return NR_OK;
}

int nr_bp_clear(nr_machine *m, uint64_t addr)
{
    if ((addr & 3) || addr >= m->code_n * 4) return NR_ERR_ARG;
    uint64_t w = addr >> 2, bit = 1ull << (w & 63);
    if (m->bp_bits[w >> 6] & bit) m->bp_count--;
    m->bp_bits[w >> 6] &= ~bit;
    return NR_OK;
}

void nr_bp_clear_all(nr_machine *m)
{
    if (m->bp_bits) memset(m->bp_bits, 0, (m->code_n + 63) / 64 * sizeof *m->bp_bits);
    m->bp_count = 0;
}

/* ---------------------------------------------------------------- names */

static const char *const _nr_stop_names[NR_STOP_COUNT] = {
    "none", "cycle", "step", "halt", "ebreak", "breakpoint", "fault", "trace_full", "link",
    "deadlock"};
static const char *const _nr_fault_names[NR_FAULT_COUNT] = {
    "none", "illegal", "pc_bounds", "mem_bounds", "mem_align", "core_off", "bad_mask",
    "bad_window", "bad_config", "bad_cell", "cycle_limit", "check", "bad_chip", "deadlock", "link_size"};
static const char *const _nr_phase_names[NR_PHASE_COUNT] = {
    "off", "idle", "waking", "scan_wait", "scan_in", "scan_out", "integrate", "readout",
    "program_wait", "program", "fire", "update"};

const char *nr_stop_name(int s) { return s >= 0 && s < NR_STOP_COUNT ? _nr_stop_names[s] : "?"; }
const char *nr_fault_name(int f) { return f >= 0 && f < NR_FAULT_COUNT ? _nr_fault_names[f] : "?"; }
const char *nr_phase_name(int p) { return p >= 0 && p < NR_PHASE_COUNT ? _nr_phase_names[p] : "?"; }
const char *nr_op_mnemonic(int op) { return op >= 0 && op < NR_OP_COUNT ? nr_op_name[op] : "?"; }
const char *nr_cfg_field_name(int f) { return f >= 0 && f < NR_CFG_COUNT ? nr_cfg_name[f] : NULL; }

int nr_cfg_field_range(int f, int32_t *lo, int32_t *hi, int32_t *def)
{
    if (f < 0 || f >= NR_CFG_COUNT) return NR_ERR_ARG;
    *lo = nr_cfg_lo[f];
    *hi = nr_cfg_hi[f];
    *def = nr_cfg_default[f];
    return NR_OK;
}

int nr_decode_word(uint32_t word) { return (int)nr_decode(word); }

/* ---------------------------------------------------------------- profiling */

int nr_profile_enable(nr_machine *m)
{
    if (!m->code_n) return NR_ERR_ARG;
    if (m->prof) return NR_OK;
    m->prof = calloc(m->code_n * NR_PF_COUNT, sizeof *m->prof);
    return m->prof ? NR_OK : NR_ERR_NOMEM;
}

void nr_profile_disable(nr_machine *m)
{
    free(m->prof);
    m->prof = NULL;
}

const uint64_t *nr_profile_data(const nr_machine *m, uint64_t *words)
{
    *words = m->prof ? m->code_n : 0;
    return m->prof;
}

const char *nr_prof_counter_name(int k)
{
    static const char *const names[NR_PF_COUNT] = {
        "insns", "cycles", "stall_cycles", "mvms", "macs", "mvm_cycles", "line_pulses",
        "integrations", "compares", "decrements", "wl_switches", "wl_phases", "input_pulses",
        "samples", "shift_adds", "scan_shifts", "wv_pulses", "wv_reads", "vec_elems", "prog_wait"};
    return k >= 0 && k < NR_PF_COUNT ? names[k] : NULL;
}
