/* run.c — the controller's run loop: issue timing, the scalar ALU, loads and stores, branches,
   and the completion of core operations at the cycle they end.

   The loop keeps the issue cycle, pc and instruction count in locals and handles the common
   case with a single compare of the issue cycle against `limit`: the earlier of the cycle
   target and the next core completion, or 0 when breakpoints are set (every instruction then
   takes the slow path that checks them).  Retiring costs one more compare, against the
   instruction budget.  Vector and chip instructions go to their own files. */
#include <string.h>

#include "nr_private.h"

int _nr_fault(nr_machine *m, int code, uint64_t detail)
{
    m->result.fault = (uint64_t)code;
    m->result.fault_pc = m->pc;
    m->result.fault_detail = detail;
    return _NR_FAULTED;
}

void _nr_update_next_event(nr_machine *m)
{
    uint64_t e = UINT64_MAX;
    for (int c = 0; c < NR_NUM_CORES; c++)
        if (m->core[c].pend_kind != NR_PEND_NONE && m->core[c].pend_end < e) e = m->core[c].pend_end;
    m->next_event = e;
}

/* Completes every core operation ending at or before t, in order of end cycle, then core id. */
void _nr_complete_through(nr_machine *m, uint64_t t)
{
    while (m->next_event <= t) {
        const uint64_t e = m->next_event;
        for (int c = 0; c < NR_NUM_CORES; c++)
            if (m->core[c].pend_kind != NR_PEND_NONE && m->core[c].pend_end == e) _nr_complete_core(m, c);
        _nr_update_next_event(m);
    }
}

/* The machine's clock stops at t: analog conductances are materialised as relaxed by then, so
   the state at t is the same however the run got there (a normal stop or a fault). */
typedef struct { nr_machine *m; int ids[NR_NUM_CORES]; } _nr_settle_job;

static void _nr_settle_core(void *ctx, int k)
{
    _nr_settle_job *jb = ctx;
    _nr_relax_sync(jb->m, jb->ids[k], jb->m->cycle);
}

static void _nr_settle(nr_machine *m, uint64_t t)
{
    m->cycle = t;
    if (m->cfg.model != NR_MODEL_ANALOG) return;
    _nr_settle_job jb = {m, {0}};
    int n = 0;
    for (int c = 0; c < NR_NUM_CORES; c++)
        if (_nr_relax_due(m, c, t)) jb.ids[n++] = c;
    _nr_parallel(m, n, _nr_settle_core, &jb);
}

static inline int _nr_bp_hit(const nr_machine *m, uint64_t pc)
{
    uint64_t w = pc >> 2;
    return w < m->code_n && (m->bp_bits[w >> 6] >> (w & 63) & 1);
}

#define LOAD(type, conv)                                                          \
    do {                                                                          \
        uint64_t a_ = x[in->rs1] + (uint64_t)(int64_t)in->imm;                    \
        if (!_nr_in_mem(m, a_, sizeof(type))) { fcode = NR_FAULT_MEM_BOUNDS; fdet = a_; goto fault; } \
        if (a_ & (sizeof(type) - 1)) { fcode = NR_FAULT_MEM_ALIGN; fdet = a_; goto fault; }      \
        if (checking && _nr_chk_access(m, pc, t, 0, a_, sizeof(type))) { fcode = NR_FAULT_CHECK; fdet = a_; goto fault; } \
        type v_;                                                                  \
        memcpy(&v_, mem + a_, sizeof(type));                                      \
        x[in->rd] = (uint64_t)(conv)v_;                                           \
        cost = 1 + t_load;                                                        \
    } while (0)

#define STORE(type)                                                               \
    do {                                                                          \
        uint64_t a_ = x[in->rs1] + (uint64_t)(int64_t)in->imm;                    \
        if (!_nr_in_mem(m, a_, sizeof(type))) { fcode = NR_FAULT_MEM_BOUNDS; fdet = a_; goto fault; } \
        if (a_ & (sizeof(type) - 1)) { fcode = NR_FAULT_MEM_ALIGN; fdet = a_; goto fault; }      \
        if (checking && _nr_chk_access(m, pc, t, 1, a_, sizeof(type))) { fcode = NR_FAULT_CHECK; fdet = a_; goto fault; } \
        type v_ = (type)x[in->rt];                                                \
        memcpy(mem + a_, &v_, sizeof(type));                                      \
        if (checking) _nr_chk_written(m->check, a_, sizeof(type));                \
    } while (0)

