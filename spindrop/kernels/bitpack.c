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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#if defined(__AVX512VPOPCNTDQ__) || defined(__AVX512BW__)
#include <immintrin.h>
#endif

#define VW 8 /* output channels per vector: 8 x 64-bit lanes */

typedef uint64_t v8u __attribute__((vector_size(VW * sizeof(uint64_t))));
typedef int64_t v8l __attribute__((vector_size(VW * sizeof(int64_t))));

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

/* Sign and count planes of the padded input: (B, Hp, RW) words each, RW = words(Wp*C) + 1. x has
 * element strides xs = (b, c, y, x), u has us. Channels-last x (xs[1] == 1): a pixel's channels
 * are contiguous, so its bits are assembled channel by channel. Otherwise (NCHW) the bits of PB
 * pixels are assembled in vector lanes, channel by channel (a channel's pixels are contiguous),
 * 64 channels at a time; both write them at bit (x + pw)*C of the row. */
#define PB 8
typedef float v8f __attribute__((vector_size(PB * sizeof(float))));
typedef int32_t v8i __attribute__((vector_size(PB * sizeof(int32_t))));
typedef uint8_t v8b __attribute__((vector_size(PB)));

static void pack_pixels_nchw(const float *xr, const uint8_t *ur, const int64_t *xs, const int64_t *us,
                             int t, int64_t C, int64_t W, int64_t pw, uint64_t *srow, uint64_t *krow) {
    for (int64_t x0 = 0; x0 < W; x0 += PB) {
        const int np = (int)(W - x0 < PB ? W - x0 : PB);
        for (int64_t c0 = 0; c0 < C; c0 += 64) {
            const int nc = (int)(C - c0 < 64 ? C - c0 : 64);
            v8u sv = {0}, kv = {0};
            for (int c = 0; c < nc; c++) {
                const float *xp = xr + (c0 + c) * xs[1] + x0;
                const uint8_t *up = ur + (c0 + c) * us[1] + x0 * us[3];
                v8f xv = {0};
                v8i kb = {0};
                memcpy(&xv, xp, (size_t)np * sizeof(float));
                if (us[3] == 1 && np == PB) {
                    v8b bytes;
                    memcpy(&bytes, up, sizeof bytes);
                    kb = __builtin_convertvector(bytes, v8i);
                } else if (us[3] == 0) {
                    kb = (v8i){0} + (int32_t)up[0];
                } else {
                    for (int e = 0; e < np; e++) kb[e] = up[e * us[3]];
                }
                const v8i neg = ~(xv >= 0.0f), kept = kb >= t; /* lanes of -1 (true) or 0; NaN is negative */
                sv |= (__builtin_convertvector(neg, v8u) & 1) << (uint64_t)c;
                kv |= (__builtin_convertvector(kept, v8u) & 1) << (uint64_t)c;
            }
            for (int e = 0; e < np; e++) {
                const int64_t pos = (x0 + e + pw) * C + c0;
                put_bits(srow, pos, sv[e], nc);
                put_bits(krow, pos, kv[e], nc);
            }
        }
    }
}

static void pack_pixels_nhwc(const float *xr, const uint8_t *ur, const int64_t *xs, const int64_t *us,
                             int t, int64_t C, int64_t W, int64_t pw, uint64_t *srow, uint64_t *krow) {
    for (int64_t col = 0; col < W; col++) {
        const float *xp = xr + col * xs[3];
        const uint8_t *up = ur + col * us[3];
        for (int64_t c0 = 0; c0 < C; c0 += 64) {
            const int nc = (int)(C - c0 < 64 ? C - c0 : 64);
            uint64_t sbits = 0, kbits = 0;
            for (int c = 0; c < nc; c++) sbits |= (uint64_t)!(xp[c0 + c] >= 0.0f) << c;
            if (us[1] == 0) kbits = up[0] >= t ? (nc == 64 ? ~0ULL : (1ULL << nc) - 1) : 0;
            else for (int c = 0; c < nc; c++) kbits |= (uint64_t)(up[(c0 + c) * us[1]] >= t) << c;
            const int64_t pos = (col + pw) * C + c0;
            put_bits(srow, pos, sbits, nc);
            put_bits(krow, pos, kbits, nc);
        }
    }
}

static void pack_input(const float *x, const int64_t *xs, const uint8_t *u, const int64_t *us, int t,
                       int64_t B, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw,
                       uint64_t *s, uint64_t *k, int threads) {
    const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw, RW = words(Wp * C) + 1;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t row = 0; row < B * Hp; row++) {
        const int64_t b = row / Hp, y = row % Hp - ph;
        uint64_t *srow = s + row * RW, *krow = k + row * RW;
        memset(srow, 0, (size_t)RW * sizeof(uint64_t));
        memset(krow, 0, (size_t)RW * sizeof(uint64_t));
        if (y < 0 || y >= H) continue; /* a padding row: nothing counts */
        const float *xr = x + b * xs[0] + y * xs[2];
        const uint8_t *ur = u + b * us[0] + y * us[2];
        if (xs[1] == 1 && C > 1) pack_pixels_nhwc(xr, ur, xs, us, t, C, W, pw, srow, krow);
        else pack_pixels_nchw(xr, ur, xs, us, t, C, W, pw, srow, krow);
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
 * for window e. VW output channels are the vector lanes: a window's words are broadcast against
 * the weight words of VW channels, and the VW results are one contiguous store of y; the WB
 * windows share each weight vector. */
static void mac_block(const uint64_t *wt, int64_t O, int64_t KW, const uint64_t *a, const uint64_t *m,
                      const int64_t *kept, int nw, int vector, float *y) {
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
            const v8f out = __builtin_convertvector((v8l){0} + kept[e] - 2 * (v8l)acc[e], v8f);
            memcpy(y + e * O + ob, &out, (size_t)nr * sizeof(float));
        }
    }
}

