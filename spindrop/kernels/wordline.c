/* SpinDrop's word-line-gated convolution, fused: keep bits, gating and the matrix product are
 * computed tile by tile, so the k^2-times expanded patch matrix never reaches memory
 * (docs/performance.md "The SpinDrop kernel"). Loaded by spindrop/kernels/wordline.py.
 *
 * Geometry (stride 1, dilation 1): x is the zero-padded input (B, C, Hp, Wp), w is (O, K) with
 * K = C*kh*kw ordered (c, i, j), windows l = oh*Wo + ow with Ho = Hp - kh + 1, Wo = Wp - kw + 1,
 * L = Ho*Wo.  y[b, o, l] = sum_k w[o, k] * m[b, k, l] * x[b, c, oh + i, ow + j].
 *
 * Keep bits (one per image, word line and window): entry n = (b*K + k)*L + l reads byte n of a
 * SplitMix64 stream (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014): word q = mix64(seed + (q + 1)*GOLDEN), byte n = (word n/8 >> 8*(n mod 8)) & 255.
 * Kept iff byte >= t[k], so P(drop) = t[k]/2^8 for word line k (t[k] = 2^8: always dropped, a
 * module stuck at drop); a kept entry is multiplied by `scale`.  The bits are a
 * function of (seed, n), so the backward pass regenerates them instead of storing them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#define VL 16 /* floats per vector (GCC vector extension: one AVX-512 register, two AVX2) */
#define LB 64 /* windows per tile */
#define RB 8  /* accumulator rows per micro-kernel */

typedef float vf __attribute__((vector_size(VL * sizeof(float))));

static const uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL;

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }

typedef struct {
    int64_t B, C, Hp, Wp, kh, kw, O, Ho, Wo, K, L;
    uint64_t seed;
    const int32_t *t; /* per word line */
    float scale;
} Geom;

static Geom geom(int64_t B, int64_t C, int64_t Hp, int64_t Wp, int64_t kh, int64_t kw, int64_t O,
                 uint64_t seed, const int32_t *t, float scale) {
    Geom g = {B, C, Hp, Wp, kh, kw, O, Hp - kh + 1, Wp - kw + 1, C * kh * kw, 0, seed, t, scale};
    g.L = g.Ho * g.Wo;
    return g;
}

/* Keep bytes of one tile of image b: u[k*LB + p] for word line k and window l0 + p (tile =
 * l0/LB). The tile's LB bytes of word line k are words ((b*K + k)*tiles + tile)*LB/8 + w,
 * w < LB/8, of the stream (the bits of windows past L are drawn and unused). */
static void tile_bytes(const Geom *g, int64_t b, int64_t tile, uint8_t *u) {
    const int64_t tiles = (g->L + LB - 1) / LB, n = g->K * (LB / 8);
    const uint64_t q0 = ((uint64_t)(b * g->K) * (uint64_t)tiles + (uint64_t)tile) * (LB / 8);
    const uint64_t stride = (uint64_t)tiles * (LB / 8);
    uint64_t words[LB / 8];
    for (int64_t idx = 0; idx < n; idx += LB / 8) {
        const uint64_t q = q0 + (uint64_t)(idx / (LB / 8)) * stride;
        for (int w = 0; w < LB / 8; w++) words[w] = mix64(g->seed + (q + (uint64_t)w + 1) * GOLDEN);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(u + idx * 8, words, sizeof words);
#else
        for (int p = 0; p < LB; p++) u[idx * 8 + p] = (uint8_t)(words[p >> 3] >> (8 * (p & 7)));
#endif
    }
}

/* The row segments of a tile: windows p .. p + n - 1 of the tile are (oh, ow .. ow + n - 1). */
typedef struct { int count; int p[LB], oh[LB], ow[LB], n[LB]; } Segments;

static void segments(const Geom *g, int64_t l0, int len, Segments *s) {
    s->count = 0;
    for (int p = 0; p < len;) {
        int64_t l = l0 + p;
        int oh = (int)(l / g->Wo), ow = (int)(l % g->Wo);
        int n = (int)(g->Wo - ow);
        if (n > len - p) n = len - p;
        s->p[s->count] = p; s->oh[s->count] = oh; s->ow[s->count] = ow; s->n[s->count] = n;
        s->count++;
        p += n;
    }
}

/* Gated patches of a tile: z[k][p] = m[k][p] * x[b, c, oh + i, ow + j] with m = scale where the
 * keep byte u[k][p] >= t[k] and 0 elsewhere; z is zero for p >= len. The multipliers are written to
 * `m` when it is not NULL. */
