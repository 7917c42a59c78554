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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
#define _NR_V16_AVX2 1
#include <immintrin.h>
#endif

#define _NR_VB 64

static inline int _nr_apart(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) { return a + an <= b || b + bn <= a; }

/* the instructions with a second vector operand */
static inline int _nr_v16_two(int op)
{
    return op == NR_OP_VADD || op == NR_OP_VSUB || op == NR_OP_VMAX || op == NR_OP_VMIN;
}

int _nr_v16_ok(int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t s, uint64_t n)
{
    const uint64_t dn = n * _nr_dsize[dd], sn = n * 2;
    const int two = _nr_v16_two(op);
    switch (op) {
    case NR_OP_VADD: case NR_OP_VSUB: case NR_OP_VMAX: case NR_OP_VMIN:
    case NR_OP_VRELU: case NR_OP_VADDS: case NR_OP_VCVT: break;
    case NR_OP_VSRA: if (s < 0 || s > 30) return 0; break;   /* 0: a copy */
    case NR_OP_VCLIP: case NR_OP_VCLIPU: if (s < 1 || s > 30) return 0; break;
    default: return 0;
    }
    if (op != NR_OP_VCVT && dd != NR_DTYPE_I16) return 0;
    if (!((d == a && dd == NR_DTYPE_I16) || _nr_apart(d, dn, a, sn))) return 0;
    if (two && !((d == b && dd == NR_DTYPE_I16) || _nr_apart(d, dn, b, sn))) return 0;
    return 1;
}

/* _nr_v16_ok for every row r < rows of (d + r·sd, a + r·s1, b + r·s2): row 0 passes, and either
   the strides are equal (every row has row 0's layout) or no destination row meets a source
   row */
