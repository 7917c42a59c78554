/* batch_kernel.c — the integer kernel of batched MVMs: the accumulators of up to four vectors of
   a batch in one sweep over the core's weights, exactly the integers the per-vector kernels of
   mvm.c and analog.c compute (integer sums have no rounding, so the order of the terms does not
   matter, and none of them can overflow int32: see the bounds below).

   The weights are packed once per batch as pairs of int16 per output, so one multiply-add of
   two int16 pairs (pmaddwd on x86) does two terms:
     ideal fwd/rec: pair p = logical rows 2p and 2p+1 of the window, x pair (x[2p], x[2p+1]);
                    |w| ≤ 21845 and |x| ≤ 255, ≤ 128 terms: |acc| < 2^31 (mvm.c)
     ideal bwd:     pair p = columns 2p and 2p+1 of each logical row
     analog:        when every G⁺ − G⁻ of the window fits int16 (conductances below 32.8 µS
                    apart, as programmed weights are), the differences paired like the ideal
                    weights, x pair two pass digits d (|d| ≤ 15); otherwise pair p = the cells
                    G⁺, G⁻ of logical row p (bwd: of column p) stored as G − 32768 (int16), x
                    pair (d, −d): (G⁺ − 32768)·d − (G⁻ − 32768)·d = (G⁺ − G⁻)·d;
                    either way |acc| ≤ 256·65535·15 < 2^31
   On x86-64 glibc builds with gcc, an AVX-512 (VNNI) or AVX2 version is picked at run time when
   the host has it; the portable loop computes the same integers. */
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
#define _NR_BK_AVX2 1
#include <immintrin.h>
#endif

/* output pitch of the packed pairs and the accumulators: a multiple of 32 (one AVX-512 sweep) */
static inline int _nr_round16(int n) { return (n + 31) & ~31; }

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
#define _NR_BK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define _NR_BK_CLONES
#endif

/* the largest |G⁺ − G⁻| of the window (no early exit, so the loop vectorises) */
_NR_BK_CLONES
static int32_t _nr_bk_maxdiff(const nr_core *c, int row0, int nrows, int col0, int ncols)
{
    int32_t big = 0;
    for (int i = 0; i < nrows; i++) {
        const uint16_t *gp = &c->g[2 * (row0 + i)][col0], *gn = &c->g[2 * (row0 + i) + 1][col0];
        for (int j = 0; j < ncols; j++) {
            int32_t d = (int32_t)gp[j] - (int32_t)gn[j];
            d = d < 0 ? -d : d;
            big = d > big ? d : big;
        }
    }
    return big;
}

#ifdef _NR_BK_AVX2
/* The analog-1 pairs of a row on AVX-512BW, 32 outputs a step: d[2q] = gp[q] ^ 0x8000, d[2q+1] =
   gn[q] ^ 0x8000 (two two-source permutes interleave them); returns the outputs done and raises
   *big to the largest |gp − gn| among them. */
__attribute__((target("avx512f,avx512bw")))
static int _nr_bk_pack1_avx512(const uint16_t *gp, const uint16_t *gn, int nout, int16_t *d, int32_t *big)
{
    static const int16_t lo[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                   8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
    const __m512i ilo = _mm512_loadu_si512(lo), ihi = _mm512_add_epi16(ilo, _mm512_set1_epi16(16));
    const __m512i flip = _mm512_set1_epi16((short)0x8000);
    __m512i dmax = _mm512_setzero_si512();
    int q = 0;
    for (; q + 32 <= nout; q += 32) {
        const __m512i a = _mm512_loadu_si512(gp + q), b = _mm512_loadu_si512(gn + q);
        dmax = _mm512_max_epu16(dmax, _mm512_sub_epi16(_mm512_max_epu16(a, b), _mm512_min_epu16(a, b)));
        const __m512i fa = _mm512_xor_si512(a, flip), fb = _mm512_xor_si512(b, flip);
        _mm512_storeu_si512(d + 2 * q, _mm512_permutex2var_epi16(fa, ilo, fb));
        _mm512_storeu_si512(d + 2 * q + 32, _mm512_permutex2var_epi16(fa, ihi, fb));
    }
    const int32_t m = _mm512_reduce_max_epi32(_mm512_max_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(dmax)),
                                                               _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(dmax, 1))));
    if (m > *big) *big = m;
    return q;
}
#endif

