/* snapshot.c — the machine as a flat byte image, so a snapshot is a copy and a restore puts
   back exactly that state (the debugger's reverse steps, the tests' state comparisons).
   All fields of nr_machine are 64-bit or arrays of even length, so the struct has no padding
   and two machines in the same state give byte-identical images. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

/* layout: header, the struct with its pointers and run result zeroed, data memory, program words.
   Breakpoints are debugger state, not machine state: a restore keeps the current ones when
   the program has the same length and clears them otherwise. */
typedef struct {
    char magic[8];
    uint64_t struct_size;
    uint64_t mem_size;
    uint64_t code_n;
} _nr_snap_header;

static const char _nr_snap_magic[8] = {'N', 'R', '4', '8', 'S', 'N', 'P', '1'};

uint64_t nr_snapshot_size(const nr_machine *m)
{
    return sizeof(_nr_snap_header) + sizeof(nr_machine) + m->cfg.mem_size + m->code_n * 4;
}

int nr_snapshot_save(const nr_machine *m, void *buf, uint64_t size)
{
    if (size != nr_snapshot_size(m)) return NR_ERR_ARG;
    uint8_t *p = buf;
    _nr_snap_header h;
    memcpy(h.magic, _nr_snap_magic, 8);
    h.struct_size = sizeof(nr_machine);
    h.mem_size = m->cfg.mem_size;
    h.code_n = m->code_n;
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    nr_machine *img = (nr_machine *)p;
    memcpy(img, m, sizeof *m);
    img->mem = NULL;
    img->words = NULL;
    img->code = NULL;
    img->bp_bits = NULL;
    img->bp_count = 0;
    img->trace = NULL;
    img->prof = NULL;
    img->check = NULL;
    memset(img->rcache, 0, sizeof img->rcache);
    img->host_ahead = 0;
    memset(img->epoch_memo, 0, sizeof img->epoch_memo);
    memset(&img->result, 0, sizeof img->result);   /* how the last run ended is not state */
    p += sizeof *m;
    memcpy(p, m->mem, m->cfg.mem_size);
    p += m->cfg.mem_size;
    if (m->code_n) memcpy(p, m->words, m->code_n * 4);
    return NR_OK;
}

/* A snapshot is untrusted input: every field the core uses as an index, a length or a state
   code must hold a value the core itself could have produced, or a later run would read or write
   outside its arrays.  Times are bounded so that no sum of a time and a duration can wrap. */
#define _NR_SNAP_TIME_MAX (UINT64_C(1) << 62)

static int _nr_time_ok(uint64_t t) { return t <= _NR_SNAP_TIME_MAX; }

static int _nr_snap_core_ok(const nr_core *c, uint64_t mem_size)
{
    if (c->powered > 1 || c->arrays_dirty > 1 || c->has_prog > 1) return 0;
    if (!_nr_time_ok(c->busy_until) || !_nr_time_ok(c->op_start) || c->op_start > c->busy_until ||
        !_nr_time_ok(c->pow_since) || !_nr_time_ok(c->pend_end))
        return 0;
    for (int f = 0; f < NR_CFG_COUNT; f++)
        if (c->cfg[f] < nr_cfg_lo[f] || c->cfg[f] > nr_cfg_hi[f]) return 0;
    for (int f = NR_CFG_COUNT; f < NR_CFG_SLOTS; f++)
        if (c->cfg[f] != 0) return 0;
    if (c->n_phase > NR_MAX_PHASES) return 0;
    if (c->key_stride > UINT32_MAX || c->key_adv > UINT32_MAX) return 0;   /* bkey's range (key counters: any value) */
    for (int q = 0; q < NR_REG_LEN; q++)   /* IF charges: finite and inside the clamp */
        if (!(fabs(c->if_u[q]) <= 1099511627776.0)) return 0;
    for (uint64_t i = 0; i < c->n_phase; i++)
        if (c->phase_code[i] >= NR_PHASE_COUNT || !_nr_time_ok(c->phase_at[i])) return 0;
    if (!(c->t_prog_s >= 0 && c->t_prog_s < 1e300)) return 0;   /* also refuses NaN */
    const uint64_t lo = c->pend_lo, n = c->pend_n;
    switch (c->pend_kind) {
    case NR_PEND_NONE: return 1;
    case NR_PEND_SCAN_IN_H: case NR_PEND_SCAN_IN_V: case NR_PEND_MVM_H: case NR_PEND_MVM_V:
        break;
    case NR_PEND_SCAN_OUT:
        if (c->pend_dtype >= 4 || n > NR_REG_LEN) return 0;
        if (!(c->pend_addr < mem_size && n * _nr_dsize[c->pend_dtype] <= mem_size - c->pend_addr))
            return 0;
        break;
    case NR_PEND_PROGRAM: {
        /* the analog completion re-runs write-verify on the core's window: it must be the
           window captured at issue */
        const int32_t *k = c->cfg;
        if (lo != (uint64_t)k[NR_CFG_ROW0] || n != (uint64_t)k[NR_CFG_NROWS] ||
            c->pend_col0 != (uint64_t)k[NR_CFG_COL0] || c->pend_ncols != (uint64_t)k[NR_CFG_NCOLS])
            return 0;
        if (lo + n > NR_LOGICAL_ROWS || c->pend_col0 + c->pend_ncols > NR_CORE_COLS) return 0;
        return c->pend_op < NR_TR_COUNT && c->pend_pulses < _NR_SNAP_TIME_MAX;
    }
    case NR_PEND_UPDATE:
        return n == 0 && c->pend_op < NR_TR_COUNT;
    case NR_PEND_REFRESH:
        /* the completion copies g_prog into the window captured at issue */
        if (lo + n > NR_LOGICAL_ROWS || c->pend_col0 + c->pend_ncols > NR_CORE_COLS) return 0;
        return c->pend_op < NR_TR_COUNT && c->pend_pulses < _NR_SNAP_TIME_MAX;
    default: return 0;
    }
    return lo <= NR_REG_LEN && n <= NR_REG_LEN - lo && c->pend_op < NR_TR_COUNT;
}