#define BRANCH(cond)                                                              \
    do {                                                                          \
        if (cond) { next_pc = pc + (uint64_t)(int64_t)in->imm; cost = 1 + t_branch; } \
    } while (0)

/* The loop is compiled twice: `checking` is a constant in each copy, so the copy without the
   program checker has no trace of it (the same code as before the checker existed). */
static inline __attribute__((always_inline)) int _nr_run_loop(nr_machine *m, uint64_t until,
                                                              uint64_t max_insns, const int checking)
{
    m->result.stop = NR_STOP_NONE;
    m->result.fault = NR_FAULT_NONE;
    m->result.fault_pc = 0;
    m->result.fault_detail = NR_NO_DETAIL;
    if (m->halted) {
        m->result.stop = NR_STOP_HALT;
        return NR_STOP_HALT;
    }
    if (!m->code) {
        m->pc = 0;
        m->result.stop = NR_STOP_FAULT;
        _nr_fault(m, NR_FAULT_PC_BOUNDS, NR_NO_DETAIL);
        return NR_STOP_FAULT;
    }
    if (until < m->cycle) until = m->cycle;   /* time never runs backwards */
    uint64_t *const x = m->x;
    uint8_t *const mem = m->mem;
    const nr_insn *const code = m->code;
    const uint64_t code_bytes = m->code_n * 4;
    const uint64_t t_load = m->cfg.t_load, t_branch = m->cfg.t_branch;
    const uint64_t t_mul = m->cfg.t_mul, t_div = m->cfg.t_div;
    /* with breakpoints set, limit stays 0 and every instruction takes the slow path below */
    const int bp_any = m->bp_count != 0;
    uint64_t *const opc = m->op_count;
    nr_trace *const tr = m->trace;
    uint64_t t = m->next_issue, pc = m->pc, prev_pc = m->prev_pc, instret = m->instret;
    uint64_t stop_at = max_insns ? instret + max_insns : UINT64_MAX;
#define _NR_LIMIT() (bp_any ? 0 : _nr_min(until, m->next_event))
    uint64_t limit = _NR_LIMIT();
    int stop = NR_STOP_CYCLE, fcode = 0;
    uint64_t fdet = 0, slow_cost;

    for (;;) {
        /* the one test of the fast path: no completion due, target not reached, no breakpoints */
        if (t >= limit) {
            if (t >= until) break;
            if (m->next_event <= t) _nr_complete_through(m, t);
            limit = _NR_LIMIT();
            /* a breakpoint fires once per arrival: not again after its own stop or a stall */
            if (bp_any && m->bp_skip != instret + 1 && _nr_bp_hit(m, pc)) {
                stop = NR_STOP_BREAKPOINT;
                m->bp_skip = instret + 1;
                until = t;
                break;
            }
        }
        if (pc >= code_bytes) { fcode = NR_FAULT_PC_BOUNDS; fdet = prev_pc; goto fault; }
        const nr_insn *in = &code[pc >> 2];
        uint64_t cost = 1, next_pc = pc + 4;
        const uint64_t trace_mark = tr ? tr->n : 0;   /* records this instruction will cause */
        uint64_t insn_stall = 0;
        switch ((nr_op)in->op) {
        case NR_OP_NOP: break;
        /* halt goes the chip instructions' way (default below): it drains pending core work
           first, like `sync x0` (docs/machine.md), and a rare instruction stays off this path */
        case NR_OP_EBREAK: stop = NR_STOP_EBREAK; stop_at = instret + 1; break;
        case NR_OP_ADD: x[in->rd] = x[in->rs1] + x[in->rs2]; break;
        case NR_OP_SUB: x[in->rd] = x[in->rs1] - x[in->rs2]; break;
        case NR_OP_AND: x[in->rd] = x[in->rs1] & x[in->rs2]; break;
        case NR_OP_OR: x[in->rd] = x[in->rs1] | x[in->rs2]; break;
        case NR_OP_XOR: x[in->rd] = x[in->rs1] ^ x[in->rs2]; break;
        case NR_OP_SLL: x[in->rd] = x[in->rs1] << (x[in->rs2] & 63); break;
        case NR_OP_SRL: x[in->rd] = x[in->rs1] >> (x[in->rs2] & 63); break;
        case NR_OP_SRA: x[in->rd] = (uint64_t)((int64_t)x[in->rs1] >> (x[in->rs2] & 63)); break;
        case NR_OP_SLT: x[in->rd] = (int64_t)x[in->rs1] < (int64_t)x[in->rs2]; break;
        case NR_OP_SLTU: x[in->rd] = x[in->rs1] < x[in->rs2]; break;
        case NR_OP_MUL: x[in->rd] = x[in->rs1] * x[in->rs2]; cost = t_mul; break;
        case NR_OP_DIV: {
            int64_t p = (int64_t)x[in->rs1], q = (int64_t)x[in->rs2];
            x[in->rd] = q == 0 ? UINT64_MAX : (q == -1 ? (uint64_t)0 - (uint64_t)p : (uint64_t)(p / q));
            cost = t_div;
            break;
        }
        case NR_OP_DIVU: {
            uint64_t q = x[in->rs2];
            x[in->rd] = q == 0 ? UINT64_MAX : x[in->rs1] / q;
            cost = t_div;
            break;
        }
        case NR_OP_REM: {
            int64_t p = (int64_t)x[in->rs1], q = (int64_t)x[in->rs2];
            x[in->rd] = q == 0 ? (uint64_t)p : (q == -1 ? 0 : (uint64_t)(p % q));
            cost = t_div;
            break;
        }
        case NR_OP_REMU: {
            uint64_t q = x[in->rs2];
            x[in->rd] = q == 0 ? x[in->rs1] : x[in->rs1] % q;
            cost = t_div;
            break;
        }
        case NR_OP_ADDI: x[in->rd] = x[in->rs1] + (uint64_t)(int64_t)in->imm; break;
        case NR_OP_ANDI: x[in->rd] = x[in->rs1] & (uint64_t)(int64_t)in->imm; break;
        case NR_OP_ORI: x[in->rd] = x[in->rs1] | (uint64_t)(int64_t)in->imm; break;
        case NR_OP_XORI: x[in->rd] = x[in->rs1] ^ (uint64_t)(int64_t)in->imm; break;
        case NR_OP_SLTI: x[in->rd] = (int64_t)x[in->rs1] < (int64_t)in->imm; break;
        case NR_OP_SLTIU: x[in->rd] = x[in->rs1] < (uint64_t)(int64_t)in->imm; break;
        case NR_OP_SLLI: x[in->rd] = x[in->rs1] << in->c; break;
        case NR_OP_SRLI: x[in->rd] = x[in->rs1] >> in->c; break;
        case NR_OP_SRAI: x[in->rd] = (uint64_t)((int64_t)x[in->rs1] >> in->c); break;
        case NR_OP_MOVI: x[in->rd] = (uint64_t)(int64_t)in->imm; break;
        case NR_OP_SHORI: x[in->rd] = x[in->rd] << 16 | (uint64_t)(uint32_t)in->imm; break;
        case NR_OP_LB: LOAD(int8_t, int64_t); break;
        case NR_OP_LBU: LOAD(uint8_t, uint64_t); break;
        case NR_OP_LH: LOAD(int16_t, int64_t); break;
        case NR_OP_LHU: LOAD(uint16_t, uint64_t); break;
        case NR_OP_LW: LOAD(int32_t, int64_t); break;
        case NR_OP_LWU: LOAD(uint32_t, uint64_t); break;
        case NR_OP_LD: LOAD(uint64_t, uint64_t); break;
        case NR_OP_SB: STORE(uint8_t); break;
        case NR_OP_SH: STORE(uint16_t); break;
        case NR_OP_SW: STORE(uint32_t); break;
        case NR_OP_SD: STORE(uint64_t); break;
        case NR_OP_BEQ: BRANCH(x[in->rt] == x[in->rs1]); break;
        case NR_OP_BNE: BRANCH(x[in->rt] != x[in->rs1]); break;
        case NR_OP_BLT: BRANCH((int64_t)x[in->rt] < (int64_t)x[in->rs1]); break;
        case NR_OP_BGE: BRANCH((int64_t)x[in->rt] >= (int64_t)x[in->rs1]); break;
        case NR_OP_BLTU: BRANCH(x[in->rt] < x[in->rs1]); break;
        case NR_OP_BGEU: BRANCH(x[in->rt] >= x[in->rs1]); break;
        case NR_OP_JAL:
            x[in->rd] = pc + 4;
            next_pc = pc + (uint64_t)(int64_t)in->imm;
            cost = 1 + t_branch;
            break;
        case NR_OP_JALR: {
            uint64_t target = (x[in->rs1] + (uint64_t)(int64_t)in->imm) & ~(uint64_t)3;
            x[in->rd] = pc + 4;
            next_pc = target;
            cost = 1 + t_branch;
            break;
        }
        case NR_OP_RDCYCLE: x[in->rd] = t; break;
        case NR_OP_RDINSTRET: x[in->rd] = instret; break;
        case NR_OP_SETVL: m->vl = x[in->rs1]; break;
        case NR_OP_SETVLI: m->vl = (uint64_t)(uint32_t)in->imm; break;
        case NR_OP_ILLEGAL: fcode = NR_FAULT_ILLEGAL; fdet = in->word; goto fault;
        default: {
            /* vector and chip instructions and halt: the handlers see a consistent machine */
            m->pc = pc;
            m->next_issue = t;
            m->instret = instret;
            const int grp = nr_op_group[in->op];
            int r = grp == NR_GROUP_VECTOR ? _nr_exec_vector(m, in, &slow_cost)
                  : grp == NR_GROUP_LINK ? _nr_exec_link(m, in, t, until, &slow_cost)
                                         : _nr_exec_chip(m, in, t, until, &slow_cost);
            if (r == _NR_FAULTED) goto faulted;
            if (r == _NR_BLOCK) {
                /* waits for another chip: the machine stops at t, before the instruction,
                   and the system scheduler runs it again once the link has moved on */
                stop = NR_STOP_LINK;
                m->bp_skip = instret + 1;
                until = t;
                goto link_wait;   /* out of the switch and the loop */
            }
            if (r == _NR_STALL) {
                /* retried at m->next_issue; its breakpoint (if any) already had its chance */
                t = m->next_issue;
                m->bp_skip = instret + 1;
                limit = 0;
                continue;
            }
            cost = slow_cost;
            if (in->op == NR_OP_HALT) {     /* every core is idle: now it halts */
                stop = NR_STOP_HALT;
                m->halted = 1;
                next_pc = pc;
                stop_at = instret + 1;
            }
            insn_stall = m->stall_cycles - m->stall_mark;
            m->stall_mark = m->stall_cycles;
            limit = _NR_LIMIT();
            break;
        }
        }
        /* retire */
        opc[in->op]++;
        if (m->prof) {
            uint64_t *pf = &m->prof[(pc >> 2) * NR_PF_COUNT];
            pf[NR_PF_INSNS]++;
            pf[NR_PF_CYCLES] += cost + insn_stall;
            pf[NR_PF_STALL] += insn_stall;
        }
        if (tr) {
            _nr_trace_insn(m, in, pc, t, trace_mark, insn_stall);
            /* pause while the buffer still has its margin; the driver drains and runs on */
            if (_nr_trace_full(m) && stop == NR_STOP_CYCLE) {
                stop = NR_STOP_TRACE_FULL;
                stop_at = instret + 1;
            }
        }
        prev_pc = pc;
        pc = next_pc;
        t += cost;
        if (++instret == stop_at) {
            if (stop == NR_STOP_CYCLE) stop = NR_STOP_STEP;
            until = t;   /* finish the run at the cycle after the instruction */
            limit = 0;
        }
    }
link_wait:
#undef _NR_LIMIT
    /* t ≥ until (or a breakpoint at t = until): complete what ends by then */
    _nr_complete_through(m, until);
    _nr_settle(m, until);
    m->next_issue = t;
    m->pc = pc;
    m->prev_pc = prev_pc;
    m->instret = instret;
    m->result.stop = (uint64_t)stop;
    return stop;

fault:
    m->pc = pc;
    _nr_fault(m, fcode, fdet);
faulted:
    if (tr) _nr_trace_fault(m, t);
    /* the faulting instruction never issued: the state is that of cycle t */
    m->next_issue = t;
    _nr_settle(m, t);
    m->prev_pc = prev_pc;
    m->instret = instret;
    m->result.stop = NR_STOP_FAULT;
    return NR_STOP_FAULT;
}

int nr_run(nr_machine *m, uint64_t until, uint64_t max_insns)
{
    return m->check ? _nr_run_loop(m, until, max_insns, 1) : _nr_run_loop(m, until, max_insns, 0);
}
