/* Bit-packed inference of a binary layer: ternary input (+1, -1 or 0) times +-1 weights by
 * XNOR-popcount (docs/performance.md "The bit-packed inference path"). Loaded by
 * spindrop/kernels/bitpack.py.
 *
 * Input: x (B, C, H, W) fp32 before binarisation, element strides xs (NCHW or channels-last), and
 * keep bytes u with element strides us (0 where the mask is broadcast); entry (b, c, y, x) is
 *     v = 0 if u[b, c, y, x] < t, else sign(x) = +1 if x >= 0 else -1 (NaN: -1, as spindrop.binary.sign).
 * A fully connected layer is the case H = W = kh = kw = 1, C = inputs.
 *
 * Packing: each zero-padded input row (b, y) is one bit string of Wp*C bits, pixel-major and
 * channel-minor (bit (x*C + c)), as two planes: s (1 = -1) and k (1 = the entry counts: kept and
 * not padding). The window at (oh, ow) reads kh segments, segment i being the kw*C bits from bit
 * ow*stride_w*C of row oh*stride_h + i; each segment is padded to SW = ceil(kw*C/64) words with k = 0.
 * Weights are packed in the same order (bp_pack_weights), so with a = the window's s, w = the
 * weight's sign bits:
 *     y[b, o, oh, ow] = sum over counted bits of (+-1)(+-1) = popcount(k) - 2*popcount((a XOR w) AND k),
 * an exact integer. Padding, dropped entries and the tail bits of each segment have k = 0.
 *
 * SpinDrop (bp_wordline_conv, stride 1): the count plane is further ANDed, per window, with one
 * keep bit per word line, the bits of wordline.c's stream (its tile_bytes: per image b, tile of
 * LB = 64 windows and word line r = (c, i, j), the 64 bytes of the SplitMix64 words
 * ((b*K + r)*tiles + tile)*8 + w, w < 8; kept iff byte >= t[r]), so both kernels see the same mask.
 * A word line's 64 bits (one per window of the tile) are written at its bit position in the
 * window's packed string (row j*C + c of segment i) and a 64 x 64 bit transpose turns them into
 * each window's keep words.
 *
 * Popcount: AVX-512 VPOPCNTDQ (8 words per instruction) where the compiler targets it
 * (-march=native on a CPU that has it), else the compiler's scalar popcount; the keep bytes are
 * compared 64 at a time with AVX-512 BW, else one by one. bp_force_portable(1) selects the scalar
 * forms at run time (tests).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#if defined(__AVX512VPOPCNTDQ__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#define VW 8 /* output channels per vector: 8 x 64-bit lanes */

typedef uint64_t v8u __attribute__((vector_size(VW * sizeof(uint64_t))));
typedef int64_t v8l __attribute__((vector_size(VW * sizeof(int64_t))));
typedef float v8f __attribute__((vector_size(VW * sizeof(float))));

static int portable = 0;

void bp_force_portable(int on) { portable = on; }

/* 1 when the vector popcount is compiled in and not switched off. */
int bp_vector_popcount(void) {
#ifdef __AVX512VPOPCNTDQ__
    return !portable;
#else
    return 0;
#endif
}

static inline v8u popcount_scalar(v8u v) {
    v8u r;
    for (int e = 0; e < VW; e++) r[e] = (uint64_t)__builtin_popcountll(v[e]);
    return r;
}

#ifdef __AVX512VPOPCNTDQ__
static inline v8u popcount_vector(v8u v) { return (v8u)_mm512_popcnt_epi64((__m512i)v); }
#endif

static inline v8u vload(const uint64_t *p) { v8u v; memcpy(&v, p, sizeof v); return v; }
static inline v8f vloadf(const float *p) { v8f v; memcpy(&v, p, sizeof v); return v; }

static int64_t words(int64_t bits) { return (bits + 63) / 64; }