/* pair p of a forward (or recurrent) window, interleaved into d[2q], d[2q+1] for output q (both
   halves written in one loop); analog 1 also returns the largest |G⁺ − G⁻| of the logical row
   (0 otherwise) */
_NR_BK_CLONES
static int32_t _nr_bk_pack_fwd(const nr_core *c, int analog, int row0, int col0, int nin, int nout, int p, int16_t *d)
{
    const int i0 = 2 * p, two = 2 * p + 1 < nin;
    if (analog == 2) {        /* G⁺ − G⁻ of logical rows 2p and 2p+1 */
        const uint16_t *p0 = &c->g[2 * (row0 + i0)][col0], *n0 = &c->g[2 * (row0 + i0) + 1][col0];
        const uint16_t *p1 = two ? &c->g[2 * (row0 + i0) + 2][col0] : p0;
        const uint16_t *n1 = two ? &c->g[2 * (row0 + i0) + 3][col0] : p0;   /* p0 − p0 = 0 */
        for (int q = 0; q < nout; q++) {
            d[2 * q] = (int16_t)((int32_t)p0[q] - (int32_t)n0[q]);
            d[2 * q + 1] = (int16_t)((int32_t)p1[q] - (int32_t)n1[q]);
        }
    } else if (analog) {      /* G⁺, G⁻ of logical row p, offset to int16 (G − 32768 = G ^ 0x8000) */
        const uint16_t *gp = &c->g[2 * (row0 + p)][col0], *gn = &c->g[2 * (row0 + p) + 1][col0];
        int32_t big = 0;
        int q = 0;
#ifdef _NR_BK_AVX2
        if (_nr_simd_level() >= 2 && __builtin_cpu_supports("avx512bw")) q = _nr_bk_pack1_avx512(gp, gn, nout, d, &big);
#endif
        for (; q < nout; q++) {
            d[2 * q] = (int16_t)(gp[q] ^ 0x8000u);
            d[2 * q + 1] = (int16_t)(gn[q] ^ 0x8000u);
            int32_t df = (int32_t)gp[q] - (int32_t)gn[q];
            df = df < 0 ? -df : df;
            big = df > big ? df : big;
        }
        return big;
    } else {                  /* ideal weights of logical rows 2p and 2p+1 */
        const int16_t *w0 = &c->w[row0 + i0][col0];
        if (two) {
            const int16_t *w1 = &c->w[row0 + i0 + 1][col0];
            for (int q = 0; q < nout; q++) {
                d[2 * q] = w0[q];
                d[2 * q + 1] = w1[q];
            }
        } else {
            for (int q = 0; q < nout; q++) {
                d[2 * q] = w0[q];
                d[2 * q + 1] = 0;
            }
        }
    }
    return 0;
}

/* the window packed as `analog` says (0: ideal weights, 1: G⁺/G⁻ pairs, 2: differences); with
   analog 1 forward, *big gets the largest |G⁺ − G⁻| */
