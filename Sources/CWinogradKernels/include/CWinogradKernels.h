// Winograd F(4x4, 3x3) convolution on channel-blocked (nChw8c) activations, for CPUs with AVX2
// and FMA where oneDNN 2.6 offers only direct 3x3 kernels. Tensor's DNNL layer uses it in
// place of oneDNN's forward convolution when the shapes fit (see WinogradConvolution.swift).
#ifndef GFP_WINOGRAD_KERNELS_H
#define GFP_WINOGRAD_KERNELS_H

#include <stddef.h>

/// 1 when this CPU can run the kernels (AVX2 and FMA), else 0.
int gfp_winograd_available(void);

/// Floats of the transformed weights for `k` output and `c` input channels: 36 x c x k rounded
/// up to whole 16-channel output blocks.
size_t gfp_winograd_f4_weight_floats(int k, int c);

/// Transforms OIHW 3x3 weights `weight` [k][c][3][3] into `transformed`
/// (gfp_winograd_f4_weight_floats(k, c) floats): G g G^T per channel pair.
void gfp_winograd_f4_transform_weights(const float *weight, int k, int c, float *transformed);

/// Transforms the weights of y = conv(x, weight) (OIHW [k][c][3][3]) for its input gradient
/// gx = conv(gy, weight'), weight' [c][k][3][3] being weight with its channel axes swapped and
/// each kernel rotated by 180 degrees: gfp_winograd_f4_weight_floats(c, k) floats, to be used by
/// gfp_winograd_f4_forward with k input and c output channels.
void gfp_winograd_f4_transform_weights_backward_data(const float *weight, int k, int c, float *transformed);

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

#endif