/* 64 bits of a row from bit `pos` (the row has one spare word at its end). */
static inline uint64_t bits_at(const uint64_t *row, int64_t pos) {
    const int64_t q = pos >> 6;
    const int r = (int)(pos & 63);
    return r ? (row[q] >> r) | (row[q + 1] << (64 - r)) : row[q];
}

/* OR the low `n` bits of v into a bit string at bit `pos` (n <= 64; one spare word at the end). */
static inline void put_bits(uint64_t *row, int64_t pos, uint64_t v, int64_t n) {
    const int64_t q = pos >> 6;
    const int r = (int)(pos & 63);
    row[q] |= v << r;
    if (r && r + n > 64) row[q + 1] |= v >> (64 - r);
}

/* In place: bit c of word r becomes bit r of word c (Hacker's Delight, 7-3, on 64-bit words):
 * stage j swaps the bits (r, c + j) and (r + j, c) for r, c with bit j clear. */
static void transpose64_scalar(uint64_t *x) {
    uint64_t m = 0x00000000FFFFFFFFULL;
    for (int j = 32; j; j >>= 1, m ^= m << j)
        for (int base = 0; base < 64; base += 2 * j)
            for (int r = base; r < base + j; r++) {
                const uint64_t d = ((x[r] >> j) ^ x[r + j]) & m;
                x[r] ^= d << j;
                x[r + j] ^= d;
            }
}

#ifdef __AVX512F__
/* The same stages on 8 words per register: j = 32, 16, 8 pair whole registers; j = 4, 2, 1 pair
 * the lanes l and l ^ j of one register (a permute brings the partner, masks pick the half). */
#define ACROSS(j, mask)                                                                            \
    for (int i = 0; i < 8; i++)                                                                    \
        if (!(i & ((j) / 8))) {                                                                    \
            const __m512i a = v[i], b = v[i + (j) / 8];                                            \
            const __m512i d = _mm512_and_si512(_mm512_xor_si512(_mm512_srli_epi64(a, j), b),      \
                                               _mm512_set1_epi64((long long)(mask)));              \
            v[i] = _mm512_xor_si512(a, _mm512_slli_epi64(d, j));                                   \
            v[i + (j) / 8] = _mm512_xor_si512(b, d);                                               \
        }
#define WITHIN(j, mask, low)                                                                       \
    for (int i = 0; i < 8; i++) {                                                                  \
        const __m512i partner = _mm512_set_epi64(7 ^ (j), 6 ^ (j), 5 ^ (j), 4 ^ (j), 3 ^ (j),      \
                                                 2 ^ (j), 1 ^ (j), 0 ^ (j));                       \
        const __m512i d = _mm512_and_si512(                                                        \
            _mm512_xor_si512(_mm512_srli_epi64(v[i], j), _mm512_permutexvar_epi64(partner, v[i])), \
            _mm512_set1_epi64((long long)(mask)));                                                 \
        v[i] = _mm512_mask_xor_epi64(v[i], (__mmask8)(low), v[i], _mm512_slli_epi64(d, j));        \
        v[i] = _mm512_mask_xor_epi64(v[i], (__mmask8)~(low), v[i], _mm512_permutexvar_epi64(partner, d)); \
    }

static void transpose64_vector(uint64_t *x) {
    __m512i v[8];
    for (int i = 0; i < 8; i++) v[i] = _mm512_loadu_si512(x + 8 * i);
    ACROSS(32, 0x00000000FFFFFFFFULL)
    ACROSS(16, 0x0000FFFF0000FFFFULL)
    ACROSS(8, 0x00FF00FF00FF00FFULL)
    WITHIN(4, 0x0F0F0F0F0F0F0F0FULL, 0x0F)
    WITHIN(2, 0x3333333333333333ULL, 0x33)
    WITHIN(1, 0x5555555555555555ULL, 0x55)
    for (int i = 0; i < 8; i++) _mm512_storeu_si512(x + 8 * i, v[i]);
}
#endif

