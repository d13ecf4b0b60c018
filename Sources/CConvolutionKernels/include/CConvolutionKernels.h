// gfp's own convolution kernels on channel-blocked (nChw8c) activations, for CPUs with AVX2 and
// FMA, where oneDNN 2.6 offers only direct 3x3 kernels: Winograd F(4x4, 3x3) for stride 1
// (WinogradConvolution.c), its transpose F(3x3, 4x4) for the weight gradient
// (WinogradWeightGradient.c) and a direct kernel for stride 2 (Stride2Convolution.c). Tensor's DNNL
// layer uses them in place of oneDNN's primitives when the shapes fit (see
// Tensor/Kernels/WinogradConvolution.swift and Stride2Convolution.swift).
#ifndef GFP_CONVOLUTION_KERNELS_H
#define GFP_CONVOLUTION_KERNELS_H

#include <stddef.h>

/// 1 when this CPU can run the kernels (AVX2 and FMA), else 0.
int gfp_winograd_available(void);

/// Floats of the transformed weights for `k` output and `c` input channels: 36 x c x k rounded
/// up to whole 16-channel output blocks.
size_t gfp_winograd_f4_weight_floats(int k, int c);

/// Transforms OIHW 3x3 weights `weight` [k][c][3][3] into `transformed`
/// (gfp_winograd_f4_weight_floats(k, c) floats): G g G^T per channel pair, for the blocks of 16
/// output channels `ob_begin..<ob_end` of ceil(k / 16) (zeros for channels past k), so that
/// workers can share them. Needs AVX2 and FMA (gfp_winograd_available).
void gfp_winograd_f4_transform_weights(const float *weight, int k, int c, int ob_begin, int ob_end, float *transformed);

/// Transforms the weights of y = conv(x, weight) (OIHW [k][c][3][3]) for its input gradient
/// gx = conv(gy, weight'), weight' [c][k][3][3] being weight with its channel axes swapped and
/// each kernel rotated by 180 degrees: gfp_winograd_f4_weight_floats(c, k) floats, to be used by
/// gfp_winograd_f4_forward with k input and c output channels; for the blocks of 16 channels of
/// x `ib_begin..<ib_end` of ceil(c / 16) (zeros for channels past c). Needs AVX2 and FMA.
void gfp_winograd_f4_transform_weights_backward_data(const float *weight, int k, int c, int ib_begin, int ib_end,
                                                     float *transformed);

/// The tiles (4 x 4 outputs each) a worker takes at a time for `k` outputs and `c` inputs: its
/// transformed inputs and products take about 256 KiB, to stay in a core's L2 cache.
int gfp_winograd_f4_tiles_per_block(int k, int c);

/// Floats of scratch memory one worker needs (transformed inputs and products of one block).
size_t gfp_winograd_f4_scratch_floats(int k, int c);

/// y = activation(conv3x3(x, w) + bias) with stride 1 and one row/column of zero padding on
/// every side, for the output tiles `tile_begin..<tile_end` of the n x ceil(h/4) x ceil(w/4)
/// tiles (row-major per image). `x` is [n][c/8][h][w][8] and `y` is [n][k/8][h][w][8]
/// (c and k multiples of 8); `transformed` comes from gfp_winograd_f4_transform_weights; `bias`
/// ([k]) may be NULL; with `activate`, negative values are multiplied by `negative_slope`
/// (0 gives ReLU). `scratch` holds gfp_winograd_f4_scratch_floats(k, c) floats, 32-byte aligned.
void gfp_winograd_f4_forward(const float *x, int n, int c, int h, int w, const float *transformed, int k,
                             const float *bias, int activate, float negative_slope, float *y,
                             long tile_begin, long tile_end, float *scratch);

/// Floats of one worker's accumulator for the weight gradient of a 3x3 convolution with `k`
/// output and `c` input channels: 36 x c x k rounded up to whole 16-channel blocks.
size_t gfp_winograd_f4_weight_gradient_accumulator_floats(int k, int c);

/// Floats of scratch memory one worker of gfp_winograd_f4_weight_gradient_accumulate needs
/// (the transformed inputs and output gradients of one block of tiles).
size_t gfp_winograd_f4_weight_gradient_scratch_floats(int k, int c);

/// The weight gradient of y = conv3x3(x, w) (stride 1, one row/column of zero padding), first
/// half: sums the Winograd-domain products of the output tiles `tile_begin..<tile_end` of the
/// n x ceil(h/4) x ceil(w/4) tiles into `accumulator` (overwritten; its
/// gfp_winograd_f4_weight_gradient_accumulator_floats(k, c) floats and `scratch`'s
/// gfp_winograd_f4_weight_gradient_scratch_floats(k, c) 32-byte aligned). `x` is [n][c/8][h][w][8]
/// and `gy` [n][k/8][h][w][8] (c and k multiples of 8). Needs AVX2 and FMA.
void gfp_winograd_f4_weight_gradient_accumulate(const float *x, const float *gy, int c, int h, int w, int k,
                                                long tile_begin, long tile_end, float *accumulator, float *scratch);

/// The second half: sums `workers` accumulators (`accumulator_stride` floats apart) and writes
/// the OIHW gradient `weight_gradient` [k][c][3][3] for the input channels `i_begin..<i_end`.
void gfp_winograd_f4_weight_gradient_finish(const float *accumulators, int workers, size_t accumulator_stride, int k,
                                            int c, int i_begin, int i_end, float *weight_gradient);

/// Floats of the packed weights of a stride-2 3x3 convolution with `k` output and `c` input
/// channels: k rounded up to 16, c to 8, times 9.
size_t gfp_stride2_weight_floats(int k, int c);

/// Packs OIHW 3x3 weights `weight` [k][c][3][3] for gfp_stride2_forward
/// (gfp_stride2_weight_floats(k, c) floats, 32-byte aligned).
void gfp_stride2_pack_weights(const float *weight, int k, int c, float *packed);

/// Floats of scratch memory one worker of gfp_stride2_forward needs: one zero-bordered image.
size_t gfp_stride2_scratch_floats(int c, int h, int w);

/// y = activation(conv3x3(x, w) + bias) with stride 2 and one row/column of zero padding on
/// every side (output (h - 1) / 2 + 1 by (w - 1) / 2 + 1), for the work units
/// `unit_begin..<unit_end` of the n x ceil(k / 16) units (image-major; a unit is one image's
/// 16 output channels). `x` is [n][c/8][h][w][8] when `input_blocked` (c a multiple of 8),
/// otherwise row-major [n][c][h][w] (any c); `y` is [n][k/8][oh][ow][8] (k a multiple of 8);
/// `packed` comes from gfp_stride2_pack_weights; `bias` ([k]) may be NULL; with `activate`,
/// negative values are multiplied by `negative_slope` (0 gives ReLU). `scratch` holds
/// gfp_stride2_scratch_floats(c, h, w) floats.
void gfp_stride2_forward(const float *x, int c, int h, int w, int input_blocked, const float *packed, int k,
                         const float *bias, int activate, float negative_slope, float *y, long unit_begin,
                         long unit_end, float *scratch);

#endif