/* y fp32 channels-last, (B, Ho, Wo, O) in memory = the layer's MAC on the ternary input (file
 * comment). Blocks of WB consecutive windows (in (b, oh, ow) order) share each weight vector. */
void bp_conv(const float *x, const int64_t *xs, const uint8_t *u, const int64_t *us, int t,
             const uint64_t *wt, float *y, int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh,
             int64_t kw, int64_t stride_h, int64_t stride_w, int64_t ph, int64_t pw, int threads) {
    const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw, RW = words(Wp * C) + 1;
    const int64_t Ho = (Hp - kh) / stride_h + 1, Wo = (Wp - kw) / stride_w + 1, L = Ho * Wo;
    const int64_t n = kw * C, SW = words(n), KW = kh * SW;
    uint64_t *s = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    uint64_t *k = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    pack_input(x, xs, u, us, t, B, C, H, W, ph, pw, s, k, threads);
    const int vector = bp_vector_popcount();
    const int64_t blocks = (B * L + WB - 1) / WB;
#pragma omp parallel num_threads(threads)
    {
        uint64_t *a = calloc((size_t)(WB * KW), sizeof(uint64_t));
        uint64_t *m = calloc((size_t)(WB * KW), sizeof(uint64_t));
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int nw = (int)(B * L - blk * WB < WB ? B * L - blk * WB : WB);
            int64_t kept[WB] = {0};
            const int64_t first = blk * WB, l0 = first % L; /* the block's first window; then step */
            int64_t b = first / L, oh = l0 / Wo, ow = l0 % Wo;
            for (int e = 0; e < nw; e++) {
                const int64_t base = (b * Hp + oh * stride_h) * RW;
                kept[e] = gather(s + base, k + base, RW, kh, SW, n, ow * stride_w * C, NULL, 0, a + e * KW,
                                 m + e * KW);
                if (++ow == Wo) {
                    ow = 0;
                    if (++oh == Ho) { oh = 0; b++; }
                }
            }
            for (int e = nw; e < WB; e++) /* an idle window counts nothing */
                for (int64_t q = 0; q < KW; q++) a[e * KW + q] = m[e * KW + q] = 0;
            mac_block(wt, O, KW, a, m, kept, nw, vector, y + blk * WB * O);
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
    if (t <= 0) return ~0ULL;
    if (t > 255) return 0;
#ifdef __AVX512BW__
    if (!portable)
        return (uint64_t)_mm512_cmpge_epu8_mask(_mm512_loadu_si512(w), _mm512_set1_epi8((char)(uint8_t)t));
#endif
    uint64_t r = 0;
    for (int p = 0; p < LB; p++) r |= (uint64_t)(((w[p >> 3] >> (8 * (p & 7))) & 255) >= (uint64_t)t) << p;
    return r;
}

/* In place: bit c of word r becomes bit r of word c (Hacker's Delight, 7-3, on 64-bit words). */
static void transpose64(uint64_t *x) {
    uint64_t m = 0x00000000FFFFFFFFULL;
    for (int j = 32; j; j >>= 1, m ^= m << j)
        for (int base = 0; base < 64; base += 2 * j)
            for (int r = base; r < base + j; r++) {
                const uint64_t d = ((x[r] >> j) ^ x[r + j]) & m;
                x[r] ^= d << j;
                x[r + j] ^= d;
            }
}

/* SpinDrop's word-line-gated convolution, stride 1 (file comment): y channels-last (B, Ho, Wo, O),
 * x as for bp_conv, t[r] the keep threshold of word line r = (c*kh + i)*kw + j. Images and tiles of
 * LB windows are split between threads; a tile's keep bits are drawn, transposed to its windows'
 * keep words (rows[q*LB + p]: word q of window p), and its windows computed WB at a time. */
void bp_wordline_conv(const float *x, const int64_t *xs, const int32_t *t, uint64_t seed, const uint64_t *wt,
                      float *y, int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh, int64_t kw,
                      int64_t ph, int64_t pw, int threads) {
    const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw, RW = words(Wp * C) + 1;
    const int64_t Wo = Wp - kw + 1, L = (Hp - kh + 1) * Wo, K = C * kh * kw, tiles = (L + LB - 1) / LB;
    const int64_t n = kw * C, SW = words(n), KW = kh * SW;
    const uint8_t all_kept = 1;
    const int64_t broadcast[4] = {0, 0, 0, 0};
    uint64_t *s = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    uint64_t *k = malloc((size_t)(B * Hp * RW) * sizeof(uint64_t));
    pack_input(x, xs, &all_kept, broadcast, 1, B, C, H, W, ph, pw, s, k, threads);
    const int vector = bp_vector_popcount();
#pragma omp parallel num_threads(threads)
    {
        uint64_t *rows = malloc((size_t)(KW * LB) * sizeof(uint64_t));
        uint64_t *a = calloc((size_t)(WB * KW), sizeof(uint64_t));
        uint64_t *m = calloc((size_t)(WB * KW), sizeof(uint64_t));
#pragma omp for schedule(static)
        for (int64_t item = 0; item < B * tiles; item++) {
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
                mac_block(wt, O, KW, a, m, kept, nw, vector, y + (b * L + l0 + p0) * O);
            }
        }
        free(rows); free(a); free(m);
    }
    free(s); free(k);
}
