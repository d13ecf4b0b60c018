// Winograd F(4x4, 3x3) convolution (Lavin & Gray, 2016) on nChw8c activations, AVX2 + FMA.
//
// Per block of output tiles: the 6x6 input patches are transformed (V = B^T d B) into 36
// matrices [tiles][c]; each is multiplied by its transformed weights [c][k] (U = G g G^T, made
// once per call, in single precision, 16 output channels at a time) in a 6-tile x 16-channel register-blocked kernel; the 36
// products [tiles][k] are transformed back (Y = A^T M A), biased, activated and written. A 4x4
// output tile takes 36 multiply-adds per channel pair instead of 144: 4x fewer. (F(2x2, 3x3),
// 16 instead of 36, was this file's first version: F(4x4) ran the stego decoder's 32- and
// 64-channel layers 1.1-1.5x faster than it, with relative errors of about 5e-6 instead of 1e-6.)
#include "CConvolutionKernels.h"
#include "ConvolutionKernelsInternal.h"

// A worker's block of tiles keeps its transformed inputs and products within L2_BUDGET_BYTES
// (half of a Zen 3 core's 512 KiB L2, with the weights beside them): of 128, 256 and 512 KiB,
// 256 was fastest for the stego decoder's 32- and 64-channel layers with F(2x2, 3x3)
// (Docs/benchmarks.md).
enum { POSITIONS = GFP_F4_POSITIONS, BLOCK_TILES_MIN = 6, BLOCK_TILES_MAX = 96, L2_BUDGET_BYTES = 256 << 10 };

