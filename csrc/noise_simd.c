/* noise_simd.c — the read-noise step of the analog readout for a row of outputs:
     z[q] = acc[q]·fac[q] + off  (+ sn·N(key q) when sn > 0),  key q = mix64(base ^ (b0 + q))
   where N is the Irwin–Hall draw of analog.c (_nr_gauss_fast).  The AVX-512 version computes the
   same IEEE doubles lane by lane — the same rounded operations in the same order (sums of whole
   numbers that no double rounds are taken in integers), no fused multiply-add (the core is
   built with -std=c11, which keeps contraction off) — so a host with it gives bit-identical
   results; it is picked at run time, the portable loop runs elsewhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

/* NR48_SIMD in the environment caps the vector code the host's features would pick:
   "portable" (none), "avx2", "avx512" (no VNNI); unset, the best one.  The tests run every level
   and compare the results.  Read once. */
int _nr_simd_level(void)
{
    static int level = -1;
    if (level < 0) {
        const char *e = getenv("NR48_SIMD");
        level = !e || !*e ? 3 : strcmp(e, "portable") == 0 ? 0 : strcmp(e, "avx2") == 0 ? 1
              : strcmp(e, "avx512") == 0 ? 2 : 3;
    }
    return level;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(NR_NO_CLONES)
#define _NR_NZ_AVX512 1
#include <immintrin.h>
#endif

static void _nr_noise_z_portable(const double *fac, const int32_t *acc, double off, double sn, uint64_t base,
                                 uint64_t b0, int n, double *z)
{
    for (int q = 0; q < n; q++) {
        double v = (double)acc[q] * fac[q] + off;
        if (sn > 0) {
            const uint64_t r = _nr_mix64(_nr_mix64(base ^ (b0 + (uint64_t)q)));
            double s = (double)(r & 0xFFFF) + (double)(r >> 16 & 0xFFFF) + (double)(r >> 32 & 0xFFFF)
                     + (double)(r >> 48);
            v += sn * ((s - 2.0 * 65535.0) * (1.0 / 37837.22));
        }
        z[q] = v;
    }
}

#ifdef _NR_NZ_AVX512
__attribute__((target("avx512f,avx512dq")))
static inline __m512i _nr_mix64x8(__m512i x)
{
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 30));
    x = _mm512_mullo_epi64(x, _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ull));
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 27));
    x = _mm512_mullo_epi64(x, _mm512_set1_epi64((long long)0x94D049BB133111EBull));
    return _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
}

/* eight lanes q … q+7 of z, their keys k = (b0 + q … b0 + q + 7), a vector */
__attribute__((target("avx512f,avx512dq,avx512bw")))
static inline __m512d _nr_noise8(const double *fac, const int32_t *acc, __m512d voff, __m512d vsn, __m512i vbase,
                                 __m512i k, int noisy)
{
    const __m512d scale = _mm512_set1_pd(1.0 / 37837.22);
    __m512d v = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)acc)), _mm512_loadu_pd(fac));
    v = _mm512_add_pd(v, voff);
    if (noisy) {
        __m512i r = _nr_mix64x8(_nr_mix64x8(_mm512_xor_si512(vbase, k)));
        /* s − 2·65535 of the four 16-bit fields f as integers: pmaddwd adds two fields as signed
           words, (f − 32768) + (f' − 32768), so the two words of a lane give s − 131072 (2 is
           added after).  Every value is a whole number within ±131072, exact in a double: one
           conversion gives the portable loop's (sum of four doubles) − 2·65535. */
        r = _mm512_madd_epi16(_mm512_xor_si512(r, _mm512_set1_epi16((short)0x8000)), _mm512_set1_epi16(1));
        r = _mm512_add_epi32(_mm512_add_epi32(r, _mm512_srli_epi64(r, 32)), _mm512_set1_epi64(2));
        const __m512d s = _mm512_cvtepi32_pd(_mm512_cvtepi64_epi32(r));
        v = _mm512_add_pd(v, _mm512_mul_pd(vsn, _mm512_mul_pd(s, scale)));
    }
    return v;
}

#define _NR_NZ_TARGET "avx512f,avx512dq,avx512bw,avx512vl"

