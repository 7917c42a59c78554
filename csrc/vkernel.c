/* vkernel.c — the vector unit's fast path for i16 operands: one element kernel for the
   element-wise instructions (vector.c) and the rows of the row-strided ones (batch.c).

   _nr_v16 computes d[k] = f(a[k], b[k]) for k < n straight on data memory, a block of 64
   elements at a time through local arrays, so the loops vectorise.  It gives the sequential
   loop's result only when no element reads what an earlier element wrote: each source must
   be the destination itself (same element size) or not overlap it.  _nr_v16_ok tells; the
   callers keep their element-by-element loop for every other case.  The operations compute
   in int32 exactly what the generic int64 path computes for i16 operands (the scalars are
   clamped to where the saturated result no longer changes). */
#include <string.h>

#include "nr_private.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
#define _NR_VCLONES __attribute__((target_clones("avx2", "default")))
#else
#define _NR_VCLONES
#endif

#define _NR_VB 64

static inline int _nr_apart(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) { return a + an <= b || b + bn <= a; }

int _nr_v16_ok(int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t s, uint64_t n)
{
    const uint64_t dn = n * _nr_dsize[dd], sn = n * 2;
    int two = 0;
    switch (op) {
    case NR_OP_VADD: case NR_OP_VSUB: case NR_OP_VMAX: case NR_OP_VMIN: two = 1; break;
    case NR_OP_VRELU: case NR_OP_VADDS: case NR_OP_VCVT: break;
    case NR_OP_VSRA: case NR_OP_VCLIP: case NR_OP_VCLIPU: if (s < 1 || s > 30) return 0; break;
    default: return 0;
    }
    if (op != NR_OP_VCVT && dd != NR_DTYPE_I16) return 0;
    if (!((d == a && dd == NR_DTYPE_I16) || _nr_apart(d, dn, a, sn))) return 0;
    if (two && !((d == b && dd == NR_DTYPE_I16) || _nr_apart(d, dn, b, sn))) return 0;
    return 1;
}

static inline int16_t _nr_s16(int32_t v) { return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v); }

/* one block of m ≤ 64 elements: o32[i] = f(x[i], y[i]), or o16[i] = f saturated to i16 when o16
   is given (y = x for the one-operand instructions).  A loop per operation, each a plain
   vector loop. */
#define _NR_V16_EACH(EXPR)                                                                          \
    do {                                                                                            \
        if (o16) for (int i = 0; i < m; i++) { const int32_t xi = x[i], yi = y[i]; (void)yi; o16[i] = _nr_s16(EXPR); } \
        else for (int i = 0; i < m; i++) { const int32_t xi = x[i], yi = y[i]; (void)yi; o32[i] = (EXPR); }          \
    } while (0)

static inline void _nr_v16_block(int op, int32_t p, const int16_t *x, const int16_t *y, int16_t *o16,
                                 int32_t *o32, int m)
{
    switch (op) {
    case NR_OP_VADD: _NR_V16_EACH(xi + yi); break;
    case NR_OP_VSUB: _NR_V16_EACH(xi - yi); break;
    case NR_OP_VMAX: _NR_V16_EACH(xi > yi ? xi : yi); break;
    case NR_OP_VMIN: _NR_V16_EACH(xi < yi ? xi : yi); break;
    case NR_OP_VRELU: _NR_V16_EACH(xi > 0 ? xi : 0); break;
    case NR_OP_VADDS: _NR_V16_EACH(xi + p); break;
    case NR_OP_VSRA: {
        const int32_t h = (int32_t)1 << (p - 1);
        _NR_V16_EACH((xi + h) >> p);
        break;
    }
    case NR_OP_VCLIP: {
        const int32_t lim = p >= 17 ? 65535 : ((int32_t)1 << (p - 1)) - 1;
        _NR_V16_EACH(xi > lim ? lim : xi < -lim ? -lim : xi);
        break;
    }
    case NR_OP_VCLIPU: {
        const int32_t hi = p >= 16 ? 65535 : ((int32_t)1 << p) - 1;
        _NR_V16_EACH(xi < 0 ? 0 : xi > hi ? hi : xi);
        break;
    }
    default: _NR_V16_EACH(xi); break;   /* vcvt */
    }
}

/* One run of n elements; p is the instruction's scalar (vadds: the addend, vsra/vclip/vclipu:
   the shift or width), dd the destination type (≠ i16 only for vcvt).  Needs _nr_v16_ok. */
_NR_VCLONES
void _nr_v16(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n)
{
    const int two = op == NR_OP_VADD || op == NR_OP_VSUB || op == NR_OP_VMAX || op == NR_OP_VMIN;
    /* vadds: beyond ±65536 every i16 element saturates the same way */
    const int32_t q = op == NR_OP_VADDS ? (int32_t)(p > 65536 ? 65536 : p < -65536 ? -65536 : p) : (int32_t)p;
    for (uint64_t k0 = 0; k0 < n; k0 += _NR_VB) {
        const int m = n - k0 < _NR_VB ? (int)(n - k0) : _NR_VB;
        int16_t x[_NR_VB], y[_NR_VB];
        int32_t r[_NR_VB];
        if (m == _NR_VB) {
            memcpy(x, mem + a + 2 * k0, sizeof x);
            if (two) memcpy(y, mem + b + 2 * k0, sizeof y);
        } else {
            memcpy(x, mem + a + 2 * k0, (size_t)m * 2);
            if (two) memcpy(y, mem + b + 2 * k0, (size_t)m * 2);
        }
        const size_t ds = _nr_dsize[dd], bytes = m == _NR_VB ? _NR_VB * ds : (size_t)m * ds;
        if (dd == NR_DTYPE_I16) {
            int16_t o[_NR_VB];
            _nr_v16_block(op, q, x, two ? y : x, o, r, m);
            memcpy(mem + d + 2 * k0, o, bytes);
        } else if (dd == NR_DTYPE_I32) {
            _nr_v16_block(op, q, x, two ? y : x, NULL, r, m);
            memcpy(mem + d + 4 * k0, r, bytes);
        } else {
            _nr_v16_block(op, q, x, two ? y : x, NULL, r, m);
            const int32_t lo = dd == NR_DTYPE_U8 ? 0 : -128, hi = dd == NR_DTYPE_U8 ? 255 : 127;
            uint8_t o[_NR_VB];
            for (int i = 0; i < m; i++) o[i] = (uint8_t)(r[i] < lo ? lo : r[i] > hi ? hi : r[i]);
            memcpy(mem + d + k0, o, bytes);
        }
    }
}