int _nr_v16_rows_ok(int op, int dd, uint64_t d, uint64_t a, uint64_t b, uint64_t n, uint64_t rows, uint64_t sd,
                    uint64_t s1, uint64_t s2)
{
    const int two = _nr_v16_two(op);
    if (!_nr_v16_ok(op, dd, d, a, b, 0, n)) return 0;
    if (rows == 1 || (sd == s1 && (!two || sd == s2))) return 1;
    const uint64_t dn = (rows - 1) * sd + n * _nr_dsize[dd];
    return _nr_apart(d, dn, a, (rows - 1) * s1 + 2 * n) && (!two || _nr_apart(d, dn, b, (rows - 1) * s2 + 2 * n));
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
        if (p == 0) {
            _NR_V16_EACH(xi);
            break;
        }
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
static void _nr_v16_blocks(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n)
{
    const int two = _nr_v16_two(op);
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

#ifdef _NR_V16_AVX2
/* the bound of vclip (±lim; from 17 bits on no i16 reaches it) and vclipu (0 … lim) */
static inline int16_t _nr_v16_lim(int op, int sh)
{
    if (op == NR_OP_VCLIP) return sh >= 16 ? INT16_MAX : (int16_t)((1 << (sh - 1)) - 1);
    if (op == NR_OP_VCLIPU) return sh >= 15 ? INT16_MAX : (int16_t)((1 << sh) - 1);
    return 0;
}

/* the constants of _NR_V16_OP for one vector width (PFX _mm256 or _mm512, VT its integer type, W
   its bits), from op and its scalar p */
#define _NR_V16_SETUP(PFX, VT, W)                                                                   \
    const int two = _nr_v16_two(op);                                                                \
    const VT zero = PFX##_setzero_si##W(), one = PFX##_set1_epi16(1);                               \
    const int sh = (int)p;                                                                          \
    const int16_t lim = _nr_v16_lim(op, sh);                                                        \
    const VT vlim = PFX##_set1_epi16(lim), vnlim = PFX##_set1_epi16((int16_t)-lim);                 \
    const VT vs = PFX##_set1_epi16(op == NR_OP_VADDS ? (int16_t)p : 0);                             \
    const __m128i c1 = _mm_cvtsi32_si128(sh), c0 = _mm_cvtsi32_si128(sh > 0 ? sh - 1 : 0)

/* r = the operation on the lanes of x (and y) for one vector width (PFX _mm256 or _mm512, VT its
   integer type, W its bits), with the constants of _NR_V16_SETUP */
#define _NR_V16_OP(PFX, VT, W)                                                                       \
    switch (op) {                                                                                   \
    case NR_OP_VADD: r = PFX##_adds_epi16(x, y); break;                                             \
    case NR_OP_VSUB: r = PFX##_subs_epi16(x, y); break;                                             \
    case NR_OP_VMAX: r = PFX##_max_epi16(x, y); break;                                              \
    case NR_OP_VMIN: r = PFX##_min_epi16(x, y); break;                                              \
    case NR_OP_VRELU: r = PFX##_max_epi16(x, zero); break;                                          \
    case NR_OP_VADDS: r = PFX##_adds_epi16(x, vs); break;                                           \
    case NR_OP_VSRA: {   /* (x >> sh) + bit sh−1 of x: round half up, no overflow */               \
        const VT hi = PFX##_sra_epi16(x, c1), lo = PFX##_sra_epi16(x, c0);                         \
        r = sh == 0 ? x : sh >= 16 ? zero : PFX##_add_epi16(hi, PFX##_and_si##W(lo, one));        \
        break;                                                                                      \
    }                                                                                               \
    case NR_OP_VCLIP: r = sh >= 17 ? x : PFX##_min_epi16(PFX##_max_epi16(x, vnlim), vlim); break;  \
    case NR_OP_VCLIPU: r = PFX##_min_epi16(PFX##_max_epi16(x, zero), vlim); break;                 \
    default: r = x; break;   /* vcvt */                                                             \
    }

/* AVX2 on i16 lanes, 16 elements a step, with the instructions' own saturating forms: the same
   integers as the blocks (adds/subs saturate as the int32 sum clamped; vsra rounds half up as
   (x >> p) + bit p−1 of x, which cannot overflow).  Returns the elements done (a multiple of 16;
   0 for what it does not take: vadds beyond i16, conversions other than to i16 and u8). */
__attribute__((target("avx2")))
static uint64_t _nr_v16_avx2(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n)
{
    const uint64_t n16 = n & ~(uint64_t)15;
    if (op == NR_OP_VADDS && (p < INT16_MIN || p > INT16_MAX)) return 0;
    if (op == NR_OP_VCVT && dd != NR_DTYPE_I16 && dd != NR_DTYPE_U8) return 0;
    if (op == NR_OP_VCVT && dd == NR_DTYPE_U8) {   /* packus saturates to 0 … 255 */
        const uint64_t n32 = n & ~(uint64_t)31;
        for (uint64_t k = 0; k < n32; k += 32) {
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(mem + a + 2 * k));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(mem + a + 2 * k + 32));
            const __m256i r = _mm256_permute4x64_epi64(_mm256_packus_epi16(x0, x1), 0xD8);
            _mm256_storeu_si256((__m256i *)(mem + d + k), r);
        }
        return n32;
    }
    _NR_V16_SETUP(_mm256, __m256i, 256);
    for (uint64_t k = 0; k < n16; k += 16) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(mem + a + 2 * k));
        const __m256i y = two ? _mm256_loadu_si256((const __m256i *)(mem + b + 2 * k)) : zero;
        __m256i r;
        _NR_V16_OP(_mm256, __m256i, 256);
        _mm256_storeu_si256((__m256i *)(mem + d + 2 * k), r);
    }
    return n16;
}
#endif