static void transpose64(uint64_t *x) {
#ifdef __AVX512F__
    if (!portable) {
        transpose64_vector(x);
        return;
    }
#endif
    transpose64_scalar(x);
}

/* Bit e (e < n <= 64) = 1 where the float p[e*step] is negative or NaN: !(p >= 0), so -0 is +1.
 * AVX-512: 16 contiguous floats per compare. */
static inline uint64_t sign_bits(const float *p, int64_t step, int n) {
    uint64_t r = 0;
#ifdef __AVX512F__
    if (!portable && step == 1) {
        for (int e = 0; e < n; e += 16) {
            const __mmask16 lanes = (__mmask16)(n - e >= 16 ? 0xFFFFu : (1u << (n - e)) - 1);
            const __m512 v = _mm512_maskz_loadu_ps(lanes, p + e);
            r |= (uint64_t)_mm512_mask_cmp_ps_mask(lanes, v, _mm512_setzero_ps(), _CMP_NGE_UQ) << e;
        }
        return r;
    }
#endif
    for (int e = 0; e < n; e++) r |= (uint64_t)!(p[e * step] >= 0.0f) << e;
    return r;
}

/* Bit e (e < n <= 64) = 1 where the byte p[e*step] >= t (step 0: one byte for all). AVX-512 BW:
 * 64 contiguous bytes per compare. */
static inline uint64_t keep_bits(const uint8_t *p, int64_t step, int n, int t) {
    const uint64_t all = n == 64 ? ~0ULL : (1ULL << n) - 1;
    if (step == 0 || t <= 0 || t > 255) return p[0] >= t ? all : 0;
#ifdef __AVX512BW__
    if (!portable && step == 1) {
        const __m512i v = _mm512_maskz_loadu_epi8((__mmask64)all, p);
        return (uint64_t)_mm512_mask_cmpge_epu8_mask((__mmask64)all, v, _mm512_set1_epi8((char)(uint8_t)t));
    }
#endif
    uint64_t r = 0;
    for (int e = 0; e < n; e++) r |= (uint64_t)(p[e * step] >= t) << e;
    return r;
}

/* One input row (b, y) of the sign plane (x, floats) or the count plane's keep bits (u, bytes):
 * element (c, col) at p + (c*cs + col*ps)*size. */
typedef struct {
    const char *p;
    int64_t size, cs, ps;
    int sign, t;
} Plane;

static inline uint64_t run_bits(const Plane *pl, int64_t c, int64_t col, int64_t step, int n) {
    const char *at = pl->p + (c * pl->cs + col * pl->ps) * pl->size;
    return pl->sign ? sign_bits((const float *)at, step, n) : keep_bits((const uint8_t *)at, step, n, pl->t);
}

#ifdef __AVX512F__
/* The NCHW route with AVX-512: the bits of PX pixels of channel c (one run_bits call) are ORed in
 * as bit c of PX 64-bit accumulator lanes, one lane per pixel, selected by the bits as masks. */
#define PX 32
static void pack_plane_channels_vector(const Plane *pl, int64_t C, int64_t W, int64_t pw, uint64_t *row) {
    for (int64_t x0 = 0; x0 < W; x0 += PX) {
        const int np = (int)(W - x0 < PX ? W - x0 : PX);
        for (int64_t c0 = 0; c0 < C; c0 += 64) {
            const int nc = (int)(C - c0 < 64 ? C - c0 : 64);
            __m512i acc[PX / 8];
            for (int v = 0; v < PX / 8; v++) acc[v] = _mm512_setzero_si512();
            for (int c = 0; c < nc; c++) {
                const uint64_t bits = run_bits(pl, c0 + c, x0, pl->ps, np);
                const __m512i bit = _mm512_set1_epi64((long long)(1ULL << c));
                for (int v = 0; v < PX / 8; v++)
                    acc[v] = _mm512_mask_or_epi64(acc[v], (__mmask8)(bits >> (8 * v)), acc[v], bit);
            }
            uint64_t lanes[PX];
            memcpy(lanes, acc, sizeof lanes);
            for (int e = 0; e < np; e++) put_bits(row, (x0 + e + pw) * C + c0, lanes[e], nc);
        }
    }
}
#endif