static int _nr_bk_pack_as(_nr_bk *k, const nr_core *c, int dir, int analog, int32_t *big)
{
    const int32_t *cfg = c->cfg;
    const int row0 = cfg[NR_CFG_ROW0], nrows = cfg[NR_CFG_NROWS];
    const int col0 = cfg[NR_CFG_COL0], ncols = cfg[NR_CFG_NCOLS];
    const int bwd = dir == NR_DIR_BWD;
    const int nin = bwd ? ncols : nrows, nout = bwd ? nrows : ncols;
    const int P = analog == 1 ? nin : (nin + 1) / 2, n16 = _nr_round16(nout);
    if (!k->w2 || k->cap < (size_t)P * 2 * n16) {
        free(k->w2);
        k->cap = (size_t)P * 2 * n16;
        k->w2 = malloc(k->cap * sizeof *k->w2);
        if (!k->w2) return 0;
    }
    k->P = P;
    k->n16 = n16;
    k->nin = nin;
    k->nout = nout;
    k->analog = analog;
    for (int p = 0; p < P; p++) {
        int16_t *d = &k->w2[(size_t)p * 2 * n16];
        /* the outputs beyond nout (up to the pitch n16) stay 0 */
        memset(d + 2 * nout, 0, (size_t)(n16 - nout) * 2 * sizeof *d);
        if (!bwd) {
            const int32_t b = _nr_bk_pack_fwd(c, analog, row0, col0, nin, nout, p, d);
            if (big && b > *big) *big = b;
            continue;
        }
        for (int q = 0; q < nout; q++) {
            int16_t a, b;
            if (analog == 2) {
                /* G⁺ − G⁻ of the inputs 2p and 2p+1 (columns) feeding output q (a row) */
                a = (int16_t)((int32_t)c->g[2 * (row0 + q)][col0 + 2 * p] - (int32_t)c->g[2 * (row0 + q) + 1][col0 + 2 * p]);
                b = 2 * p + 1 < nin ? (int16_t)((int32_t)c->g[2 * (row0 + q)][col0 + 2 * p + 1]
                                                - (int32_t)c->g[2 * (row0 + q) + 1][col0 + 2 * p + 1]) : 0;
            } else if (analog) {
                /* G⁺/G⁻ of the pair at column p */
                a = (int16_t)((int32_t)c->g[2 * (row0 + q)][col0 + p] - 32768);
                b = (int16_t)((int32_t)c->g[2 * (row0 + q) + 1][col0 + p] - 32768);
            } else {
                a = c->w[row0 + q][col0 + 2 * p];
                b = 2 * p + 1 < nin ? c->w[row0 + q][col0 + 2 * p + 1] : 0;
            }
            d[2 * q] = a;
            d[2 * q + 1] = b;
        }
    }
    return 1;
}

/* analog: two logical rows per pair when every difference of the window fits int16.  A forward
   window finds out while it packs G⁺/G⁻ pairs (one pass over the cells), repacked as
   differences only when they fit. */
int _nr_bk_pack(_nr_bk *k, const nr_core *c, int dir, int analog)
{
    if (!analog) return _nr_bk_pack_as(k, c, dir, 0, NULL);
    if (dir == NR_DIR_BWD) {
        const int32_t *cfg = c->cfg;
        const int32_t big = _nr_bk_maxdiff(c, cfg[NR_CFG_ROW0], cfg[NR_CFG_NROWS], cfg[NR_CFG_COL0], cfg[NR_CFG_NCOLS]);
        return _nr_bk_pack_as(k, c, dir, big > INT16_MAX ? 1 : 2, NULL);
    }
    int32_t big = 0;
    if (!_nr_bk_pack_as(k, c, dir, 1, &big)) return 0;
    return big > INT16_MAX ? 1 : _nr_bk_pack_as(k, c, dir, 2, NULL);
}

void _nr_bk_free(_nr_bk *k)
{
    free(k->w2);
    k->w2 = NULL;
    k->cap = 0;
}

/* the x pair of pair p of one vector: ideal inputs (already clamped), or a pass digit and its
   negation (analog) */
