/* system.c — the scheduler of a multi-chip system: n machines stepped in cycle order, and the
   links between them (docs/machine.md, Systems).

   Each machine runs on its own until a link instruction stops it (link.c).  The scheduler then
   matches posted requests, grants them one at a time and delivers the data when both chips
   have reached the end cycle.  The order of grants fixes the link contention, so it must not
   depend on how far each chip happened to run: a request pair is granted only when its match
   cycle tm = max(post cycles) is below the frontier S of every chip — the earliest cycle at
   which a chip could still post (its issue cycle if it runs, its end cycle if a grant holds
   it, never if it waits or halted).  Every later match then has tm' ≥ S > tm, and ties inside
   one pass are broken by (tm, sender, receiver).  Whatever the slicing, the grants are the
   same; so are the traces. */
#include <string.h>

#include "nr_private.h"

uint64_t nr_chip_seed(uint64_t seed, uint64_t chip)
{
    if (chip == 0) return seed;   /* chip 0 of any system is the single machine */
    return _nr_mix64(seed ^ _nr_mix64((chip + 1) * 0xD1B54A32D192ED03ull));
}

static uint64_t _nr_ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

int nr_sys_init(nr_system *s, nr_machine **chips, uint64_t n, const nr_link_cfg *link,
                uint64_t cycle_ps)
{
    if (n < 1 || n > NR_MAX_CHIPS || !link || cycle_ps == 0 || link->crossings < 1 ||
        link->crossings > 16 || link->packet_bytes < 1 || link->packet_ps > (1ull << 40) ||
        link->setup_ps > (1ull << 50) || link->latency_ps > (1ull << 50))
        return NR_ERR_ARG;
    for (uint64_t k = 0; k < n; k++)
        if (!chips[k]) return NR_ERR_ARG;
    memset(s, 0, sizeof *s);
    s->n_chips = n;
    s->cycle_ps = cycle_ps;
    s->link = *link;
    for (uint64_t k = 0; k < n; k++) {
        s->chip[k] = chips[k];
        chips[k]->chip_id = k;
        chips[k]->n_chips = n;
    }
    return NR_OK;
}

uint64_t nr_sys_transfer_cycles(const nr_system *s, uint64_t bytes, uint64_t *occupancy)
{
    const nr_link_cfg *L = &s->link;
    const uint64_t packets = _nr_ceil_div(bytes, L->packet_bytes);
    const uint64_t occ = L->crossings * _nr_ceil_div(L->setup_ps + packets * L->packet_ps, s->cycle_ps);
    if (occupancy) *occupancy = occ;
    return occ + _nr_ceil_div(L->latency_ps, s->cycle_ps);
}

/* the earliest cycle at which chip m could post a new link request */
static uint64_t _nr_frontier(const nr_machine *m)
{
    if (m->halted || m->link_state == NR_LINK_POSTED) return UINT64_MAX;
    if (m->link_state == NR_LINK_GRANTED) return m->link_end;
    return _nr_max(m->cycle, m->next_issue);
}

/* the chip can make progress by running (not waiting for a match or for its partner) */
static int _nr_runnable(const nr_machine *m, uint64_t until)
{
    if (m->halted || m->cycle >= until) return 0;
    return m->link_state == NR_LINK_NONE || m->link_state == NR_LINK_DONE ||
           (m->link_state == NR_LINK_GRANTED && m->cycle < m->link_end);
}

static int _nr_arrived(const nr_machine *m, int op)
{
    return m->link_state == NR_LINK_GRANTED && m->link_op == (uint64_t)op && m->cycle >= m->link_end;
}

static void _nr_link_fault(nr_machine *m, int code, uint64_t detail)
{
    _nr_fault(m, code, detail);
    m->result.stop = NR_STOP_FAULT;
    if (m->trace) _nr_trace_fault(m, m->cycle);
}

/* data moves when both ends have reached the end cycle; a barrier ends for all at once */
static int _nr_deliver(nr_system *s)
{
    const uint64_t n = s->n_chips;
    int moved = 0;
    for (uint64_t b = 0; b < n; b++) {
        nr_machine *rx = s->chip[b];
        if (!_nr_arrived(rx, NR_OP_RECV)) continue;
        nr_machine *tx = s->chip[rx->link_peer];
        if (!_nr_arrived(tx, NR_OP_SEND) || tx->link_peer != b) continue;
        if (rx->link_len) memcpy(rx->mem + rx->link_addr, tx->mem + tx->link_addr, rx->link_len);
        rx->link_state = tx->link_state = NR_LINK_DONE;
        moved = 1;
    }
    int all = 1;
    for (uint64_t k = 0; k < n && all; k++) all = _nr_arrived(s->chip[k], NR_OP_BARRIER);
    if (all && n > 1) {
        for (uint64_t k = 0; k < n; k++) s->chip[k]->link_state = NR_LINK_DONE;
        s->barriers++;
        moved = 1;
    }
    return moved;
}

