import Tensor

/// StyleGAN2's FIR resampling with the binomial filter `[1, 3, 3, 1]` (spec §2.3).
public enum FIRResampling {
    /// `outer([1,3,3,1], [1,3,3,1]) / 64`, which sums to 1.
    public static let filter: Tensor = {
        let k: [Float] = [1, 3, 3, 1]
        return Tensor(shape: [4, 4], scalars: k.flatMap { a in k.map { a * $0 / 64 } })
    }()

    /// Zero-insert ×2, pad 2 before and 1 after, filter with 4·K: `[N, C, H, W]` → `[N, C, 2H, 2W]`.
    public static func upsample2x(_ x: Tensor) -> Tensor {
        x.upfirdn2d(filter: filter, up: 2, padding: Padding2D(top: 2, bottom: 1, left: 2, right: 1), gain: 4)
    }

    /// Blur with K and keep every second sample: `[N, C, H, W]` → `[N, C, H/2, W/2]`.
    public static func downsample2x(_ x: Tensor) -> Tensor {
        x.upfirdn2d(filter: filter, down: 2, padding: 1)
    }

    /// A 3×3 (or k×k, k odd) cross-correlation with ×2 upsampling, TensorFlow StyleGAN2's
    /// `upsample_conv_2d`: zero-insert so `x[i]` sits at `2i`, pad `k − 1`, valid correlation with
    /// `weight` `[O, I, k, k]`, then pad 1/1 and filter with 4·K. Output `[N, O, 2H, 2W]`.
    ///
    /// Steps one to three are a stride-2 transposed convolution with the spatially flipped,
    /// channel-transposed weight, which is how it runs here.
    public static func upsampleConv2d(_ x: Tensor, weight: Tensor) -> Tensor {
        let transposeWeight = weight.reversed(alongAxes: [2, 3]).permuted([1, 0, 2, 3])
        let y = Tensor.convTranspose2d(x, weight: transposeWeight, stride: 2)
        let k = weight.shape[2]
        // (2H − 1) + 2(k − 1) − k + 1 = 2H + k − 2 samples; padding p each side and the 4-tap
        // blur give 2H + k − 2 + 2p − 3 = 2H, so p = (5 − k)/2 (1 for 3×3, 2 for 1×1).
        let pad = (5 - k) / 2
        return y.upfirdn2d(filter: filter, padding: Padding2D(vertical: pad, horizontal: pad), gain: 4)
    }

    /// Blur then a strided valid convolution, TensorFlow StyleGAN2's `conv_downsample_2d`:
    /// `[N, I, H, W]` → `[N, O, H/2, W/2]` for a k×k weight `[O, I, k, k]`, plus `bias` `[O]`,
    /// then `activation` (both inside the convolution).
    ///
    /// A 1×1 weight mixes channels pixel by pixel, which commutes with the per-channel blur and
    /// with keeping every second sample: it runs as `downsample2x` (only the kept samples are
    /// filtered) and a stride-1 1×1 convolution on the quarter-size result, as the PyTorch
    /// StyleGAN2 code does, instead of blurring at full size and discarding three samples of four.
    public static func convDownsample2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                                        activation: FusedActivation? = nil) -> Tensor {
        let k = weight.shape[2]
        if k == 1 && weight.shape[3] == 1 {
            return Tensor.conv2d(downsample2x(x), weight: weight, bias: bias, activation: activation)
        }
        // Pad so that blur + valid k×k stride-2 conv gives H/2: (4 − 2) + (k − 1) in total.
        let pad = (4 - 2 + k - 1) / 2
        let blurred = x.upfirdn2d(filter: filter, padding: Padding2D(vertical: pad, horizontal: pad))
        return Tensor.conv2d(blurred, weight: weight, bias: bias, stride: 2, activation: activation)
    }
}
