// The weight gradient of a 3x3, stride-1, padding-1 convolution by Winograd's F(3x3, 4x4) on
// nChw8c activations, AVX2 + FMA.
//
// dW[k][c][ky][kx] = sum over images and output positions of gy[k][oy][ox] x[c][oy+ky-1][ox+kx-1].
// Split into 4x4 output tiles, a tile adds the 3x3 correlation of its 6x6 input patch d with
// its 4x4 output-gradient patch g. That is the forward F(4x4, 3x3) transposed (Winograd's
// transposition principle): with the forward's Y = A^T [(G w G^T) . (B^T d B)] A,
//     dW = G^T [(A g A^T) . (B^T d B)] G,
// and since the last transform is linear, the elementwise products are summed over all tiles
// first and transformed once. Per tile: the input transform of the forward pass (V, 6x6 per
// channel), a gradient transform (A g A^T, 6x6 per output channel), and for each of the 36
// points a rank-one update M[p][c][k] += V[p][t][c] * Gy[p][t][k]: 36 multiply-adds per channel
// pair instead of the direct kernel's 144. Workers take contiguous ranges of tiles into their own
// M; the sum over workers and G^T M G come last.
#include "CConvolutionKernels.h"
#include "ConvolutionKernelsInternal.h"

#include <string.h>

// The transformed inputs and gradients of a block of tiles stay within this (a Zen 3 core has
// 512 KiB of L2); a worker's M (36 c k floats) is touched once per block.
enum { BLOCK_BUDGET_BYTES = 384 << 10, BLOCK_TILES_MIN = 8, BLOCK_TILES_MAX = 128, RUN = 6 };

static int block_tiles(int k, int c) {
    return tiles_within(BLOCK_BUDGET_BYTES, (long)GFP_F4_POSITIONS * (c + round_up16(k)) * (long)sizeof(float), 1,
                        BLOCK_TILES_MIN, BLOCK_TILES_MAX);
}

size_t gfp_winograd_f4_weight_gradient_accumulator_floats(int k, int c) {
    return (size_t)GFP_F4_POSITIONS * c * round_up16(k);
}

size_t gfp_winograd_f4_weight_gradient_scratch_floats(int k, int c) {
    return (size_t)GFP_F4_POSITIONS * block_tiles(k, c) * (c + round_up16(k));
}

// dW[o][i] = G^T M_io G for the input channels i_begin..<i_end, M_io being the 6x6 matrix
// m[p][i][o] summed over `workers` accumulators `accumulator_stride` floats apart.
void gfp_winograd_f4_weight_gradient_finish(const float *accumulators, int workers, size_t accumulator_stride, int k,
                                            int c, int i_begin, int i_end, float *weight_gradient) {
    // G^T's rows, for the interpolation points 0, 1, -1, 1/2, -1/2 and infinity.
    static const float GT[3][6] = { { 0.25f, -1.f / 6, -1.f / 6, 1.f / 24, 1.f / 24, 0 },
                                    { 0, -1.f / 6, 1.f / 6, 1.f / 12, -1.f / 12, 0 },
                                    { 0, -1.f / 6, -1.f / 6, 1.f / 6, 1.f / 6, 1 } };
    const int kp = round_up16(k);
    for (int i = i_begin; i < i_end; i++) {
        for (int o = 0; o < k; o++) {
            float m[6][6];
            for (int p = 0; p < GFP_F4_POSITIONS; p++) {
                float sum = 0;
                for (int worker = 0; worker < workers; worker++)
                    sum += accumulators[worker * accumulator_stride + ((size_t)p * c + i) * kp + o];
                m[p / 6][p % 6] = sum;
            }
            float t[3][6];
            for (int r = 0; r < 3; r++)
                for (int col = 0; col < 6; col++) {
                    float s = 0;
                    for (int a = 0; a < 6; a++) s += GT[r][a] * m[a][col];
                    t[r][col] = s;
                }
            float *out = weight_gradient + ((size_t)o * c + i) * 9;
            for (int r = 0; r < 3; r++)
                for (int col = 0; col < 3; col++) {
                    float s = 0;
                    for (int b = 0; b < 6; b++) s += t[r][b] * GT[col][b];
                    out[r * 3 + col] = s;
                }
        }
    }
}

#if defined(__x86_64__)

// u = A g for four values, A's rows being (1, 0, 0, 0), (1, 1, 1, 1), (1, -1, 1, -1),
// (1, 2, 4, 8), (1, -2, 4, -8) and (0, 0, 0, 1) (the forward's A^T, transposed).
GFP_AVX2_INLINE void a6(__m256 g0, __m256 g1, __m256 g2, __m256 g3, __m256 *u) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
    __m256 even = _mm256_add_ps(g0, g2), odd = _mm256_add_ps(g1, g3);
    __m256 even2 = _mm256_fmadd_ps(four, g2, g0), odd2 = _mm256_fmadd_ps(eight, g3, _mm256_mul_ps(two, g1));
    u[0] = g0;
    u[1] = _mm256_add_ps(even, odd);
    u[2] = _mm256_sub_ps(even, odd);
    u[3] = _mm256_add_ps(even2, odd2);
    u[4] = _mm256_sub_ps(even2, odd2);
    u[5] = g3;
}