void _nr_bk_xpairs(const _nr_bk *k, const int32_t *x, int32_t *x2)
{
    const int P = k->P;
    if (k->analog == 1) {
        for (int p = 0; p < P; p++) x2[p] = (int32_t)((uint32_t)(uint16_t)x[p] | (uint32_t)(uint16_t)-x[p] << 16);
        return;
    }
    const int full = k->nin / 2;   /* pairs with both inputs; an odd last input pairs with 0 */
    for (int p = 0; p < full; p++)
        x2[p] = (int32_t)((uint32_t)(uint16_t)x[2 * p] | (uint32_t)(uint16_t)x[2 * p + 1] << 16);
    if (full < P) x2[full] = (int32_t)(uint32_t)(uint16_t)x[2 * full];
}

/* the same from raw input codes clamped to [lo, hi] — the digits of a one-phase MVM — with no
   digit row in between: from an i16 row, or (u8) straight from a u8 row in data memory */
__attribute__((always_inline))
static inline void _nr_bk_xpairs_raw(const _nr_bk *k, const void *row, int u8, int32_t lo, int32_t hi, int32_t *x2)
{
    const int P = k->P;
#define _NR_X(i) ((int32_t)(u8 ? ((const uint8_t *)row)[i] : ((const int16_t *)row)[i]))
#define _NR_CL(v) ((v) < lo ? lo : (v) > hi ? hi : (v))
    if (k->analog == 1) {
        for (int p = 0; p < P; p++) {
            const int32_t d = _NR_CL(_NR_X(p));
            x2[p] = (int32_t)((uint32_t)(uint16_t)d | (uint32_t)(uint16_t)-d << 16);
        }
        return;
    }
    const int full = k->nin / 2;
    for (int p = 0; p < full; p++)
        x2[p] = (int32_t)((uint32_t)(uint16_t)_NR_CL(_NR_X(2 * p)) | (uint32_t)(uint16_t)_NR_CL(_NR_X(2 * p + 1)) << 16);
    if (full < P) x2[full] = (int32_t)(uint32_t)(uint16_t)_NR_CL(_NR_X(2 * full));
#undef _NR_CL
#undef _NR_X
}

_NR_BK_CLONES
void _nr_bk_xpairs16(const _nr_bk *k, const int16_t *x, int32_t lo, int32_t hi, int32_t *x2)
{
    _nr_bk_xpairs_raw(k, x, 0, lo, hi, x2);
}

#ifdef _NR_BK_AVX2
/* _nr_bk_xpairs8 on AVX-512BW: 16 (analog 1) or 32 inputs a step, the last step masked.  Pairs
   of adjacent inputs are the clamped int16 row itself read as int32 (x86 is little-endian); the
   lanes past the last input stay 0, as the odd last input's partner. */
__attribute__((target("avx512f,avx512bw,avx512vl")))
static void _nr_bk_xpairs8_avx512(const _nr_bk *k, const uint8_t *x, int32_t lo, int32_t hi, int32_t *x2)
{
    const int nin = k->nin;
    if (k->analog == 1) {
        const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi), m16 = _mm512_set1_epi32(0xFFFF);
        for (int p = 0; p < nin; p += 16) {
            const __mmask16 mk = nin - p >= 16 ? 0xFFFF : (__mmask16)((1u << (nin - p)) - 1);
            const __m512i d = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mk, x + p)), vlo), vhi);
            const __m512i v = _mm512_or_si512(_mm512_and_si512(d, m16), _mm512_slli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), d), 16));
            _mm512_mask_storeu_epi32(x2 + p, mk, v);
        }
        return;
    }
    const __m512i vlo = _mm512_set1_epi16((short)lo), vhi = _mm512_set1_epi16((short)hi);
    for (int i = 0; i < nin; i += 32) {
        const __mmask32 mk = nin - i >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << (nin - i)) - 1);
        const __m512i d = _mm512_maskz_mov_epi16(mk, _mm512_min_epi16(_mm512_max_epi16(
            _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mk, x + i)), vlo), vhi));
        const int np = (nin - i + 1) / 2;   /* pairs of this step (16 but at the end) */
        _mm512_mask_storeu_epi32(x2 + i / 2, np >= 16 ? 0xFFFF : (__mmask16)((1u << np) - 1), d);
    }
}
#endif

