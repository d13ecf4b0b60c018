// Internal to CConvolutionKernels (not part of its public header): what the kernel files share.
// The package builds for baseline x86-64, so the AVX2 functions carry a target attribute and are
// only called after gfp_winograd_available() said yes.
#ifndef GFP_CONVOLUTION_KERNELS_INTERNAL_H
#define GFP_CONVOLUTION_KERNELS_INTERNAL_H

#include <stddef.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define GFP_AVX2 __attribute__((target("avx2,fma")))
#define GFP_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#else
#define GFP_AVX2   // the weight transforms are plain C, compiled everywhere
#endif

/// The 6 x 6 points of a transformed F(4x4, 3x3) tile.
enum { GFP_F4_POSITIONS = 36 };

static inline int round_up16(int k) { return (k + 15) / 16 * 16; }

/// The image of 4x4 output tile `tile` (row-major per image, tiles_h x tiles_w of them) and
/// its first output row and column.
static inline void tile_origin(long tile, int tiles_h, int tiles_w, int *image, int *oy, int *ox) {
    long per_image = (long)tiles_h * tiles_w;
    int rest = (int)(tile % per_image);
    *image = (int)(tile / per_image);
    *oy = 4 * (rest / tiles_w);
    *ox = 4 * (rest % tiles_w);
}

/// The tiles a worker takes at a time when each costs `per_tile_bytes` of scratch: as many as
/// `budget_bytes` holds, rounded down to a multiple of `multiple`, within [minimum, maximum].
static inline int tiles_within(long budget_bytes, long per_tile_bytes, int multiple, int minimum, int maximum) {
    long tiles = budget_bytes / per_tile_bytes / multiple * multiple;
    if (tiles < minimum) tiles = minimum;
    if (tiles > maximum) tiles = maximum;
    return (int)tiles;
}

#if defined(__x86_64__)

// t = B^T d for one column (or row) of six values, B^T's rows being
// (4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0), (0, -2, -1, 2, 1, 0),
// (0, 2, -1, -2, 1, 0) and (0, 4, 0, -5, 0, 1).
GFP_AVX2_INLINE void bt6(__m256 d0, __m256 d1, __m256 d2, __m256 d3, __m256 d4, __m256 d5, __m256 *t) {
    const __m256 four = _mm256_set1_ps(4), five = _mm256_set1_ps(5), two = _mm256_set1_ps(2);
    __m256 a = _mm256_fnmadd_ps(four, d2, d4), b = _mm256_fnmadd_ps(four, d1, d3);
    __m256 c = _mm256_sub_ps(d4, d2), e = _mm256_mul_ps(two, _mm256_sub_ps(d3, d1));
    t[0] = _mm256_fmadd_ps(four, d0, _mm256_fnmadd_ps(five, d2, d4));
    t[1] = _mm256_add_ps(a, b);
    t[2] = _mm256_sub_ps(a, b);
    t[3] = _mm256_add_ps(c, e);
    t[4] = _mm256_sub_ps(c, e);
    t[5] = _mm256_fmadd_ps(four, d1, _mm256_fnmadd_ps(five, d3, d5));
}

// V[p][t][c] = (B^T d B)[p] for the 6x6 patch at rows 4ty-1.., columns 4tx-1.. (zeros outside).
GFP_AVX2_INLINE void transform_input(const float *x, int c, int h, int w, long tile, int tiles_h, int tiles_w,
                                     float *v, int block_tiles, int t) {
    int image, oy, ox;
    tile_origin(tile, tiles_h, tiles_w, &image, &oy, &ox);
    const int y0 = oy - 1, x0 = ox - 1;
    size_t stride = (size_t)block_tiles * c;
    for (int cb = 0; cb < c / 8; cb++) {
        const float *plane = x + ((size_t)image * (c / 8) + cb) * h * w * 8;
        __m256 s[6][6];
        for (int j = 0; j < 6; j++) {   // B^T d, column j
            __m256 d[6];
            int xx = x0 + j;
            for (int i = 0; i < 6; i++) {
                int yy = y0 + i;
                d[i] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? _mm256_loadu_ps(plane + ((size_t)yy * w + xx) * 8) : _mm256_setzero_ps();
            }
            __m256 col[6];
            bt6(d[0], d[1], d[2], d[3], d[4], d[5], col);
            for (int i = 0; i < 6; i++) s[i][j] = col[i];
        }
        for (int i = 0; i < 6; i++) {   // (B^T d) B
            __m256 row[6];
            bt6(s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5], row);
            float *out = v + ((size_t)(i * 6) * block_tiles + t) * c + cb * 8;
            for (int j = 0; j < 6; j++) _mm256_store_ps(out + j * stride, row[j]);
        }
    }
}

#endif

#endif