// Gy[p][t][k] = (A g A^T)[p] for the 4x4 output-gradient patch of `tile` (zeros outside the
// image; channels k..<kp zero).
GFP_AVX2_INLINE void transform_gradient(const float *gy, int k, int kp, int h, int w, long tile, int tiles_h,
                                        int tiles_w, float *transformed, int block, int t) {
    int image, oy, ox;
    tile_origin(tile, tiles_h, tiles_w, &image, &oy, &ox);
    size_t stride = (size_t)block * kp;
    for (int kb = 0; kb < kp / 8; kb++) {
        float *out = transformed + (size_t)t * kp + kb * 8;
        if (kb >= k / 8) {
            for (int p = 0; p < GFP_F4_POSITIONS; p++) _mm256_store_ps(out + p * stride, _mm256_setzero_ps());
            continue;
        }
        const float *plane = gy + ((size_t)image * (k / 8) + kb) * h * w * 8;
        __m256 s[6][4];
        for (int j = 0; j < 4; j++) {   // A g, column j
            __m256 g[4];
            int xx = ox + j;
            for (int i = 0; i < 4; i++) {
                int yy = oy + i;
                g[i] = (yy < h && xx < w) ? _mm256_loadu_ps(plane + ((size_t)yy * w + xx) * 8) : _mm256_setzero_ps();
            }
            __m256 col[6];
            a6(g[0], g[1], g[2], g[3], col);
            for (int i = 0; i < 6; i++) s[i][j] = col[i];
        }
        for (int i = 0; i < 6; i++) {   // (A g) A^T
            __m256 row[6];
            a6(s[i][0], s[i][1], s[i][2], s[i][3], row);
            for (int j = 0; j < 6; j++) _mm256_store_ps(out + (size_t)(i * 6 + j) * stride, row[j]);
        }
    }
}

// m[c0 + j][ob*16 ..< ob*16 + 16] += sum over the block's tiles of v[t][c0 + j] gy[t][ob*16 ...]
// for j < n (n <= RUN): 12 accumulators, per tile 2 loads, n broadcasts and 2n multiply-adds.
GFP_AVX2_INLINE void accumulate(int n, const float *v, int c, const float *g, int kp, int count, float *m) {
    __m256 acc0[RUN], acc1[RUN];
    for (int j = 0; j < n; j++) {
        acc0[j] = _mm256_load_ps(m + (size_t)j * kp);
        acc1[j] = _mm256_load_ps(m + (size_t)j * kp + 8);
    }
    for (int t = 0; t < count; t++) {
        __m256 u0 = _mm256_load_ps(g + (size_t)t * kp), u1 = _mm256_load_ps(g + (size_t)t * kp + 8);
        for (int j = 0; j < n; j++) {
            __m256 b = _mm256_broadcast_ss(v + (size_t)t * c + j);
            acc0[j] = _mm256_fmadd_ps(b, u0, acc0[j]);
            acc1[j] = _mm256_fmadd_ps(b, u1, acc1[j]);
        }
    }
    for (int j = 0; j < n; j++) {
        _mm256_store_ps(m + (size_t)j * kp, acc0[j]);
        _mm256_store_ps(m + (size_t)j * kp + 8, acc1[j]);
    }
}

GFP_AVX2 static void accumulate_avx2(const float *x, const float *gy, int c, int h, int w, int k, long tile_begin,
                                     long tile_end, float *accumulator, float *scratch) {
    const int kp = round_up16(k), block = block_tiles(k, c);
    const int tiles_h = (h + 3) / 4, tiles_w = (w + 3) / 4;
    float *v = scratch, *g = scratch + (size_t)GFP_F4_POSITIONS * block * c;
    memset(accumulator, 0, gfp_winograd_f4_weight_gradient_accumulator_floats(k, c) * sizeof(float));
    for (long first = tile_begin; first < tile_end; first += block) {
        int count = (int)(tile_end - first < block ? tile_end - first : block);
        for (int t = 0; t < count; t++) {
            transform_input(x, c, h, w, first + t, tiles_h, tiles_w, v, block, t);
            transform_gradient(gy, k, kp, h, w, first + t, tiles_h, tiles_w, g, block, t);
        }
        for (int p = 0; p < GFP_F4_POSITIONS; p++) {
            const float *vp = v + (size_t)p * block * c, *gp = g + (size_t)p * block * kp;
            float *mp = accumulator + (size_t)p * c * kp;
            for (int ob = 0; ob < kp / 16; ob++) {
                int c0 = 0;
                for (; c0 + RUN <= c; c0 += RUN)
                    accumulate(RUN, vp + c0, c, gp + ob * 16, kp, count, mp + (size_t)c0 * kp + ob * 16);
                float *mc = mp + (size_t)c0 * kp + ob * 16;
                switch (c - c0) {
                case 1: accumulate(1, vp + c0, c, gp + ob * 16, kp, count, mc); break;
                case 2: accumulate(2, vp + c0, c, gp + ob * 16, kp, count, mc); break;
                case 3: accumulate(3, vp + c0, c, gp + ob * 16, kp, count, mc); break;
                case 4: accumulate(4, vp + c0, c, gp + ob * 16, kp, count, mc); break;
                case 5: accumulate(5, vp + c0, c, gp + ob * 16, kp, count, mc); break;
                default: break;
                }
            }
        }
    }
}

#endif

void gfp_winograd_f4_weight_gradient_accumulate(const float *x, const float *gy, int c, int h, int w, int k,
                                                long tile_begin, long tile_end, float *accumulator, float *scratch) {
#if defined(__x86_64__)
    accumulate_avx2(x, gy, c, h, w, k, tile_begin, tile_end, accumulator, scratch);
#else
    (void)x; (void)gy; (void)c; (void)h; (void)w; (void)k; (void)tile_begin; (void)tile_end; (void)accumulator;
    (void)scratch;
#endif
}