/* The row's bits, a pixel's C bits at bit (col + pw)*C. Where a pixel's channels are contiguous
 * (or broadcast), or its pixels are not, 64 channels of a pixel are one run_bits call; otherwise
 * (NCHW) PX pixels of a channel are one call, ORed into per-pixel lanes with AVX-512, or, in the
 * portable form, 64 pixels are one call, 64 channels of them one 64 x 64 block, and its transpose
 * gives each pixel's channel bits. */
static void pack_plane(const Plane *pl, int64_t C, int64_t W, int64_t pw, uint64_t *row) {
    if (pl->cs == 0 || pl->cs == 1 || pl->ps > 1) {
        for (int64_t col = 0; col < W; col++)
            for (int64_t c0 = 0; c0 < C; c0 += 64) {
                const int nc = (int)(C - c0 < 64 ? C - c0 : 64);
                put_bits(row, (col + pw) * C + c0, run_bits(pl, c0, col, pl->cs, nc), nc);
            }
        return;
    }
#ifdef __AVX512F__
    if (!portable) {
        pack_plane_channels_vector(pl, C, W, pw, row);
        return;
    }
#endif
    uint64_t block[64];
    for (int64_t x0 = 0; x0 < W; x0 += 64) {
        const int np = (int)(W - x0 < 64 ? W - x0 : 64);
        for (int64_t c0 = 0; c0 < C; c0 += 64) {
            const int nc = (int)(C - c0 < 64 ? C - c0 : 64);
            for (int c = 0; c < nc; c++) block[c] = run_bits(pl, c0 + c, x0, pl->ps, np);
            for (int c = nc; c < 64; c++) block[c] = 0;
            transpose64(block);
            for (int e = 0; e < np; e++) put_bits(row, (x0 + e + pw) * C + c0, block[e], nc);
        }
    }
}

/* 1 if an entry of the input row is not +1 or -1 (NaN included). */
static int row_not_binary(const float *xr, const int64_t *xs, int64_t C, int64_t W) {
    int bad = 0;
    if (xs[3] == 1)
        for (int64_t c = 0; c < C; c++) {
            const float *p = xr + c * xs[1];
            for (int64_t e = 0; e < W; e++) bad |= !(fabsf(p[e]) == 1.0f);
        }
    else
        for (int64_t col = 0; col < W; col++) {
            const float *p = xr + col * xs[3];
            for (int64_t c = 0; c < C; c++) bad |= !(fabsf(p[c * xs[1]]) == 1.0f);
        }
    return bad;
}

/* Packs the planes, the rows split between the threads of the enclosing parallel region (one region
 * per kernel call: packing and the MACs share its threads); sets *bad (shared) if `check` and an input
 * entry is not +1 or -1. Ends with the worksharing loop's barrier. */
static void pack_rows(const float *x, const int64_t *xs, const uint8_t *u, const int64_t *us, int t,
                      int64_t B, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw,
                      uint64_t *s, uint64_t *k, int check, int *bad) {
    const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw, RW = words(Wp * C) + 1;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < B * Hp; row++) {
        const int64_t b = row / Hp, y = row % Hp - ph;
        uint64_t *srow = s + row * RW, *krow = k + row * RW;
        memset(srow, 0, (size_t)RW * sizeof(uint64_t));
        memset(krow, 0, (size_t)RW * sizeof(uint64_t));
        if (y < 0 || y >= H) continue; /* a padding row: nothing counts */
        const Plane signs = {(const char *)(x + b * xs[0] + y * xs[2]), sizeof(float), xs[1], xs[3], 1, 0};
        const Plane kept = {(const char *)(u + b * us[0] + y * us[2]), 1, us[1], us[3], 0, t};
        pack_plane(&signs, C, W, pw, srow);
        pack_plane(&kept, C, W, pw, krow);
        if (check && row_not_binary(x + b * xs[0] + y * xs[2], xs, C, W)) {
#pragma omp atomic write
            *bad = 1;
        }
    }
}