/* The steps of a row: two groups of eight per step (the two mix64 chains are long, and two
   independent ones keep the multipliers busy), each group stored as z (sar = 0) or as its SAR
   output codes (sar = 1: z + 0.5 clamped to [vl, vh], floored, as int16); inlined per sar.
   Returns the outputs done (a multiple of 8; the caller finishes the row). */
__attribute__((target(_NR_NZ_TARGET), always_inline))
static inline int _nr_noise_row(const int sar, const double *fac, const int32_t *acc, double off, double sn,
                                uint64_t base, uint64_t b0, int n, double *z, int16_t *out, double l, double h)
{
    const __m512d voff = _mm512_set1_pd(off), vsn = _mm512_set1_pd(sn);
    const __m512d vl = _mm512_set1_pd(l), vh = _mm512_set1_pd(h), half = _mm512_set1_pd(0.5);
    const __m512i vbase = _mm512_set1_epi64((long long)base);
    const int noisy = sn > 0;
    const __m512i eight = _mm512_set1_epi64(8);
    __m512i k = _mm512_add_epi64(_mm512_set1_epi64((long long)b0), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
#define _NR_NZ_PUT(V, Q)                                                                              \
    do {                                                                                              \
        if (sar)                                                                                      \
            _mm_storeu_si128((__m128i *)&out[Q],                                                      \
                             _mm256_cvtepi32_epi16(_mm512_cvt_roundpd_epi32(                           \
                                 _mm512_min_pd(_mm512_max_pd(_mm512_add_pd((V), half), vl), vh),        \
                                 _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)));                          \
        else                                                                                          \
            _mm512_storeu_pd(&z[Q], (V));                                                             \
    } while (0)
    int q = 0;
    for (; q + 16 <= n; q += 16) {
        const __m512i k8 = _mm512_add_epi64(k, eight);
        const __m512d v0 = _nr_noise8(fac + q, acc + q, voff, vsn, vbase, k, noisy);
        const __m512d v1 = _nr_noise8(fac + q + 8, acc + q + 8, voff, vsn, vbase, k8, noisy);
        _NR_NZ_PUT(v0, q);
        _NR_NZ_PUT(v1, q + 8);
        k = _mm512_add_epi64(k8, eight);
    }
    for (; q + 8 <= n; q += 8, k = _mm512_add_epi64(k, eight))
        _NR_NZ_PUT(_nr_noise8(fac + q, acc + q, voff, vsn, vbase, k, noisy), q);
#undef _NR_NZ_PUT
    return q;
}

__attribute__((target(_NR_NZ_TARGET)))
static void _nr_noise_z_avx512(const double *fac, const int32_t *acc, double off, double sn, uint64_t base,
                               uint64_t b0, int n, double *z)
{
    const int q = _nr_noise_row(0, fac, acc, off, sn, base, b0, n, z, NULL, 0, 0);
    _nr_noise_z_portable(fac + q, acc + q, off, sn, base, b0 + (uint64_t)q, n - q, z + q);
}

/* the host runs the AVX-512 noise rows */
static int _nr_nz_avx512_ok(void)
{
    return _nr_simd_level() >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}
#endif

void _nr_noise_z(const double *fac, const int32_t *acc, double off, double sn, uint64_t base, uint64_t b0,
                 int n, double *z)
{
#ifdef _NR_NZ_AVX512
    if (_nr_nz_avx512_ok()) {
        _nr_noise_z_avx512(fac, acc, off, sn, base, b0, n, z);
        return;
    }
#endif
    _nr_noise_z_portable(fac, acc, off, sn, base, b0, n, z);
}

/* The SAR readout of one pass: d[q] = clamp(floor(z[q] + 0.5) limited to ±1e9, lo, hi) — the
   binary search with its half-LSB pre-offset (analog.c); floor is exact in both versions. */
static inline int64_t _nr_sar1(double z, int64_t lo, int64_t hi)
{
    double r = floor(z + 0.5);
    int64_t v = r < -1e9 ? -1000000000 : r > 1e9 ? 1000000000 : (int64_t)r;
    return v < lo ? lo : v > hi ? hi : v;
}

static void _nr_sar_round_portable(const double *z, int n, int64_t lo, int64_t hi, int64_t *d)
{
    for (int q = 0; q < n; q++) d[q] = _nr_sar1(z[q], lo, hi);
}

#ifdef _NR_NZ_AVX512
/* _nr_sar1 of eight lanes */
__attribute__((target("avx512f,avx512dq")))
static inline __m512i _nr_sar8(__m512d z, __m512i vlo, __m512i vhi)
{
    __m512d r = _mm512_roundscale_pd(_mm512_add_pd(z, _mm512_set1_pd(0.5)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    r = _mm512_min_pd(_mm512_max_pd(r, _mm512_set1_pd(-1e9)), _mm512_set1_pd(1e9));
    return _mm512_min_epi64(_mm512_max_epi64(_mm512_cvttpd_epi64(r), vlo), vhi);
}

__attribute__((target("avx512f,avx512dq")))
static void _nr_sar_round_avx512(const double *z, int n, int64_t lo, int64_t hi, int64_t *d)
{
    const __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
    int q = 0;
    for (; q + 8 <= n; q += 8) _mm512_storeu_si512(&d[q], _nr_sar8(_mm512_loadu_pd(&z[q]), vlo, vhi));
    _nr_sar_round_portable(z + q, n - q, lo, hi, d + q);
}
#endif

void _nr_sar_round(const double *z, int n, int64_t lo, int64_t hi, int64_t *d)
{
#ifdef _NR_NZ_AVX512
    if (_nr_simd_level() >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) {
        _nr_sar_round_avx512(z, n, lo, hi, d);
        return;
    }
#endif
    _nr_sar_round_portable(z, n, lo, hi, d);
}

/* One pass straight to output codes: the read-noise step above and the SAR readout,
   out[q] = clamp(d[q], olo, ohi) with d[q] of _nr_sar_round, without the rows of z and d in
   between (|olo|, |ohi| ≤ 2^15) */
static void _nr_noise_sar_out_portable(const double *fac, const int32_t *acc, double off, double sn, uint64_t base,
                                       uint64_t b0, int n, int64_t lo, int64_t hi, int64_t olo, int64_t ohi,
                                       int16_t *out)
{
    for (int q = 0; q < n; q++) {
        double z;
        _nr_noise_z_portable(fac + q, acc + q, off, sn, base, b0 + (uint64_t)q, 1, &z);
        int64_t v = _nr_sar1(z, lo, hi);
        v = v < olo ? olo : v;
        v = v > ohi ? ohi : v;
        out[q] = (int16_t)v;
    }
}

#ifdef _NR_NZ_AVX512
__attribute__((target(_NR_NZ_TARGET)))
static void _nr_noise_sar_out_avx512(const double *fac, const int32_t *acc, double off, double sn, uint64_t base,
                                     uint64_t b0, int n, int64_t lo, int64_t hi, int64_t olo, int64_t ohi,
                                     int16_t *out)
{
    /* the clamps to ±1e9, [lo, hi] and [olo, ohi] one after the other = one clamp to their
       intersection (when each step leaves a non-empty one); it is applied to z + 0.5 before
       the floor, which gives the same whole numbers (the bounds are whole), all within int32 */
    const int64_t l1 = lo > -1000000000 ? lo : -1000000000, h1 = hi < 1000000000 ? hi : 1000000000;
    const int64_t l2 = l1 > olo ? l1 : olo, h2 = h1 < ohi ? h1 : ohi;
    int q = 0;
    if (l1 <= h1 && l2 <= h2) q = _nr_noise_row(1, fac, acc, off, sn, base, b0, n, NULL, out, (double)l2, (double)h2);
    if (q < n) _nr_noise_sar_out_portable(fac + q, acc + q, off, sn, base, b0 + (uint64_t)q, n - q, lo, hi, olo, ohi, out + q);
}
#endif

void _nr_noise_sar_out(const double *fac, const int32_t *acc, double off, double sn, uint64_t base, uint64_t b0,
                       int n, int64_t lo, int64_t hi, int64_t olo, int64_t ohi, int16_t *out)
{
#ifdef _NR_NZ_AVX512
    if (_nr_nz_avx512_ok()) {
        _nr_noise_sar_out_avx512(fac, acc, off, sn, base, b0, n, lo, hi, olo, ohi, out);
        return;
    }
#endif
    _nr_noise_sar_out_portable(fac, acc, off, sn, base, b0, n, lo, hi, olo, ohi, out);
}