#ifdef _NR_V16_AVX2
/* the rows with the operation and the destination type as constants (inlined per pair below,
   so no switch runs per step) */
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline))
static inline void _nr_v16_avx512_rows(const int op, const int dd, uint8_t *mem, uint64_t d, uint64_t a, uint64_t b,
                                       int64_t p, uint64_t n, uint64_t rows, uint64_t sd, uint64_t s1, uint64_t s2)
{
    _NR_V16_SETUP(_mm512, __m512i, 512);
    for (uint64_t w = 0; w < rows; w++, d += sd, a += s1, b += s2) {
        for (uint64_t k = 0; k < n; k += 32) {
            const __mmask32 mk = n - k >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << (n - k)) - 1);
            const __m512i x = _mm512_maskz_loadu_epi16(mk, mem + a + 2 * k);
            const __m512i y = two ? _mm512_maskz_loadu_epi16(mk, mem + b + 2 * k) : zero;
            __m512i r;
            _NR_V16_OP(_mm512, __m512i, 512);
            if (dd == NR_DTYPE_U8)   /* unsigned saturation of the non-negative values = 0 … 255 */
                _mm256_mask_storeu_epi8(mem + d + k, mk, _mm512_cvtusepi16_epi8(_mm512_max_epi16(r, zero)));
            else
                _mm512_mask_storeu_epi16(mem + d + 2 * k, mk, r);
        }
    }
}

/* The same on AVX-512BW lanes, 32 elements a step and the last partial step under a mask
   (masked-off lanes neither load nor store, so a row's end needs no scalar tail: short rows of
   a batch cost one step), for `rows` rows in order (row r at d + r·sd, a + r·s1, b + r·s2) with
   one set-up.  Returns n, or 0 for what it does not take (as the AVX2 version). */
__attribute__((target("avx512f,avx512bw,avx512vl")))
static uint64_t _nr_v16_avx512(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n,
                               uint64_t rows, uint64_t sd, uint64_t s1, uint64_t s2)
{
    if (op == NR_OP_VADDS && (p < INT16_MIN || p > INT16_MAX)) return 0;
    if (op == NR_OP_VCVT && dd != NR_DTYPE_I16 && dd != NR_DTYPE_U8) return 0;
#define _NR_V16_R(OP, DD) _nr_v16_avx512_rows(OP, DD, mem, d, a, b, p, n, rows, sd, s1, s2)
    switch (op) {
    case NR_OP_VADD: _NR_V16_R(NR_OP_VADD, NR_DTYPE_I16); break;
    case NR_OP_VSUB: _NR_V16_R(NR_OP_VSUB, NR_DTYPE_I16); break;
    case NR_OP_VMAX: _NR_V16_R(NR_OP_VMAX, NR_DTYPE_I16); break;
    case NR_OP_VMIN: _NR_V16_R(NR_OP_VMIN, NR_DTYPE_I16); break;
    case NR_OP_VRELU: _NR_V16_R(NR_OP_VRELU, NR_DTYPE_I16); break;
    case NR_OP_VADDS: _NR_V16_R(NR_OP_VADDS, NR_DTYPE_I16); break;
    case NR_OP_VSRA: _NR_V16_R(NR_OP_VSRA, NR_DTYPE_I16); break;
    case NR_OP_VCLIP: _NR_V16_R(NR_OP_VCLIP, NR_DTYPE_I16); break;
    case NR_OP_VCLIPU: _NR_V16_R(NR_OP_VCLIPU, NR_DTYPE_I16); break;
    default:   /* vcvt */
        if (dd == NR_DTYPE_U8) _NR_V16_R(NR_OP_VCVT, NR_DTYPE_U8);
        else _NR_V16_R(NR_OP_VCVT, NR_DTYPE_I16);
    }
#undef _NR_V16_R
    return n;
}
#endif

/* 2: AVX-512BW, 1: AVX2, 0: the blocks (NR48_SIMD caps it) */
static int _nr_v16_level(void)
{
    static int level = -1;
#ifdef _NR_V16_AVX2
    if (level < 0) {
        const int cap = _nr_simd_level();
        level = cap >= 2 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") ? 2
              : cap >= 1 && __builtin_cpu_supports("avx2") ? 1 : 0;
    }
#else
    level = 0;
#endif
    return level;
}