static void gated_tile(const Geom *g, const float *xb, const uint8_t *u, int len, const Segments *s,
                       float *z, float *m) {
    float row[LB];
    const float scale = g->scale;
    for (int64_t k = 0; k < g->K; k++) {
        const int64_t c = k / (g->kh * g->kw), i = (k / g->kw) % g->kh, j = k % g->kw;
        const int t = g->t[k];
        float *mk = m ? m + k * LB : row;
        float *zk = z + k * LB;
        const uint8_t *uk = u + k * LB;
        for (int p = 0; p < LB; p++) mk[p] = (float)(uk[p] >= t) * scale;
        for (int r = 0; r < s->count; r++) {
            const float *src = xb + (c * g->Hp + s->oh[r] + i) * g->Wp + s->ow[r] + j;
            const int p = s->p[r];
            for (int e = 0; e < s->n[r]; e++) zk[p + e] = mk[p + e] * src[e];
        }
        for (int p = len; p < LB; p++) zk[p] = 0.0f;
    }
}

static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* y (B, O, L) = per image and tile, W (O x K) times the gated patches (K x LB). wt is W
 * transposed and zero-padded to (K, round_up(O, RB)). */
void wl_forward(const float *x, const float *w, float *y, int64_t B, int64_t C, int64_t Hp,
                int64_t Wp, int64_t kh, int64_t kw, int64_t O, uint64_t seed, const int32_t *t,
                float scale, int threads) {
    const Geom g = geom(B, C, Hp, Wp, kh, kw, O, seed, t, scale);
    const int64_t Op = round_up(O, RB), tiles = (g.L + LB - 1) / LB;
    float *wt = calloc((size_t)(g.K * Op), sizeof(float));
    for (int64_t o = 0; o < O; o++)
        for (int64_t k = 0; k < g.K; k++) wt[k * Op + o] = w[o * g.K + k];
#pragma omp parallel num_threads(threads)
    {
        float *z = malloc((size_t)(g.K * LB) * sizeof(float));
        uint8_t *u = malloc((size_t)(g.K * LB));
        Segments s;
#pragma omp for schedule(static)
        for (int64_t item = 0; item < B * tiles; item++) {
            const int64_t b = item / tiles, l0 = (item % tiles) * LB;
            const int len = (int)(g.L - l0 < LB ? g.L - l0 : LB);
            segments(&g, l0, len, &s);
            tile_bytes(&g, b, l0 / LB, u);
            gated_tile(&g, x + b * C * Hp * Wp, u, len, &s, z, NULL);
            for (int64_t ob = 0; ob < Op; ob += RB) {
                for (int pc = 0; pc < len; pc += VL) {
                    vf acc[RB] = {0};
                    for (int64_t k = 0; k < g.K; k++) {
                        const vf zv = vload(z + k * LB + pc);
                        const float *wk = wt + k * Op + ob;
                        for (int r = 0; r < RB; r++) acc[r] += wk[r] * zv;
                    }
                    const int n = len - pc < VL ? len - pc : VL;
                    for (int r = 0; r < RB && ob + r < O; r++) {
                        float *dst = y + ((b * O + ob + r) * g.L) + l0 + pc;
                        if (n == VL) vstore(dst, acc[r]);
                        else memcpy(dst, &acc[r], (size_t)n * sizeof(float));
                    }
                }
            }
        }
        free(z); free(u);
    }
    free(wt);
}

/* Gradients of wl_forward: gx (B, C, Hp, Wp, zeroed by the caller) += col2im(M * W^T gy) and
 * gw (O, K, zeroed) += sum over images and windows of gy * (M * X)^T; either may be NULL.
 * Images are split between threads (their tiles overlap in gx); gw is reduced at the end. */