/* Weights (O, C, kh, kw) fp32 -> sign bits transposed to (KW, Op): word q of output channel o at
 * wt[q*Op + o], KW = kh*SW with SW = words(kw*C), Op = O rounded up to VW (zero lanes). Packed
 * once per weight version by the caller (spindrop/kernels/bitpack.py). */
void bp_pack_weights(const float *w, uint64_t *wt, int64_t O, int64_t C, int64_t kh, int64_t kw) {
    const int64_t SW = words(kw * C), Op = (O + VW - 1) / VW * VW;
    memset(wt, 0, (size_t)(kh * SW * Op) * sizeof(uint64_t));
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++) {
                    const int64_t bit = j * C + c, q = i * SW + (bit >> 6);
                    if (!(w[((o * C + c) * kh + i) * kw + j] >= 0.0f)) wt[q * Op + o] |= 1ULL << (bit & 63);
                }
}

/* A window's segments a[q], m[q] (q < KW), m ANDed with keep[q*ks] unless keep is NULL; returns
 * popcount(m). */
static int64_t gather(const uint64_t *srow0, const uint64_t *krow0, int64_t RW, int64_t kh, int64_t SW,
                      int64_t n, int64_t off, const uint64_t *keep, int64_t ks, uint64_t *a, uint64_t *m) {
    int64_t kept = 0;
    for (int64_t i = 0; i < kh; i++) {
        const uint64_t *sr = srow0 + i * RW, *kr = krow0 + i * RW;
        for (int64_t q = 0; q < SW; q++) {
            const int64_t rest = n - 64 * q, at = i * SW + q;
            const uint64_t tail = rest >= 64 ? ~0ULL : (1ULL << rest) - 1;
            a[at] = bits_at(sr, off + 64 * q);
            m[at] = bits_at(kr, off + 64 * q) & tail & (keep ? keep[at * ks] : ~0ULL);
            kept += __builtin_popcountll(m[at]);
        }
    }
    return kept;
}

#define WB 4 /* windows per block: each weight vector serves WB windows */

static inline v8u popcount_any(v8u d, int vector) {
#ifdef __AVX512VPOPCNTDQ__
    return vector ? popcount_vector(d) : popcount_scalar(d);
#else
    (void)vector;
    return popcount_scalar(d);
#endif
}

/* The outputs of nw <= WB windows (a, m: WB*KW words, idle windows all 0), written at y + e*O
 * for window e, each times sc[e][o] where sc[e] is not NULL (one fp32 product of the exact
 * integer, as the fp32 path's h * s). VW output channels are the vector lanes: a window's words
 * are broadcast against the weight words of VW channels, and the VW results are one contiguous
 * store of y; the WB windows share each weight vector. */
static void mac_block(const uint64_t *wt, int64_t O, int64_t KW, const uint64_t *a, const uint64_t *m,
                      const int64_t *kept, const float *const *sc, int nw, int vector, float *y) {
    const int64_t Op = (O + VW - 1) / VW * VW;
    for (int64_t ob = 0; ob < Op; ob += VW) {
        v8u acc[WB] = {0};
        for (int64_t q = 0; q < KW; q++) {
            const v8u wv = vload(wt + q * Op + ob);
            for (int e = 0; e < WB; e++)
                acc[e] += popcount_any((wv ^ a[e * KW + q]) & m[e * KW + q], vector);
        }
        const int nr = (int)(O - ob < VW ? O - ob : VW);
        for (int e = 0; e < nw; e++) {
            v8f out = __builtin_convertvector((v8l){0} + kept[e] - 2 * (v8l)acc[e], v8f);
            if (nr == VW) { /* whole vectors: fixed-size copies are plain vector loads and stores */
                if (sc[e]) out *= vloadf(sc[e] + ob);
                memcpy(y + e * O + ob, &out, sizeof out);
                continue;
            }
            if (sc[e]) {
                v8f f = {0};
                memcpy(&f, sc[e] + ob, (size_t)nr * sizeof(float));
                out *= f;
            }
            memcpy(y + e * O + ob, &out, (size_t)nr * sizeof(float));
        }
    }
}

