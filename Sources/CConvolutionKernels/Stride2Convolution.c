// Direct 3x3 convolution with stride 2 and one row/column of zero padding, AVX2 + FMA, writing
// nChw8c activations from nChw8c or row-major NCHW ones.
//
// oneDNN 2.6's AVX2 direct kernel ran the stego decoder's stride-2 layers (8 x 8 and 4 x 4
// outputs) at 55-85 GFLOP/s on a Zen 3 CPU whose dnnl_sgemm runs at 130-165. Here one image's
// input is first copied into a zero-bordered [c/8][h+2][w+2][8] buffer (no bounds checks in the
// inner loop, row-major inputs made blocked on the way); then for every run of up to 6 output
// positions (row-major across rows) and 16 output channels, 12 accumulators take
// sum over (channel, ky, kx) of input * weight: per input channel 2 weight loads, 6 broadcasts,
// 12 fused multiply-adds, the register blocking of the Winograd kernel's products.
#include "CConvolutionKernels.h"
#include "ConvolutionKernelsInternal.h"

#include <string.h>

enum { TAPS = 9, RUN = 6 };

static int blocks8(int c) { return (c + 7) / 8; }

size_t gfp_stride2_weight_floats(int k, int c) { return (size_t)round_up16(k) * blocks8(c) * TAPS * 8; }

size_t gfp_stride2_scratch_floats(int c, int h, int w) { return (size_t)blocks8(c) * (h + 2) * (w + 2) * 8; }

// packed[o / 16][c / 8][ky * 3 + kx][c % 8][o % 16] = weight[o][c][ky][kx], zeros for o >= k
// and c >= the channel count.
void gfp_stride2_pack_weights(const float *weight, int k, int c, float *packed) {
    memset(packed, 0, gfp_stride2_weight_floats(k, c) * sizeof(float));
    const int cb_count = blocks8(c);
    for (int o = 0; o < k; o++)
        for (int i = 0; i < c; i++)
            for (int t = 0; t < TAPS; t++)
                packed[((((size_t)(o / 16) * cb_count + i / 8) * TAPS + t) * 8 + i % 8) * 16 + o % 16] =
                    weight[((size_t)o * c + i) * TAPS + t];
}

// The zero-bordered copy of image `image`: padded[cb][y + 1][x + 1][i] = x[image][cb * 8 + i][y][x]
// (for a row-major input whose channels do not fill the last block, its unused lanes are left
// as they are: the kernel does not read them).
static void pad_image(const float *x, int image, int c, int h, int w, int input_blocked, float *padded) {
    const int cb_count = blocks8(c), pw = w + 2;
    const size_t plane = (size_t)(h + 2) * pw * 8, row = (size_t)pw * 8;
    for (int cb = 0; cb < cb_count; cb++) {
        float *border = padded + cb * plane;
        memset(border, 0, row * sizeof(float));
        memset(border + (h + 1) * row, 0, row * sizeof(float));
        for (int y = 1; y <= h; y++) {
            memset(border + y * row, 0, 8 * sizeof(float));
            memset(border + y * row + (w + 1) * 8, 0, 8 * sizeof(float));
        }
        float *target = padded + cb * plane + (size_t)(pw + 1) * 8;
        if (input_blocked) {
            const float *source = x + ((size_t)image * cb_count + cb) * h * w * 8;
            for (int y = 0; y < h; y++) memcpy(target + (size_t)y * pw * 8, source + (size_t)y * w * 8, (size_t)w * 8 * sizeof(float));
        } else {
            const int lanes = c - cb * 8 < 8 ? c - cb * 8 : 8;
            for (int i = 0; i < lanes; i++) {
                const float *source = x + ((size_t)image * c + cb * 8 + i) * h * w;
                for (int y = 0; y < h; y++)
                    for (int xx = 0; xx < w; xx++) target[((size_t)y * pw + xx) * 8 + i] = source[(size_t)y * w + xx];
            }
        }
    }
}

#if defined(__x86_64__)