void wl_backward(const float *x, const float *w, const float *gy, float *gx, float *gw, int64_t B,
                 int64_t C, int64_t Hp, int64_t Wp, int64_t kh, int64_t kw, int64_t O, uint64_t seed,
                 const int32_t *t, float scale, int threads) {
    const Geom g = geom(B, C, Hp, Wp, kh, kw, O, seed, t, scale);
    const int64_t Ov = round_up(O, VL), Kr = round_up(g.K, RB), tiles = (g.L + LB - 1) / LB;
    float *wp = calloc((size_t)(O * Kr), sizeof(float)); /* W zero-padded to (O, Kr) */
    for (int64_t o = 0; o < O; o++) memcpy(wp + o * Kr, w + o * g.K, (size_t)g.K * sizeof(float));
    float *gwt_all = gw ? calloc((size_t)(threads * g.K * Ov), sizeof(float)) : NULL;
#pragma omp parallel num_threads(threads)
    {
        const int me = omp_get_thread_num();
        float *z = malloc((size_t)(Kr * LB) * sizeof(float));
        float *m = malloc((size_t)(Kr * LB) * sizeof(float));
        float *dz = malloc((size_t)(Kr * LB) * sizeof(float));
        uint8_t *u = malloc((size_t)(g.K * LB));
        float *gb = calloc((size_t)(O * LB), sizeof(float));   /* gy tile (O, LB) */
        float *gbt = calloc((size_t)(LB * Ov), sizeof(float)); /* its transpose (LB, Ov) */
        float *gwt = gw ? gwt_all + me * g.K * Ov : NULL;      /* this thread's dW^T (K, Ov) */
        Segments s;
        memset(z + g.K * LB, 0, (size_t)((Kr - g.K) * LB) * sizeof(float));
        memset(m + g.K * LB, 0, (size_t)((Kr - g.K) * LB) * sizeof(float));
#pragma omp for schedule(static)
        for (int64_t b = 0; b < B; b++) {
            float *gxb = gx ? gx + b * C * Hp * Wp : NULL;
            for (int64_t tile = 0; tile < tiles; tile++) {
                const int64_t l0 = tile * LB;
                const int len = (int)(g.L - l0 < LB ? g.L - l0 : LB);
                segments(&g, l0, len, &s);
                tile_bytes(&g, b, tile, u);
                gated_tile(&g, x + b * C * Hp * Wp, u, len, &s, z, m);
                for (int64_t o = 0; o < O; o++) {
                    const float *src = gy + (b * O + o) * g.L + l0;
                    for (int p = 0; p < len; p++) gb[o * LB + p] = src[p];
                    for (int p = len; p < LB; p++) gb[o * LB + p] = 0.0f;
                    for (int p = 0; p < LB; p++) gbt[p * Ov + o] = gb[o * LB + p];
                }
                if (gwt) { /* dW^T[k, o] += sum_p z[k, p] * gy[o, p] */
                    for (int64_t kb = 0; kb < g.K; kb += RB) {
                        const int nk = g.K - kb < RB ? (int)(g.K - kb) : RB;
                        for (int64_t oc = 0; oc < Ov; oc += VL) {
                            vf acc[RB] = {0};
                            for (int p = 0; p < len; p++) {
                                const vf gv = vload(gbt + p * Ov + oc);
                                for (int r = 0; r < RB; r++) acc[r] += z[(kb + r) * LB + p] * gv;
                            }
                            for (int r = 0; r < nk; r++) {
                                float *dst = gwt + (kb + r) * Ov + oc;
                                vstore(dst, vload(dst) + acc[r]);
                            }
                        }
                    }
                }
                if (gxb) { /* dz = M * (W^T gy), then col2im into gx */
                    for (int64_t kb = 0; kb < Kr; kb += RB) {
                        for (int pc = 0; pc < len; pc += VL) {
                            vf acc[RB] = {0};
                            for (int64_t o = 0; o < O; o++) {
                                const vf gv = vload(gb + o * LB + pc);
                                const float *wo = wp + o * Kr + kb;
                                for (int r = 0; r < RB; r++) acc[r] += wo[r] * gv;
                            }
                            for (int r = 0; r < RB; r++)
                                vstore(dz + (kb + r) * LB + pc, acc[r] * vload(m + (kb + r) * LB + pc));
                        }
                    }
                    for (int64_t k = 0; k < g.K; k++) {
                        const int64_t c = k / (kh * kw), i = (k / kw) % kh, j = k % kw;
                        for (int r = 0; r < s.count; r++) {
                            float *dst = gxb + (c * Hp + s.oh[r] + i) * Wp + s.ow[r] + j;
                            const float *src = dz + k * LB + s.p[r];
                            for (int e = 0; e < s.n[r]; e++) dst[e] += src[e];
                        }
                    }
                }
            }
        }
        free(z); free(m); free(dz); free(u); free(gb); free(gbt);
    }
    if (gw) {
        for (int me = 0; me < threads; me++)
            for (int64_t k = 0; k < g.K; k++)
                for (int64_t o = 0; o < O; o++) gw[o * g.K + k] += gwt_all[(me * g.K + k) * Ov + o];
        free(gwt_all);
    }
    free(wp);
}

/* The keep multipliers wl_forward uses, (B, K, L): the reference implementation's mask. */
void wl_keep_mask(float *m, int64_t B, int64_t C, int64_t Hp, int64_t Wp, int64_t kh, int64_t kw,
                  uint64_t seed, const int32_t *t, float scale) {
    const Geom g = geom(B, C, Hp, Wp, kh, kw, 1, seed, t, scale);
    const int64_t tiles = (g.L + LB - 1) / LB;
    uint8_t *u = malloc((size_t)(g.K * LB));
    for (int64_t b = 0; b < B; b++)
        for (int64_t tile = 0; tile < tiles; tile++) {
            const int64_t l0 = tile * LB, len = g.L - l0 < LB ? g.L - l0 : LB;
            tile_bytes(&g, b, tile, u);
            for (int64_t k = 0; k < g.K; k++)
                for (int64_t p = 0; p < len; p++)
                    m[(b * g.K + k) * g.L + l0 + p] = u[k * LB + p] >= t[k] ? scale : 0.0f;
        }
    free(u);
}