/* y fp32 channels-last, (B, Ho, Wo, O) in memory = the layer's MAC on the ternary input (file
 * comment), times scale[b*O + o] unless scale is NULL. Blocks of WB consecutive windows (in
 * (b, oh, ow) order) share each weight vector. */
void bp_conv(const float *x, const int64_t *xs, const uint8_t *u, const int64_t *us, int t,
             const uint64_t *wt, const float *scale, float *y, int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh,
             int64_t kw, int64_t stride_h, int64_t stride_w, int64_t ph, int64_t pw, int threads) {
    const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw, RW = words(Wp * C) + 1;
    const int64_t Ho = (Hp - kh) / stride_h + 1, Wo = (Wp - kw) / stride_w + 1, L = Ho * Wo;
    const int64_t n = kw * C, SW = words(n), KW = kh * SW;
    uint64_t *s = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    uint64_t *k = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    const int vector = bp_vector_popcount();
    const int64_t blocks = (B * L + WB - 1) / WB;
    int bad = 0;
#pragma omp parallel num_threads(threads)
    {
        pack_rows(x, xs, u, us, t, B, C, H, W, ph, pw, s, k, 0, &bad);
        uint64_t *a = calloc((size_t)(WB * KW), sizeof(uint64_t));
        uint64_t *m = calloc((size_t)(WB * KW), sizeof(uint64_t));
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int nw = (int)(B * L - blk * WB < WB ? B * L - blk * WB : WB);
            int64_t kept[WB] = {0};
            const float *sc[WB] = {NULL};
            const int64_t first = blk * WB, l0 = first % L; /* the block's first window; then step */
            int64_t b = first / L, oh = l0 / Wo, ow = l0 % Wo;
            for (int e = 0; e < nw; e++) {
                const int64_t base = (b * Hp + oh * stride_h) * RW;
                sc[e] = scale ? scale + b * O : NULL;
                kept[e] = gather(s + base, k + base, RW, kh, SW, n, ow * stride_w * C, NULL, 0, a + e * KW,
                                 m + e * KW);
                if (++ow == Wo) {
                    ow = 0;
                    if (++oh == Ho) { oh = 0; b++; }
                }
            }
            for (int e = nw; e < WB; e++) /* an idle window counts nothing */
                for (int64_t q = 0; q < KW; q++) a[e * KW + q] = m[e * KW + q] = 0;
            mac_block(wt, O, KW, a, m, kept, sc, nw, vector, y + blk * WB * O);
        }
        free(a); free(m);
    }
    free(s); free(k);
}

/* SpinDrop's keep bits: the stream of wordline.c (file comment). */
#define LB 64 /* windows per tile */

static const uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL;

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Bit p = byte p of stream words q + 1 .. q + 8 (little-endian within a word) >= t. */
static inline uint64_t keep_word(uint64_t seed, uint64_t q, int t) {
    uint64_t w[LB / 8];
    for (int e = 0; e < LB / 8; e++) w[e] = mix64(seed + (q + (uint64_t)e + 1) * GOLDEN);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return keep_bits((const uint8_t *)w, 1, LB, t);
#else
    uint8_t bytes[LB];
    for (int p = 0; p < LB; p++) bytes[p] = (uint8_t)(w[p >> 3] >> (8 * (p & 7)));
    return keep_bits(bytes, 1, LB, t);
#endif
}

