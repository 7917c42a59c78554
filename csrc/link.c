/* link.c — the link instructions of one chip: send, recv, barrier, chipid, nchips.

   A machine cannot finish a transfer on its own: the partner is another machine.  So a link
   instruction goes through three states (nr_link_state), and the system scheduler (system.c)
   moves it between them:

     NONE    → first issue attempt: check the operands, post the request (chip, address,
               length, the cycle of the attempt) and stop the run with NR_STOP_LINK;
     POSTED  → every further attempt stops again at the same cycle, until the scheduler has
               matched the request with its partner and given it an end cycle;
     GRANTED → the controller stalls until the end cycle (counted as stall cycles, like a
               sync), then stops once more so the scheduler can deliver the data;
     DONE    → the instruction retires (one cycle) and the state returns to NONE.

   A machine outside a system (n_chips = 1) never stops this way: barrier passes at once and
   send/recv fault with bad_chip, as there is no other chip to talk to. */
#include "nr_private.h"

/* the request of a send/recv (operands checked), or a barrier's */
static int _nr_link_post(nr_machine *m, const nr_insn *in, uint64_t t)
{
    uint64_t peer = 0, addr = 0, len = 0;
    if (in->op != NR_OP_BARRIER) {
        peer = m->x[in->rt];
        addr = m->x[in->rs1];
        len = m->x[in->rs2];
        if (peer >= m->n_chips || peer == m->chip_id) return _nr_fault(m, NR_FAULT_BAD_CHIP, peer);
        if (!_nr_in_mem(m, addr, len)) return _nr_fault(m, NR_FAULT_MEM_BOUNDS, addr);
    }
    m->link_state = NR_LINK_POSTED;
    m->link_op = in->op;
    m->link_peer = peer;
    m->link_addr = addr;
    m->link_len = len;
    m->link_post = t;
    m->link_end = 0;
    return _NR_BLOCK;
}

int _nr_exec_link(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost)
{
    *cost = 1;
    switch (in->op) {
    case NR_OP_CHIPID: m->x[in->rd] = m->chip_id; return _NR_DONE;
    case NR_OP_NCHIPS: m->x[in->rd] = m->n_chips; return _NR_DONE;
    case NR_OP_SEND:
    case NR_OP_RECV:
    case NR_OP_BARRIER: break;
    default: return _nr_fault(m, NR_FAULT_ILLEGAL, in->word);
    }
    switch (m->link_state) {
    case NR_LINK_NONE:
        if (in->op == NR_OP_BARRIER && m->n_chips == 1) return _NR_DONE;   /* alone: nothing to wait for */
        return _nr_link_post(m, in, t);
    case NR_LINK_POSTED: return _NR_BLOCK;
    case NR_LINK_GRANTED:
        if (t < m->link_end) {
            const uint64_t next = _nr_min(m->link_end, until);
            m->stall_cycles += next - t;
            m->next_issue = next;
            return _NR_STALL;
        }
        return _NR_BLOCK;   /* at the end cycle: the scheduler delivers, then it retires */
    case NR_LINK_DONE:
        m->link_state = NR_LINK_NONE;
        return _NR_DONE;
    default: return _nr_fault(m, NR_FAULT_ILLEGAL, in->word);
    }
}