// Output positions first .. first + n - 1 (n <= RUN, row-major over the ow-wide output) of one
// image for output channels 16 ob .. 16 ob + 15: accumulate, add the bias, activate, store.
GFP_AVX2_INLINE void run_positions(int n, const float *padded, int c, int h, int w, int ow, int first,
                                   const float *u, const float *bias16, int activate, __m256 slopes,
                                   float *y_first_block, int second_block, size_t out_plane) {
    const int cb_count = blocks8(c), pw = w + 2;
    const size_t plane = (size_t)(h + 2) * pw * 8;
    const float *base[RUN];
    for (int j = 0; j < n; j++) {
        int oy = (first + j) / ow, ox = (first + j) % ow;
        base[j] = padded + ((size_t)(2 * oy) * pw + 2 * ox) * 8;
    }
    __m256 acc0[RUN], acc1[RUN];
    for (int j = 0; j < n; j++) acc0[j] = acc1[j] = _mm256_setzero_ps();
    for (int cb = 0; cb < cb_count; cb++) {
        const int lanes = c - cb * 8 < 8 ? c - cb * 8 : 8;
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) {
                const size_t offset = cb * plane + ((size_t)ky * pw + kx) * 8;
                const float *wt = u + ((size_t)cb * TAPS + ky * 3 + kx) * 8 * 16;
                for (int i = 0; i < lanes; i++) {
                    __m256 w0 = _mm256_load_ps(wt + i * 16), w1 = _mm256_load_ps(wt + i * 16 + 8);
                    for (int j = 0; j < n; j++) {
                        __m256 b = _mm256_broadcast_ss(base[j] + offset + i);
                        acc0[j] = _mm256_fmadd_ps(b, w0, acc0[j]);
                        acc1[j] = _mm256_fmadd_ps(b, w1, acc1[j]);
                    }
                }
            }
        }
    }
    __m256 b0 = _mm256_loadu_ps(bias16), b1 = _mm256_loadu_ps(bias16 + 8);
    for (int j = 0; j < n; j++) {
        __m256 v0 = _mm256_add_ps(acc0[j], b0), v1 = _mm256_add_ps(acc1[j], b1);
        if (activate) {
            v0 = _mm256_max_ps(v0, _mm256_mul_ps(v0, slopes));
            v1 = _mm256_max_ps(v1, _mm256_mul_ps(v1, slopes));
        }
        _mm256_storeu_ps(y_first_block + (size_t)(first + j) * 8, v0);
        if (second_block) _mm256_storeu_ps(y_first_block + out_plane + (size_t)(first + j) * 8, v1);
    }
}

GFP_AVX2 static void forward_avx2(const float *x, int c, int h, int w, int input_blocked, const float *u, int k,
                                  const float *bias, int activate, float slope, float *y, long unit_begin,
                                  long unit_end, float *scratch) {
    const int oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1, positions = oh * ow;
    const int ob_count = round_up16(k) / 16, kb_count = k / 8, cb_count = blocks8(c);
    const size_t out_plane = (size_t)positions * 8;
    const __m256 slopes = _mm256_set1_ps(slope);
    int padded_image = -1;
    for (long unit = unit_begin; unit < unit_end; unit++) {
        const int image = (int)(unit / ob_count), ob = (int)(unit % ob_count);
        if (image != padded_image) {
            pad_image(x, image, c, h, w, input_blocked, scratch);
            padded_image = image;
        }
        float bias16[16] = { 0 };
        for (int o = 0; o < 16 && ob * 16 + o < k; o++) bias16[o] = bias ? bias[ob * 16 + o] : 0;
        const float *uo = u + (size_t)ob * cb_count * TAPS * 8 * 16;
        float *yo = y + ((size_t)image * kb_count + 2 * ob) * out_plane;
        const int second = 2 * ob + 1 < kb_count;
        int first = 0;
        for (; first + RUN <= positions; first += RUN)
            run_positions(RUN, scratch, c, h, w, ow, first, uo, bias16, activate, slopes, yo, second, out_plane);
        switch (positions - first) {
        case 1: run_positions(1, scratch, c, h, w, ow, first, uo, bias16, activate, slopes, yo, second, out_plane); break;
        case 2: run_positions(2, scratch, c, h, w, ow, first, uo, bias16, activate, slopes, yo, second, out_plane); break;
        case 3: run_positions(3, scratch, c, h, w, ow, first, uo, bias16, activate, slopes, yo, second, out_plane); break;
        case 4: run_positions(4, scratch, c, h, w, ow, first, uo, bias16, activate, slopes, yo, second, out_plane); break;
        case 5: run_positions(5, scratch, c, h, w, ow, first, uo, bias16, activate, slopes, yo, second, out_plane); break;
        default: break;
        }
    }
}

#endif

void gfp_stride2_forward(const float *x, int c, int h, int w, int input_blocked, const float *packed, int k,
                         const float *bias, int activate, float negative_slope, float *y, long unit_begin,
                         long unit_end, float *scratch) {
#if defined(__x86_64__)
    forward_avx2(x, c, h, w, input_blocked, packed, k, bias, activate, negative_slope, y, unit_begin, unit_end, scratch);
#else
    (void)x; (void)c; (void)h; (void)w; (void)input_blocked; (void)packed; (void)k; (void)bias; (void)activate;
    (void)negative_slope; (void)y; (void)unit_begin; (void)unit_end; (void)scratch;
#endif
}
