/* trace.c — commit-log trace records: one per retired instruction, one per core event.

   Records go to a buffer the driver drains in bulk.  Every hook is behind a test of m->trace,
   so a run without tracing pays one predictable branch per instruction.  What a record holds is
   fixed when the event happens (the outputs of an MVM are known when it issues), so the same
   run gives the same records however it is sliced into nr_run calls. */
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

int nr_trace_enable(nr_machine *m, uint64_t capacity)
{
    if (capacity <= NR_TRACE_MARGIN || capacity > (1ull << 28)) return NR_ERR_ARG;
    nr_trace_disable(m);
    nr_trace *tr = calloc(1, sizeof *tr);
    nr_trace_rec *buf = calloc(capacity, sizeof *buf);
    if (!tr || !buf) {
        free(tr);
        free(buf);
        return NR_ERR_NOMEM;
    }
    tr->buf = buf;
    tr->cap = capacity;
    m->trace = tr;
    return NR_OK;
}

void nr_trace_disable(nr_machine *m)
{
    if (!m->trace) return;
    free(m->trace->buf);
    free(m->trace);
    m->trace = NULL;
}

uint64_t nr_trace_drain(nr_machine *m, nr_trace_rec *dst, uint64_t max)
{
    nr_trace *tr = m->trace;
    if (!tr) return 0;
    uint64_t n = tr->n < max ? tr->n : max;
    memcpy(dst, tr->buf, n * sizeof *dst);
    memmove(tr->buf, tr->buf + n, (tr->n - n) * sizeof *dst);
    tr->n -= n;
    return n;
}

int _nr_trace_full(const nr_machine *m)
{
    return m->trace->n + NR_TRACE_MARGIN >= m->trace->cap;
}

uint32_t _nr_fnv1a(const void *data, uint64_t n)
{
    const uint8_t *p = data;
    uint32_t h = 0x811C9DC5u;
    for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x01000193u;
    return h;
}

/* the next free record, zeroed; the margin guarantees room (a full buffer keeps the last slot) */
static nr_trace_rec *_nr_push(nr_machine *m, int kind, uint64_t cycle)
{
    nr_trace *tr = m->trace;
    nr_trace_rec *r = &tr->buf[tr->n < tr->cap ? tr->n++ : tr->cap - 1];
    memset(r, 0, sizeof *r);
    r->kind = (uint16_t)kind;
    r->cycle = cycle;
    return r;
}

nr_trace_rec *_nr_trace_push(nr_machine *m, int kind, uint64_t cycle) { return _nr_push(m, kind, cycle); }

/* The instruction's record goes before the core events it caused (records mark … n−1), so a
   trace reads as cause, then effects. */
void _nr_trace_insn(nr_machine *m, const nr_insn *in, uint64_t pc, uint64_t t, uint64_t mark,
                    uint64_t stall)
{
    nr_trace *tr = m->trace;
    const uint64_t caused = tr->n - mark;
    nr_trace_rec *r = _nr_push(m, NR_TR_INSN, t);
    if (caused) {
        nr_trace_rec rec = *r;
        memmove(&tr->buf[mark + 1], &tr->buf[mark], caused * sizeof rec);
        tr->buf[mark] = rec;
        r = &tr->buf[mark];
    }
    r->pc = (uint32_t)pc;
    r->word = in->word;
    r->stall = (uint32_t)stall;
    const int op = in->op;
    if (in->rd != NR_XSINK && _nr_writes_rd(op)) {
        r->rd = (uint8_t)(in->rd + 1);
        r->a = m->x[in->rd];
    }
    uint64_t addr = 0, len = 0;
    /* the memory an instruction wrote, from the table: a store's size=, or the vector operand
       addressed by rd (mem= in the table) */
    if (nr_op_size[op] && !_nr_writes_rd(op)) {
        addr = m->x[in->rs1] + (uint64_t)(int64_t)in->imm;
        len = nr_op_size[op];
    } else if (nr_op_mem_dest[op] != NR_MEM_NONE) {
        addr = m->x[in->rd];
        len = m->vl * _nr_dsize[_nr_mem_dtype(in, nr_op_mem_dest[op])];
        const uint64_t rows = _nr_rows_dest_len(m, in);   /* the row-strided ops span BN rows */
        if (rows != UINT64_MAX) len = rows;
    } else if (op == NR_OP_RECV) {
        addr = m->link_addr;   /* the block a receive wrote */
        len = m->link_len;
    }
    if (len && _nr_in_mem(m, addr, len)) {
        r->b = addr;
        r->mlen = (uint32_t)len;
        r->digest = _nr_fnv1a(&m->mem[addr], len);
    }
}

/* A core operation starts: its record, then one record per phase segment (for waveforms). */
void _nr_trace_start(nr_machine *m, int id, int kind, uint64_t t, uint64_t end, uint64_t b,
                     uint64_t queued, const void *payload, uint64_t len)
{
    nr_core *c = &m->core[id];
    c->pend_op = (uint64_t)kind;
    if (!m->trace) return;
    nr_trace_rec *r = _nr_push(m, kind, t);
    r->core = (uint8_t)id;
    r->a = end;
    r->b = b;
    r->pc = (uint32_t)m->pc;
    r->word = m->pc / 4 < m->code_n ? m->words[m->pc / 4] : 0;
    r->stall = (uint32_t)queued;
    r->mlen = (uint32_t)len;
    if (payload && len) r->digest = _nr_fnv1a(payload, len);
    for (uint64_t i = 0; i < c->n_phase && i < NR_MAX_PHASES; i++) {
        nr_trace_rec *p = _nr_push(m, NR_TR_PHASE, c->phase_at[i]);
        p->core = (uint8_t)id;
        p->a = c->phase_code[i];
    }
}

void _nr_trace_end(nr_machine *m, int id, uint64_t addr, uint64_t len)
{
    const nr_core *c = &m->core[id];
    nr_trace_rec *r = _nr_push(m, NR_TR_END, c->pend_end);
    r->core = (uint8_t)id;
    r->a = c->pend_op;
    if (len) {
        r->b = addr;
        r->mlen = (uint32_t)len;
        r->digest = _nr_fnv1a(&m->mem[addr], len);
    }
}

void _nr_trace_power_off(nr_machine *m, int id, uint64_t t)
{
    nr_trace_rec *r = _nr_push(m, NR_TR_POWER_OFF, t);
    r->core = (uint8_t)id;
    r->pc = (uint32_t)m->pc;
    r->word = m->pc / 4 < m->code_n ? m->words[m->pc / 4] : 0;
}

void _nr_trace_fault(nr_machine *m, uint64_t t)
{
    nr_trace_rec *r = _nr_push(m, NR_TR_FAULT, t);
    r->a = m->result.fault;
    r->b = m->result.fault_detail;
    r->pc = (uint32_t)m->result.fault_pc;
    r->word = m->pc / 4 < m->code_n ? m->words[m->pc / 4] : 0;
}