/* SpinDrop's word-line-gated convolution, stride 1 (file comment): y channels-last (B, Ho, Wo, O),
 * x as for bp_conv, t[r] the keep threshold of word line r = (c*kh + i)*kw + j. Images and tiles of
 * LB windows are split between threads; a tile's keep bits are drawn, transposed to its windows'
 * keep words (rows[q*LB + p]: word q of window p), and its windows computed WB at a time.
 * With `binary_only`, an input that is not all +1 / -1 writes nothing and returns 0 (the caller's
 * fp32 path then multiplies its real values); otherwise returns 1. */
int bp_wordline_conv(const float *x, const int64_t *xs, const int32_t *t, uint64_t seed, const uint64_t *wt,
                     float *y, int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh, int64_t kw,
                     int64_t ph, int64_t pw, int binary_only, int threads) {
    const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw, RW = words(Wp * C) + 1;
    const int64_t Wo = Wp - kw + 1, L = (Hp - kh + 1) * Wo, K = C * kh * kw, tiles = (L + LB - 1) / LB;
    const int64_t n = kw * C, SW = words(n), KW = kh * SW;
    const uint8_t all_kept = 1;
    const int64_t broadcast[4] = {0, 0, 0, 0};
    uint64_t *s = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    uint64_t *k = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    const int vector = bp_vector_popcount();
    int bad = 0;
#pragma omp parallel num_threads(threads)
    {
        pack_rows(x, xs, &all_kept, broadcast, 1, B, C, H, W, ph, pw, s, k, binary_only, &bad);
        uint64_t *rows = bad ? NULL : malloc((size_t)(KW * LB) * sizeof(uint64_t));
        uint64_t *a = calloc((size_t)(WB * KW), sizeof(uint64_t));
        uint64_t *m = calloc((size_t)(WB * KW), sizeof(uint64_t));
        const int64_t items = bad ? 0 : B * tiles; /* the same for every thread: read after the barrier */
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; item++) {
            const int64_t b = item / tiles, tile = item % tiles, l0 = tile * LB;
            const int len = (int)(L - l0 < LB ? L - l0 : LB);
            memset(rows, 0, (size_t)(KW * LB) * sizeof(uint64_t));
            for (int64_t c = 0; c < C; c++)
                for (int64_t i = 0; i < kh; i++)
                    for (int64_t j = 0; j < kw; j++) {
                        const int64_t r = (c * kh + i) * kw + j, bit = j * C + c;
                        const uint64_t q = ((uint64_t)(b * K + r) * (uint64_t)tiles + (uint64_t)tile) * (LB / 8);
                        rows[(i * SW + (bit >> 6)) * LB + (bit & 63)] = keep_word(seed, q, t[r]);
                    }
            for (int64_t q = 0; q < KW; q++) transpose64(rows + q * LB);
            for (int p0 = 0; p0 < len; p0 += WB) {
                const int nw = len - p0 < WB ? len - p0 : WB;
                int64_t kept[WB] = {0};
                for (int e = 0; e < nw; e++) {
                    const int64_t l = l0 + p0 + e, base = (b * Hp + l / Wo) * RW;
                    kept[e] = gather(s + base, k + base, RW, kh, SW, n, (l % Wo) * C, rows + p0 + e, LB,
                                     a + e * KW, m + e * KW);
                }
                for (int e = nw; e < WB; e++)
                    for (int64_t q = 0; q < KW; q++) a[e * KW + q] = m[e * KW + q] = 0;
                const float *none[WB] = {NULL};
                mac_block(wt, O, KW, a, m, kept, none, nw, vector, y + (b * L + l0 + p0) * O);
            }
        }
        free(rows); free(a); free(m);
    }
    free(s); free(k);
    return !bad;
}