void _nr_v16(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n)
{
    uint64_t done = 0;
#ifdef _NR_V16_AVX2
    const int level = _nr_v16_level();
    if (level == 2) done = _nr_v16_avx512(mem, op, dd, d, a, b, p, n, 1, 0, 0, 0);
    if (level >= 1 && done == 0) done = _nr_v16_avx2(mem, op, dd, d, a, b, p, n);
#endif
    if (done < n) {
        const uint64_t es = _nr_dsize[dd];
        _nr_v16_blocks(mem, op, dd, d + done * es, a + 2 * done, b + 2 * done, p, n - done);
    }
}

/* _nr_v16 on rows r < rows at (d + r·sd, a + r·s1, b + r·s2), in order; needs _nr_v16_rows_ok.
   The AVX-512 path takes them in one call (a batch's rows are short: the set-up per row cost
   as much as the row). */
void _nr_v16_rows(uint8_t *mem, int op, int dd, uint64_t d, uint64_t a, uint64_t b, int64_t p, uint64_t n,
                  uint64_t rows, uint64_t sd, uint64_t s1, uint64_t s2)
{
#ifdef _NR_V16_AVX2
    if (_nr_v16_level() == 2 && _nr_v16_avx512(mem, op, dd, d, a, b, p, n, rows, sd, s1, s2)) return;
#endif
    for (uint64_t w = 0; w < rows; w++) _nr_v16(mem, op, dd, d + w * sd, a + w * s1, b + w * s2, p, n);
}

#ifdef _NR_V16_AVX2
/* the same on AVX-512BW lanes, the last step masked (a batch's rows are short: one step) */
__attribute__((target("avx512f,avx512bw,avx512vl")))
static uint64_t _nr_argmax16_avx512(const uint8_t *p, uint64_t n)
{
    const __m512i low = _mm512_set1_epi16(INT16_MIN);
    __m512i mx = low;
    for (uint64_t k = 0; k < n; k += 32) {
        const __mmask32 mk = n - k >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << (n - k)) - 1);
        mx = _mm512_max_epi16(mx, _mm512_mask_loadu_epi16(low, mk, p + 2 * k));
    }
    const int32_t best = _mm512_reduce_max_epi32(_mm512_max_epi32(
        _mm512_cvtepi16_epi32(_mm512_castsi512_si256(mx)), _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(mx, 1))));
    const __m512i vb = _mm512_set1_epi16((short)best);
    for (uint64_t k = 0; k < n; k += 32) {
        const __mmask32 mk = n - k >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << (n - k)) - 1);
        const __mmask32 eq = _mm512_mask_cmpeq_epi16_mask(mk, _mm512_maskz_loadu_epi16(mk, p + 2 * k), vb);
        if (eq) return k + (uint64_t)__builtin_ctz(eq);
    }
    return 0;
}
#endif

/* the largest first (a max reduction, which vectorises), then the first element equal to it */
_NR_VCLONES
uint64_t _nr_argmax16(const uint8_t *p, uint64_t n)
{
#ifdef _NR_V16_AVX2
    if (_nr_v16_level() == 2) return _nr_argmax16_avx512(p, n);
#endif
    int16_t best = INT16_MIN;
    for (uint64_t k0 = 0; k0 < n; k0 += _NR_VB) {
        const int m = n - k0 < _NR_VB ? (int)(n - k0) : _NR_VB;
        int16_t x[_NR_VB];
        memcpy(x, p + 2 * k0, (size_t)m * 2);
        for (int i = 0; i < m; i++) best = x[i] > best ? x[i] : best;
    }
    for (uint64_t k = 0; k < n; k++) {
        int16_t v;
        memcpy(&v, p + 2 * k, 2);
        if (v == best) return k;
    }
    return 0;
}