int gfp_winograd_available(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

size_t gfp_winograd_f4_weight_floats(int k, int c) { return (size_t)POSITIONS * c * round_up16(k); }

int gfp_winograd_f4_tiles_per_block(int k, int c) {
    // A multiple of 6: the products run 6 tiles at a time.
    return tiles_within(L2_BUDGET_BYTES, (long)POSITIONS * (c + round_up16(k)) * (long)sizeof(float), 6,
                        BLOCK_TILES_MIN, BLOCK_TILES_MAX);
}

size_t gfp_winograd_f4_scratch_floats(int k, int c) {
    return (size_t)POSITIONS * gfp_winograd_f4_tiles_per_block(k, c) * (c + round_up16(k));
}

// U = G g G^T for 16 kernels at once, g[t][lane] being tap t of output channel 16 ob + lane
// (zeros for channels past the real ones), into transformed[p][ob][i][lane] (c inputs, kp
// outputs), with G of the interpolation points 0, 1, -1, 1/2, -1/2 and infinity (Lavin & Gray's
// F(4x4, 3x3)). In single precision, 16 lanes wide: the weights are transformed on every call
// (they change every training step), and a scalar double-precision version took 2 % of a stego
// decode.
GFP_AVX2 static void transform16(const float g[9][16], int ob, int i, int c, int kp, float *transformed) {
    static const float G[6][3] = { { 0.25f, 0, 0 }, { -1.f / 6, -1.f / 6, -1.f / 6 }, { -1.f / 6, 1.f / 6, -1.f / 6 },
                                   { 1.f / 24, 1.f / 12, 1.f / 6 }, { 1.f / 24, -1.f / 12, 1.f / 6 }, { 0, 0, 1 } };
    float t[6][3][16];
    for (int r = 0; r < 6; r++)
        for (int j = 0; j < 3; j++)
            for (int l = 0; l < 16; l++) t[r][j][l] = G[r][0] * g[j][l] + G[r][1] * g[3 + j][l] + G[r][2] * g[6 + j][l];
    for (int r = 0; r < 6; r++) {
        for (int col = 0; col < 6; col++) {
            float *u = transformed + (((size_t)(r * 6 + col) * (kp / 16) + ob) * c + i) * 16;
            for (int l = 0; l < 16; l++) u[l] = G[col][0] * t[r][0][l] + G[col][1] * t[r][1][l] + G[col][2] * t[r][2][l];
        }
    }
}

void gfp_winograd_f4_transform_weights(const float *weight, int k, int c, int ob_begin, int ob_end, float *transformed) {
    for (int ob = ob_begin; ob < ob_end; ob++) {
        for (int i = 0; i < c; i++) {
            float g[9][16];
            for (int l = 0; l < 16; l++) {
                int o = ob * 16 + l;
                for (int t = 0; t < 9; t++) g[t][l] = o < k ? weight[((size_t)o * c + i) * 9 + t] : 0;
            }
            transform16(g, ob, i, c, round_up16(k), transformed);
        }
    }
}

// The input gradient of y = conv(x, w) is conv(gy, w') with w'[i][o] = w[o][i] rotated by 180 degrees.
void gfp_winograd_f4_transform_weights_backward_data(const float *weight, int k, int c, int ib_begin, int ib_end,
                                                     float *transformed) {
    for (int ib = ib_begin; ib < ib_end; ib++) {
        for (int o = 0; o < k; o++) {
            float g[9][16];
            for (int l = 0; l < 16; l++) {
                int i = ib * 16 + l;
                for (int t = 0; t < 9; t++) g[t][l] = i < c ? weight[((size_t)o * c + i) * 9 + 8 - t] : 0;
            }
            transform16(g, ib, o, k, round_up16(c), transformed);
        }
    }
}

#if defined(__x86_64__)

// Products of one position for 6 tiles and 16 output channels: m[t][0..<16] = sum_i v[t][i] u[i][0..<16].
GFP_AVX2_INLINE void multiply6(const float *v, int c, const float *u, float *m, int kp) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
    __m256 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
    for (int i = 0; i < c; i++) {
        __m256 u0 = _mm256_load_ps(u + i * 16), u1 = _mm256_load_ps(u + i * 16 + 8), b;
        b = _mm256_broadcast_ss(v + i);         a00 = _mm256_fmadd_ps(b, u0, a00); a01 = _mm256_fmadd_ps(b, u1, a01);
        b = _mm256_broadcast_ss(v + c + i);     a10 = _mm256_fmadd_ps(b, u0, a10); a11 = _mm256_fmadd_ps(b, u1, a11);
        b = _mm256_broadcast_ss(v + 2 * c + i); a20 = _mm256_fmadd_ps(b, u0, a20); a21 = _mm256_fmadd_ps(b, u1, a21);
        b = _mm256_broadcast_ss(v + 3 * c + i); a30 = _mm256_fmadd_ps(b, u0, a30); a31 = _mm256_fmadd_ps(b, u1, a31);
        b = _mm256_broadcast_ss(v + 4 * c + i); a40 = _mm256_fmadd_ps(b, u0, a40); a41 = _mm256_fmadd_ps(b, u1, a41);
        b = _mm256_broadcast_ss(v + 5 * c + i); a50 = _mm256_fmadd_ps(b, u0, a50); a51 = _mm256_fmadd_ps(b, u1, a51);
    }
    _mm256_store_ps(m, a00);          _mm256_store_ps(m + 8, a01);
    _mm256_store_ps(m + kp, a10);     _mm256_store_ps(m + kp + 8, a11);
    _mm256_store_ps(m + 2 * kp, a20); _mm256_store_ps(m + 2 * kp + 8, a21);
    _mm256_store_ps(m + 3 * kp, a30); _mm256_store_ps(m + 3 * kp + 8, a31);
    _mm256_store_ps(m + 4 * kp, a40); _mm256_store_ps(m + 4 * kp + 8, a41);
    _mm256_store_ps(m + 5 * kp, a50); _mm256_store_ps(m + 5 * kp + 8, a51);
}

// The same for one tile (the block's last tiles when their count is not a multiple of 6).
GFP_AVX2_INLINE void multiply1(const float *v, int c, const float *u, float *m) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    for (int i = 0; i < c; i++) {
        __m256 b = _mm256_broadcast_ss(v + i);
        a0 = _mm256_fmadd_ps(b, _mm256_load_ps(u + i * 16), a0);
        a1 = _mm256_fmadd_ps(b, _mm256_load_ps(u + i * 16 + 8), a1);
    }
    _mm256_store_ps(m, a0);
    _mm256_store_ps(m + 8, a1);
}

// o = A^T m for six values, A^T's rows being (1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0),
// (0, 1, 1, 4, 4, 0) and (0, 1, -1, 8, -8, 1).
GFP_AVX2_INLINE void at6(__m256 m0, __m256 m1, __m256 m2, __m256 m3, __m256 m4, __m256 m5, __m256 *o) {
    __m256 p = _mm256_add_ps(m1, m2), q = _mm256_sub_ps(m1, m2), r = _mm256_add_ps(m3, m4), s = _mm256_sub_ps(m3, m4);
    o[0] = _mm256_add_ps(_mm256_add_ps(m0, p), r);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2), s, q);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4), r, p);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8), s, q), m5);
}