_NR_BK_CLONES
void _nr_bk_xpairs8(const _nr_bk *k, const uint8_t *x, int32_t lo, int32_t hi, int32_t *x2)
{
#ifdef _NR_BK_AVX2
    /* the clamp bounds of the int16 lanes: input codes are within ±2^15 */
    if (_nr_simd_level() >= 2 && lo >= INT16_MIN && hi <= INT16_MAX && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
        _nr_bk_xpairs8_avx512(k, x, lo, hi, x2);
        return;
    }
#endif
    _nr_bk_xpairs_raw(k, x, 1, lo, hi, x2);
}

static void _nr_bk_portable(const _nr_bk *k, const int32_t *x2, int32_t *acc)
{
    const int P = k->P, n16 = k->n16;
    memset(acc, 0, (size_t)_NR_BK_V * n16 * sizeof *acc);
    for (int p = 0; p < P; p++) {
        const int16_t *w = &k->w2[(size_t)p * 2 * n16];
        for (int v = 0; v < _NR_BK_V; v++) {
            const int32_t xl = (int16_t)(x2[v * P + p] & 0xFFFF), xh = (int16_t)((uint32_t)x2[v * P + p] >> 16);
            if ((xl | xh) == 0) continue;
            int32_t *a = &acc[v * n16];
            for (int q = 0; q < n16; q++) a[q] += (int32_t)w[2 * q] * xl + (int32_t)w[2 * q + 1] * xh;
        }
    }
}

#ifdef _NR_BK_AVX2
/* The pairs that are nonzero in any of a group's four vectors, listed once per group with their
   four x pairs side by side (xs[4i + v]): the sweeps below then need no test per pair, whose
   outcome is data (a branch per pair and sweep mispredicted often on sparse inputs), and each
   x broadcasts straight from memory.  Returns the count. */
static inline int _nr_bk_union(int P, const int32_t *x2, int32_t *idx, int32_t *xs)
{
    int n = 0;
    for (int p = 0; p < P; p++) {
        const int32_t a = x2[p], b = x2[P + p], c = x2[2 * P + p], d = x2[3 * P + p];
        idx[n] = p;
        xs[4 * n] = a;
        xs[4 * n + 1] = b;
        xs[4 * n + 2] = c;
        xs[4 * n + 3] = d;
        n += (a | b | c | d) != 0;
    }
    return n;
}

/* The SIMD kernels, one body for the three instruction sets: a sweep covers NW·W outputs (W =
   int32 lanes of the vector type) of the group's four vectors, 4·NW accumulators kept in
   registers while the listed pairs stream from the packed matrix once for all four vectors.
   MAC(acc, w, x) adds Σ w·x of the int16 pairs to acc.  NW is 4 where the registers allow
   (AVX-512: 16 accumulators, half a load per multiply-add) with a last sweep of 2 (n16 is a
   multiple of 32), and 2 on AVX2. */