static int _nr_snap_ok(const nr_machine *s, uint64_t mem_size, uint64_t code_n)
{
    if (s->pc % 4 || s->pc > code_n * 4 || s->halted > 1) return 0;
    if (!_nr_time_ok(s->cycle) || !_nr_time_ok(s->next_issue) || !_nr_time_ok(s->programmer_free))
        return 0;
    for (int k = 0; k < NR_NUM_CHAINS; k++)
        if (!_nr_time_ok(s->chain_free[k])) return 0;
    if (s->bn < 1 || s->bn > 65535) return 0;   /* bcount's range */
    if (s->stall_mark > s->stall_cycles || !(s->age_s >= 0 && s->age_s < 1e300)) return 0;
    /* a chip's place in a system and its link request (link.c) */
    if (s->n_chips < 1 || s->n_chips > NR_MAX_CHIPS || s->chip_id >= s->n_chips ||
        s->link_state >= NR_LINK_STATE_COUNT || s->link_peer >= s->n_chips ||
        !_nr_time_ok(s->link_post) || !_nr_time_ok(s->link_end))
        return 0;
    if (s->link_state != NR_LINK_NONE &&
        ((s->link_op != NR_OP_SEND && s->link_op != NR_OP_RECV && s->link_op != NR_OP_BARRIER) ||
         !(s->link_addr <= mem_size && s->link_len <= mem_size - s->link_addr)))
        return 0;
    /* every retired instruction is counted once under its opcode */
    uint64_t ops = 0;
    for (int i = 0; i < NR_OP_COUNT; i++) {
        if (s->op_count[i] > s->instret) return 0;
        ops += s->op_count[i];
    }
    if (ops != s->instret) return 0;
    for (int c = 0; c < NR_NUM_CORES; c++)
        if (!_nr_snap_core_ok(&s->core[c], mem_size)) return 0;
    return 1;
}

int nr_snapshot_load(nr_machine *m, const void *buf, uint64_t size)
{
    const uint8_t *p = buf;
    _nr_snap_header h;
    if (size < sizeof h) return NR_ERR_SNAPSHOT;
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, _nr_snap_magic, 8) != 0 || h.struct_size != sizeof(nr_machine) ||
        h.mem_size != m->cfg.mem_size || h.code_n > NR_MAX_CODE_WORDS ||
        size != sizeof h + sizeof(nr_machine) + h.mem_size + h.code_n * 4)
        return NR_ERR_SNAPSHOT;
    p += sizeof h;
    /* a machine keeps its configuration: a snapshot of another one (model, seed, timing) would
       leave the driver describing a machine it no longer has */
    if (memcmp(&((const nr_machine *)p)->cfg, &m->cfg, sizeof m->cfg) != 0) return NR_ERR_SNAPSHOT;
    /* the struct image may sit unaligned in the caller's buffer: check a copy */
    nr_machine *img = malloc(sizeof *img);
    if (!img) return NR_ERR_NOMEM;
    memcpy(img, p, sizeof *img);
    const int ok = _nr_snap_ok(img, h.mem_size, h.code_n);
    free(img);
    if (!ok) return NR_ERR_CORRUPT;
    const uint8_t *words_src = p + sizeof(nr_machine) + h.mem_size;
    uint32_t *words = m->words;
    nr_insn *code = m->code;
    uint64_t *bp = m->bp_bits, bp_count = m->bp_count;
    nr_trace *trace = m->trace;
    uint64_t *prof = m->prof;
    nr_check *check = m->check;
    struct nr_relax_cache *rcache[NR_NUM_CORES];   /* keyed by value: valid for any state */
    memcpy(rcache, m->rcache, sizeof rcache);
    const uint64_t host_ahead = m->host_ahead;
    double epoch_memo[NR_NUM_CORES][3];
    memcpy(epoch_memo, m->epoch_memo, sizeof epoch_memo);
    if (h.code_n != m->code_n) {
        free(prof);   /* a profile of another program */
        prof = NULL;
        words = h.code_n ? malloc(h.code_n * sizeof *words) : NULL;
        code = h.code_n ? malloc(h.code_n * sizeof *code) : NULL;
        bp = h.code_n ? calloc((h.code_n + 63) / 64, sizeof *bp) : NULL;
        if (h.code_n && (!words || !code || !bp)) {
            free(words);
            free(code);
            free(bp);
            return NR_ERR_NOMEM;
        }
        free(m->words);
        free(m->code);
        free(m->bp_bits);
        bp_count = 0;
    }
    uint8_t *mem = m->mem;
    memcpy(m, p, sizeof *m);
    m->mem = mem;
    m->words = words;
    m->code = code;
    m->bp_bits = bp;
    m->bp_count = bp_count;
    m->trace = trace;
    m->prof = prof;
    m->check = check;
    memcpy(m->rcache, rcache, sizeof rcache);
    m->host_ahead = host_ahead;
    memcpy(m->epoch_memo, epoch_memo, sizeof epoch_memo);
    _nr_update_next_event(m);   /* derived state: recomputed rather than trusted */
    memcpy(mem, p + sizeof(nr_machine), h.mem_size);
    if (h.code_n) {
        memcpy(words, words_src, h.code_n * 4);
        for (uint64_t i = 0; i < h.code_n; i++) _nr_predecode(words[i], &code[i]);
    }
    return NR_OK;
}