/* grants the earliest safe match, if any: 1 granted, 0 none, -1 a length mismatch (faulted) */
static int _nr_grant(nr_system *s)
{
    const uint64_t n = s->n_chips;
    uint64_t S = UINT64_MAX;
    for (uint64_t k = 0; k < n; k++) S = _nr_min(S, _nr_frontier(s->chip[k]));
    uint64_t best_tm = UINT64_MAX, best_a = 0, best_b = 0;
    int found = 0;
    for (uint64_t a = 0; a < n; a++) {
        const nr_machine *tx = s->chip[a];
        if (tx->link_state != NR_LINK_POSTED || tx->link_op != NR_OP_SEND) continue;
        const nr_machine *rx = s->chip[tx->link_peer];
        if (rx->link_state != NR_LINK_POSTED || rx->link_op != NR_OP_RECV || rx->link_peer != a) continue;
        const uint64_t tm = _nr_max(tx->link_post, rx->link_post);
        if (tm < S && (!found || tm < best_tm)) {   /* a scan in sender order keeps the tie rule */
            found = 1;
            best_tm = tm;
            best_a = a;
            best_b = tx->link_peer;
        }
    }
    int barrier = n > 1;
    uint64_t btm = 0;
    for (uint64_t k = 0; k < n && barrier; k++) {
        const nr_machine *m = s->chip[k];
        barrier = m->link_state == NR_LINK_POSTED && m->link_op == NR_OP_BARRIER;
        btm = _nr_max(btm, m->link_post);
    }
    if (barrier && btm < S && (!found || btm < best_tm)) {
        /* a barrier costs what an empty message costs and holds no link */
        const uint64_t end = btm + nr_sys_transfer_cycles(s, 0, NULL);
        for (uint64_t k = 0; k < n; k++) {
            s->chip[k]->link_state = NR_LINK_GRANTED;
            s->chip[k]->link_end = end;
        }
        return 1;
    }
    if (!found) return 0;
    nr_machine *tx = s->chip[best_a], *rx = s->chip[best_b];
    if (tx->link_len != rx->link_len) {
        _nr_link_fault(rx, NR_FAULT_LINK_SIZE, tx->link_len);
        _nr_link_fault(tx, NR_FAULT_LINK_SIZE, rx->link_len);
        s->stop_chip = best_b;
        return -1;
    }
    nr_link_stat *L = &s->links[s->link.shared ? 0 : best_a * n + best_b];
    uint64_t occ;
    const uint64_t dur = nr_sys_transfer_cycles(s, tx->link_len, &occ);
    const uint64_t start = _nr_max(best_tm, L->free_at);
    L->queue_cycles += start - best_tm;
    L->free_at = start + occ;
    L->busy_cycles += occ;
    L->transfers++;
    L->bytes += tx->link_len;
    L->wire_bytes += _nr_ceil_div(tx->link_len, s->link.packet_bytes) * s->link.packet_bytes *
                     s->link.crossings;
    tx->link_state = rx->link_state = NR_LINK_GRANTED;
    tx->link_end = rx->link_end = start + dur;
    L->latency_cycles += start + dur - best_tm;
    return 1;
}

/* Faults every waiting chip whose request can never be matched: its partner halted, a chip of
   a barrier halted, or no chip is left that could move.  Returns 1 if any chip was faulted. */
static int _nr_deadlock(nr_system *s)
{
    const uint64_t n = s->n_chips;
    int moving = 0, any_halted = 0;
    for (uint64_t k = 0; k < n; k++) {
        const nr_machine *m = s->chip[k];
        any_halted |= (int)m->halted;
        if (!m->halted && m->link_state != NR_LINK_POSTED) moving = 1;
    }
    int faulted = 0;
    for (uint64_t k = 0; k < n; k++) {
        nr_machine *m = s->chip[k];
        if (m->link_state != NR_LINK_POSTED) continue;
        const int barrier = m->link_op == NR_OP_BARRIER;
        const int dead = !moving || (barrier ? any_halted : (int)s->chip[m->link_peer]->halted);
        if (!dead) continue;
        _nr_link_fault(m, NR_FAULT_DEADLOCK, barrier ? n : m->link_peer);
        if (!faulted) s->stop_chip = k;
        faulted = 1;
    }
    return faulted;
}

static int _nr_links(nr_system *s)
{
    for (;;) {
        int moved = _nr_deliver(s);
        const int g = _nr_grant(s);
        if (g < 0) return NR_STOP_FAULT;
        if (!moved && !g) break;
    }
    return _nr_deadlock(s) ? NR_STOP_DEADLOCK : NR_STOP_NONE;
}

/* the next cycle at which chip m issues (or its grant ends) */
static uint64_t _nr_next_time(const nr_machine *m)
{
    if (m->link_state == NR_LINK_GRANTED) return m->link_end;
    return _nr_max(m->cycle, m->next_issue);
}