#define _NR_BK_KERNEL(NAME, TARGET, VT, W, NWMAX, ZERO, LOAD, SET1, MAC, STORE)                   \
    __attribute__((target(TARGET), always_inline))                                               \
    static inline void NAME##_sweep(const int NW, const int16_t *w2, size_t pitch,                \
                                    const int32_t *idx, const int32_t *xs, int n, int32_t *acc,   \
                                    int n16)                                                      \
    {                                                                                             \
        VT a[_NR_BK_V * (NWMAX)];                                                                 \
        _Pragma("GCC unroll 16") for (int j = 0; j < _NR_BK_V * NW; j++) a[j] = ZERO;             \
        for (int i = 0; i < n; i++) {                                                             \
            const int16_t *w = w2 + (size_t)idx[i] * pitch;                                       \
            VT wv[NWMAX];                                                                         \
            _Pragma("GCC unroll 4") for (int j = 0; j < NW; j++) wv[j] = LOAD(w + 2 * (W) * j);   \
            _Pragma("GCC unroll 4") for (int v = 0; v < _NR_BK_V; v++) {                          \
                const VT x = SET1(xs[_NR_BK_V * i + v]);                                          \
                _Pragma("GCC unroll 4") for (int j = 0; j < NW; j++)                              \
                    a[v * NW + j] = MAC(a[v * NW + j], wv[j], x);                                 \
            }                                                                                     \
        }                                                                                         \
        _Pragma("GCC unroll 4") for (int v = 0; v < _NR_BK_V; v++)                                \
            _Pragma("GCC unroll 4") for (int j = 0; j < NW; j++)                                  \
                STORE(&acc[v * n16 + (W) * j], a[v * NW + j]);                                    \
    }                                                                                             \
    __attribute__((target(TARGET)))                                                              \
    static void NAME(const _nr_bk *k, const int32_t *x2, int32_t *acc)                           \
    {                                                                                             \
        const int n16 = k->n16;                                                                   \
        const size_t pitch = (size_t)2 * n16;                                                     \
        int32_t idx[NR_REG_LEN], xs[_NR_BK_V * NR_REG_LEN];                                       \
        const int n = _nr_bk_union(k->P, x2, idx, xs);                                            \
        int q = 0;                                                                                \
        for (; q + (NWMAX) * (W) <= n16; q += (NWMAX) * (W))                                      \
            NAME##_sweep(NWMAX, &k->w2[2 * q], pitch, idx, xs, n, &acc[q], n16);                  \
        for (; q < n16; q += 2 * (W)) NAME##_sweep(2, &k->w2[2 * q], pitch, idx, xs, n, &acc[q], n16); \
    }

#define _NR_L256(p) _mm256_loadu_si256((const __m256i *)(p))
#define _NR_S256(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define _NR_MAC256(a, w, x) _mm256_add_epi32((a), _mm256_madd_epi16((w), (x)))
#define _NR_L512(p) _mm512_loadu_si512((const void *)(p))
#define _NR_S512(p, v) _mm512_storeu_si512((void *)(p), (v))
#define _NR_MAC512(a, w, x) _mm512_add_epi32((a), _mm512_madd_epi16((w), (x)))

/* AVX2: pmaddwd, 16 outputs per sweep */
_NR_BK_KERNEL(_nr_bk_avx2, "avx2", __m256i, 8, 2, _mm256_setzero_si256(), _NR_L256, _mm256_set1_epi32,
              _NR_MAC256, _NR_S256)
/* AVX-512: the same, 64 outputs per sweep */
_NR_BK_KERNEL(_nr_bk_avx512, "avx512f,avx512bw", __m512i, 16, 4, _mm512_setzero_si512(), _NR_L512,
              _mm512_set1_epi32, _NR_MAC512, _NR_S512)
/* AVX-512 VNNI: the multiply-add and the accumulation in one instruction (vpdpwssd) */
_NR_BK_KERNEL(_nr_bk_vnni, "avx512f,avx512bw,avx512vnni", __m512i, 16, 4, _mm512_setzero_si512(), _NR_L512,
              _mm512_set1_epi32, _mm512_dpwssd_epi32, _NR_S512)
#endif

void _nr_bk_run(const _nr_bk *k, const int32_t *x2, int32_t *acc)
{
#ifdef _NR_BK_AVX2
    const int level = _nr_simd_level();
    if (level >= 3 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) {
        _nr_bk_vnni(k, x2, acc);
        return;
    }
    if (level >= 2 && __builtin_cpu_supports("avx512bw")) {
        _nr_bk_avx512(k, x2, acc);
        return;
    }
    if (level >= 1 && __builtin_cpu_supports("avx2")) {
        _nr_bk_avx2(k, x2, acc);
        return;
    }
#endif
    _nr_bk_portable(k, x2, acc);
}