// Y = A^T M A for tile t (a 4x4 output block), plus bias, activation, written where it lies
// inside the image.
GFP_AVX2_INLINE void transform_output(const float *m, int k, int kp, int block_tiles, int t, long tile, int h, int w,
                                      int tiles_h, int tiles_w, const float *bias, int activate, float slope, float *y) {
    int image, oy, ox;
    tile_origin(tile, tiles_h, tiles_w, &image, &oy, &ox);
    __m256 slopes = _mm256_set1_ps(slope);
    for (int kb = 0; kb < k / 8; kb++) {
        __m256 r[4][6];
        for (int j = 0; j < 6; j++) {
            __m256 q[6], o[4];
            for (int i = 0; i < 6; i++) q[i] = _mm256_load_ps(m + ((size_t)(i * 6 + j) * block_tiles + t) * kp + kb * 8);
            at6(q[0], q[1], q[2], q[3], q[4], q[5], o);
            for (int i = 0; i < 4; i++) r[i][j] = o[i];
        }
        __m256 b = bias ? _mm256_loadu_ps(bias + kb * 8) : _mm256_setzero_ps();
        float *plane = y + ((size_t)image * (k / 8) + kb) * h * w * 8;
        for (int i = 0; i < 4; i++) {
            if (oy + i >= h) break;
            __m256 o[4];
            at6(r[i][0], r[i][1], r[i][2], r[i][3], r[i][4], r[i][5], o);
            for (int j = 0; j < 4; j++) {
                if (ox + j >= w) break;
                __m256 value = _mm256_add_ps(o[j], b);
                if (activate) value = _mm256_max_ps(value, _mm256_mul_ps(value, slopes));
                _mm256_storeu_ps(plane + ((size_t)(oy + i) * w + ox + j) * 8, value);
            }
        }
    }
}

GFP_AVX2 static void forward_avx2(const float *x, int n, int c, int h, int w, const float *u, int k, const float *bias,
                                  int activate, float slope, float *y, long tile_begin, long tile_end, float *scratch) {
    (void)n;
    const int kp = round_up16(k), block_tiles = gfp_winograd_f4_tiles_per_block(k, c);
    const int tiles_h = (h + 3) / 4, tiles_w = (w + 3) / 4;
    float *v = scratch, *m = scratch + (size_t)POSITIONS * block_tiles * c;
    for (long first = tile_begin; first < tile_end; first += block_tiles) {
        int count = (int)(tile_end - first < block_tiles ? tile_end - first : block_tiles);
        for (int t = 0; t < count; t++) transform_input(x, c, h, w, first + t, tiles_h, tiles_w, v, block_tiles, t);
        for (int p = 0; p < POSITIONS; p++) {
            const float *vp = v + (size_t)p * block_tiles * c;
            float *mp = m + (size_t)p * block_tiles * kp;
            for (int ob = 0; ob < kp / 16; ob++) {
                const float *up = u + ((size_t)p * (kp / 16) + ob) * c * 16;
                int t = 0;
                for (; t + 6 <= count; t += 6) multiply6(vp + (size_t)t * c, c, up, mp + (size_t)t * kp + ob * 16, kp);
                for (; t < count; t++) multiply1(vp + (size_t)t * c, c, up, mp + (size_t)t * kp + ob * 16);
            }
        }
        for (int t = 0; t < count; t++)
            transform_output(m, k, kp, block_tiles, t, first + t, h, w, tiles_h, tiles_w, bias, activate, slope, y);
    }
}

#endif

void gfp_winograd_f4_forward(const float *x, int n, int c, int h, int w, const float *transformed, int k,
                             const float *bias, int activate, float negative_slope, float *y,
                             long tile_begin, long tile_end, float *scratch) {
#if defined(__x86_64__)
    forward_avx2(x, n, c, h, w, transformed, k, bias, activate, negative_slope, y, tile_begin, tile_end, scratch);
#else
    (void)x; (void)n; (void)c; (void)h; (void)w; (void)transformed; (void)k; (void)bias; (void)activate;
    (void)negative_slope; (void)y; (void)tile_begin; (void)tile_end; (void)scratch;
#endif
}
