/* Uniform random words for the keep bytes of every dropout site (spindrop.methods.base.uniform_levels;
 * docs/performance.md "The bit-packed inference path"). Loaded by spindrop/kernels/levels.py.
 *
 * Word q of a call is mix64(seed + (q + 1)*GOLDEN), SplitMix64 (Steele, Lea & Flood, "Fast
 * splittable pseudorandom number generators", OOPSLA 2014), the generator of wordline.c; the caller
 * draws `seed` from torch's generator, so torch.manual_seed reproduces the words. A counter-based
 * generator fills the words in parallel and vectorised (torch's mt19937 produces them one by one).
 */
#include <stdint.h>
#include <omp.h>

static const uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL;

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void lv_fill(uint64_t *out, int64_t n, uint64_t seed, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t q = 0; q < n; q++) out[q] = mix64(seed + (uint64_t)(q + 1) * GOLDEN);
}
