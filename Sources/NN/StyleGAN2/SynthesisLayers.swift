import Tensor

/// A synthesis layer (spec §2.5): modulated 3×3 convolution, per-pixel noise scaled by a
/// learned strength, bias, leaky ReLU·√2.
public final class SynthesisLayer: Module {
    public let conv: ModulatedConv2d
    /// Noise strength `[1]`, initialised to 0.
    public let noiseStrength: Parameter
    public let bias: Parameter

    public init(inputChannels: Int, outputChannels: Int, styleDimension: Int?, upsample: Bool,
                generator: inout SeededGenerator) {
        conv = ModulatedConv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3,
                               styleDimension: styleDimension, demodulate: true, upsample: upsample, generator: &generator)
        noiseStrength = Parameter(Tensor.zeros([1]))
        bias = Parameter(Tensor.zeros([outputChannels]))
        super.init()
    }

    /// `noise` is `[N, 1, H', W']` at the output resolution.
    public func callAsFunction(_ x: Tensor, style w: Tensor, noise: Tensor) -> Tensor {
        // lrelu(y + noise·strength + bias)·√2, with the √2 moved inside (lrelu is positively
        // homogeneous): into the demodulation factors, the noise strength and the bias, which
        // are small, so the output takes one element-wise pass fewer forward and backward.
        let gain = StyleActivation.leakyReLU.fused(gain: 1).scale
        let y = conv(x, style: w, gain: gain)
        precondition(noise.shape == [y.shape[0], 1, y.shape[2], y.shape[3]],
                     "SynthesisLayer noise \(noise.shape) for output \(y.shape)")
        let shifted = y + noise * (noiseStrength.value * gain) + (bias.value * gain).reshaped(to: [1, -1, 1, 1])
        return shifted.leakyReLU(negativeSlope: StyleActivation.negativeSlope)
    }
}

/// A 1×1 modulated convolution without demodulation, plus bias, to image channels (linear).
public final class ToRGB: Module {
    public let conv: ModulatedConv2d
    public let bias: Parameter

    public init(inputChannels: Int, imageChannels: Int, styleDimension: Int?, generator: inout SeededGenerator) {
        conv = ModulatedConv2d(inputChannels: inputChannels, outputChannels: imageChannels, kernelSize: 1,
                               styleDimension: styleDimension, demodulate: false, generator: &generator)
        bias = Parameter(Tensor.zeros([imageChannels]))
        super.init()
    }

    public func callAsFunction(_ x: Tensor, style w: Tensor) -> Tensor {
        conv(x, style: w) + bias.value.reshaped(to: [1, -1, 1, 1])
    }
}

/// A synthesis block doubling the resolution, "skip" architecture (spec §3.3): two layers,
/// then the image so far upsampled with the FIR filter plus this block's ToRGB.
public final class SynthesisBlock: Module {
    public let conv0: SynthesisLayer
    public let conv1: SynthesisLayer
    public let toRGB: ToRGB

    public init(inputChannels: Int, outputChannels: Int, imageChannels: Int, styleDimension: Int?,
                generator: inout SeededGenerator) {
        conv0 = SynthesisLayer(inputChannels: inputChannels, outputChannels: outputChannels,
                               styleDimension: styleDimension, upsample: true, generator: &generator)
        conv1 = SynthesisLayer(inputChannels: outputChannels, outputChannels: outputChannels,
                               styleDimension: styleDimension, upsample: false, generator: &generator)
        toRGB = ToRGB(inputChannels: outputChannels, imageChannels: imageChannels, styleDimension: styleDimension,
                      generator: &generator)
        super.init()
    }

    /// - Parameters:
    ///   - styles: the styles of `conv0`, `conv1` and `toRGB`.
    ///   - noise: the noise maps of `conv0` and `conv1` at the output resolution.
    /// - Returns: the features and the image, both at twice the input resolution.
    public func callAsFunction(_ x: Tensor, image: Tensor, styles: [Tensor], noise: [Tensor]) -> (features: Tensor, image: Tensor) {
        let h = conv1(conv0(x, style: styles[0], noise: noise[0]), style: styles[1], noise: noise[1])
        return (h, FIRResampling.upsample2x(image) + toRGB(h, style: styles[2]))
    }
}