static int _nr_bp_pending(const nr_machine *m)
{
    const uint64_t w = m->pc >> 2;
    return m->bp_count && m->bp_skip != m->instret + 1 && w < m->code_n &&
           (m->bp_bits[w >> 6] >> (w & 63) & 1) && m->link_state != NR_LINK_GRANTED;
}

int nr_sys_run(nr_system *s, uint64_t until, int64_t step_chip, uint64_t step_target)
{
    const uint64_t n = s->n_chips;
    if (step_chip >= (int64_t)n) return NR_ERR_ARG;
    int fine = step_chip >= 0, stepping = step_chip >= 0, final = NR_STOP_CYCLE;
    for (uint64_t k = 0; k < n; k++) fine |= s->chip[k]->bp_count != 0;
    s->stop_chip = 0;
    for (;;) {
        if (stepping && s->chip[step_chip]->instret >= step_target) {
            /* the stepped chip is done: the others follow it to its cycle */
            stepping = 0;
            until = s->chip[step_chip]->cycle;
            final = NR_STOP_STEP;
            s->stop_chip = (uint64_t)step_chip;
        }
        if (stepping && s->chip[step_chip]->halted) {   /* it will never issue again */
            s->stop_chip = (uint64_t)step_chip;
            return NR_STOP_HALT;
        }
        const int r = _nr_links(s);
        if (r != NR_STOP_NONE) return r;
        uint64_t lo = UINT64_MAX;
        int all_halted = 1;
        for (uint64_t k = 0; k < n; k++) {
            const nr_machine *m = s->chip[k];
            all_halted &= (int)m->halted;
            if (_nr_runnable(m, until)) lo = _nr_min(lo, _nr_next_time(m));
        }
        if (all_halted) return NR_STOP_HALT;
        if (lo == UINT64_MAX) return final;   /* every chip is at `until`, waiting or halted */
        uint64_t H = until;
        if (fine) {
            /* one issue cycle at a time; a breakpoint due at lo stops every chip at lo */
            H = _nr_min(until, _nr_max(lo, 0) + 1);
            int bp = 0;
            for (uint64_t k = 0; k < n; k++) {
                const nr_machine *m = s->chip[k];
                if (_nr_runnable(m, until) && _nr_next_time(m) == lo && _nr_bp_pending(m)) bp = 1;
            }
            if (bp && lo < until) {
                int hit = -1;
                for (uint64_t k = 0; k < n; k++) {
                    nr_machine *m = s->chip[k];
                    if (!_nr_runnable(m, lo + 1)) continue;
                    const int due = _nr_next_time(m) == lo && _nr_bp_pending(m);
                    const int st = nr_run(m, due ? lo + 1 : lo, 0);
                    if (st == NR_STOP_BREAKPOINT && hit < 0) hit = (int)k;
                }
                if (hit >= 0) {
                    s->stop_chip = (uint64_t)hit;
                    return NR_STOP_BREAKPOINT;
                }
            }
        }
        int stop = NR_STOP_NONE;
        for (uint64_t k = 0; k < n; k++) {
            nr_machine *m = s->chip[k];
            if (!_nr_runnable(m, H)) continue;
            const uint64_t budget = stepping && (int64_t)k == step_chip ? step_target - m->instret : 0;
            const int st = nr_run(m, H, budget);
            if (st == NR_STOP_BREAKPOINT || st == NR_STOP_EBREAK || st == NR_STOP_FAULT ||
                st == NR_STOP_TRACE_FULL) {
                if (stop == NR_STOP_NONE || (stop == NR_STOP_TRACE_FULL && st != NR_STOP_TRACE_FULL)) {
                    stop = st;
                    s->stop_chip = k;
                }
                if (st != NR_STOP_TRACE_FULL) return st;
            }
        }
        if (stop != NR_STOP_NONE) return stop;   /* a full trace buffer: drain, then run on */
    }
}

uint64_t nr_sys_state_size(void) { return sizeof(nr_system); }

int nr_sys_state_save(const nr_system *s, void *buf, uint64_t size)
{
    if (size != sizeof *s) return NR_ERR_ARG;
    nr_system img = *s;
    memset(img.chip, 0, sizeof img.chip);
    img.stop_chip = 0;
    memcpy(buf, &img, sizeof img);
    return NR_OK;
}

int nr_sys_state_load(nr_system *s, const void *buf, uint64_t size)
{
    if (size != sizeof *s) return NR_ERR_SNAPSHOT;
    nr_system img;
    memcpy(&img, buf, sizeof img);
    if (img.n_chips != s->n_chips || img.cycle_ps != s->cycle_ps ||
        memcmp(&img.link, &s->link, sizeof img.link) != 0)
        return NR_ERR_SNAPSHOT;
    for (uint64_t i = 0; i < NR_MAX_CHIPS * NR_MAX_CHIPS; i++)
        if (img.links[i].free_at > (UINT64_C(1) << 62) || img.links[i].busy_cycles > (UINT64_C(1) << 62))
            return NR_ERR_CORRUPT;
    memcpy(img.chip, s->chip, sizeof img.chip);
    *s = img;
    return NR_OK;
}
