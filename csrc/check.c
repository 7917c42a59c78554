/* check.c — the program checker (docs/machine.md, Program checker): memory accesses that cross
   the end of the data symbol they start in, reads of bytes nothing ever wrote, and `sync` on an
   empty core mask.

   The checker is off unless nr_check_enable attached one (m->check != NULL): nr_run then runs a
   copy of its loop compiled without the load/store checks (run.c), and the chip and vector
   handlers pay one branch per instruction, so benchmarks with the checker off are unchanged.  When on, every byte of data
   memory has a "written" bit (the image's data segments, stores, scan-outs at completion, vector
   results and host writes set it) and every access is looked up among the symbol extents the
   driver passed (sorted, disjoint [lo, hi) ranges).  Each (pc, kind) is recorded once, with the
   address, length and symbol of its first occurrence; `total` counts every occurrence.  In
   strict mode a diagnostic is a fault (NR_FAULT_CHECK) raised before the instruction changes
   anything (the caller raises it when a check returns 1). */
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

void nr_check_disable(nr_machine *m)
{
    nr_check *k = m->check;
    if (!k) return;
    free(k->sym_lo);
    free(k->sym_hi);
    free(k->written);
    free(k->seen);
    free(k->ev);
    free(k);
    m->check = NULL;
}

int nr_check_enable(nr_machine *m, const uint64_t *lo, const uint64_t *hi, uint64_t n_sym,
                    int strict, uint64_t capacity)
{
    if (capacity == 0 || capacity > (1u << 24) || n_sym > (1u << 24)) return NR_ERR_ARG;
    for (uint64_t i = 0; i < n_sym; i++)
        if (lo[i] >= hi[i] || hi[i] > m->cfg.mem_size || (i && lo[i] < hi[i - 1])) return NR_ERR_ARG;
    nr_check_disable(m);
    nr_check *k = calloc(1, sizeof *k);
    if (!k) return NR_ERR_NOMEM;
    k->sym_lo = malloc((n_sym ? n_sym : 1) * sizeof *k->sym_lo);
    k->sym_hi = malloc((n_sym ? n_sym : 1) * sizeof *k->sym_hi);
    k->written = calloc(m->cfg.mem_size / 8 + 1, 1);
    k->seen = calloc(m->code_n ? m->code_n : 1, 1);
    k->ev = malloc(capacity * sizeof *k->ev);
    m->check = k;
    if (!k->sym_lo || !k->sym_hi || !k->written || !k->seen || !k->ev) {
        nr_check_disable(m);
        return NR_ERR_NOMEM;
    }
    if (n_sym) {
        memcpy(k->sym_lo, lo, n_sym * sizeof *lo);
        memcpy(k->sym_hi, hi, n_sym * sizeof *hi);
    }
    k->n_sym = n_sym;
    k->code_n = m->code_n;
    k->cap = capacity;
    k->strict = strict != 0;
    return NR_OK;
}

void _nr_chk_written(nr_check *k, uint64_t addr, uint64_t len)
{
    uint64_t a = addr, e = addr + len;
    for (; a < e && (a & 7); a++) k->written[a >> 3] |= (uint8_t)(1u << (a & 7));
    if (e - a >= 8) {
        memset(&k->written[a >> 3], 0xFF, (e - a) >> 3);
        a += (e - a) & ~(uint64_t)7;
    }
    for (; a < e; a++) k->written[a >> 3] |= (uint8_t)(1u << (a & 7));
}

int nr_check_mark_written(nr_machine *m, uint64_t addr, uint64_t len)
{
    if (!m->check) return NR_OK;
    if (!_nr_in_mem(m, addr, len)) return NR_ERR_ARG;
    _nr_chk_written(m->check, addr, len);
    return NR_OK;
}

/* the first byte of [addr, addr+len) nothing wrote, or UINT64_MAX */
static uint64_t _nr_chk_unwritten(const nr_check *k, uint64_t addr, uint64_t len)
{
    for (uint64_t a = addr, e = addr + len; a < e; a++) {
        if (!(a & 7) && e - a >= 8 && k->written[a >> 3] == 0xFF) {
            a += 7;
            continue;
        }
        if (!(k->written[a >> 3] >> (a & 7) & 1)) return a;
    }
    return UINT64_MAX;
}

/* index of the symbol holding addr, or UINT64_MAX */
static uint64_t _nr_chk_symbol(const nr_check *k, uint64_t addr)
{
    uint64_t lo = 0, hi = k->n_sym;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (k->sym_hi[mid] <= addr) lo = mid + 1;
        else hi = mid;
    }
    return lo < k->n_sym && k->sym_lo[lo] <= addr ? lo : UINT64_MAX;
}

/* records one diagnostic; returns 1 when it must stop the instruction (strict: the caller
   raises NR_FAULT_CHECK) */
int _nr_chk_event(nr_machine *m, uint64_t pc, uint64_t t, int kind, uint64_t addr, uint64_t len,
                  uint64_t sym, uint64_t at)
{
    nr_check *k = m->check;
    k->total++;
    const uint64_t w = pc >> 2;
    if (w < k->code_n && !(k->seen[w] >> kind & 1)) {
        k->seen[w] |= (uint8_t)(1u << kind);
        if (k->n < k->cap)
            k->ev[k->n++] = (nr_check_event){pc, t, (uint64_t)kind, addr, len, sym, at};
        else
            k->dropped++;
    }
    return k->strict;
}

int _nr_chk_access(nr_machine *m, uint64_t pc, uint64_t t, int write, uint64_t addr, uint64_t len)
{
    nr_check *k = m->check;
    if (len == 0 || !_nr_in_mem(m, addr, len)) return 0;   /* out of memory: the instruction faults */
    const uint64_t s = _nr_chk_symbol(k, addr);
    if (s != UINT64_MAX && addr + len > k->sym_hi[s]
        && _nr_chk_event(m, pc, t, write ? NR_CHK_CROSS_WRITE : NR_CHK_CROSS_READ, addr, len, s,
                         k->sym_hi[s]))
        return 1;
    if (!write) {
        const uint64_t u = _nr_chk_unwritten(k, addr, len);
        if (u != UINT64_MAX && _nr_chk_event(m, pc, t, NR_CHK_UNWRITTEN, addr, len,
                                             _nr_chk_symbol(k, u), u))
            return 1;
    }
    return 0;
}

uint64_t nr_check_drain(nr_machine *m, nr_check_event *dst, uint64_t max)
{
    nr_check *k = m->check;
    if (!k) return 0;
    const uint64_t n = k->n < max ? k->n : max;
    memcpy(dst, k->ev, n * sizeof *dst);
    memmove(k->ev, k->ev + n, (k->n - n) * sizeof *dst);
    k->n -= n;
    return n;
}

uint64_t nr_check_total(const nr_machine *m) { return m->check ? m->check->total : 0; }
uint64_t nr_check_dropped(const nr_machine *m) { return m->check ? m->check->dropped : 0; }
