import Tensor

/// The activation after a StyleGAN2 layer: linear, or leaky ReLU (slope 0.2) scaled by √2.
public enum StyleActivation: Sendable {
    case linear
    case leakyReLU

    /// Leaky ReLU's slope for negative inputs.
    static let negativeSlope: Float = 0.2

    @inline(__always) func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .linear: return x
        case .leakyReLU: return x.leakyReLU(negativeSlope: Self.negativeSlope) * Float(2).squareRoot()
        }
    }

    /// The activation's gain (√2 for leaky ReLU), times `gain`, as a factor of its input, and the
    /// activation left to compute inside a convolution. Leaky ReLU is positively homogeneous,
    /// `lrelu(z)·√2·gain = lrelu(z·√2·gain)` for `gain` > 0, so a layer that scales its weight
    /// and bias by `scale` and fuses `activation` gives `apply(z)·gain` without a pass of its own.
    func fused(gain: Float) -> (scale: Float, activation: FusedActivation?) {
        precondition(gain > 0, "an activation's output gain must be positive, got \(gain)")
        switch self {
        case .linear: return (gain, nil)
        case .leakyReLU: return (Float(2).squareRoot() * gain, .leakyReLU(negativeSlope: Self.negativeSlope))
        }
    }
}

/// A dense layer with an equalised learning rate: the raw `weight` `[out, in]` is drawn from
/// N(0, 1/lrmul²) and scaled at run time by lrmul/√in; the raw `bias` by lrmul (spec §2.1).
public final class EqualizedLinear: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let learningRateMultiplier: Float
    public let activation: StyleActivation

    public init(inputCount: Int, outputCount: Int, bias: Bool = true, biasInitialValue: Float = 0,
                learningRateMultiplier: Float = 1, activation: StyleActivation = .linear,
                generator: inout SeededGenerator) {
        weight = Parameter(Initializer.normal([outputCount, inputCount], standardDeviation: 1 / learningRateMultiplier,
                                              generator: &generator))
        self.bias = bias ? Parameter(Tensor(repeating: biasInitialValue / learningRateMultiplier, shape: [outputCount])) : nil
        self.learningRateMultiplier = learningRateMultiplier
        self.activation = activation
        super.init()
    }

    /// The run-time weight scale lrmul/√in.
    public var weightGain: Float { learningRateMultiplier / Float(weight.shape[1]).squareRoot() }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 2 && input.shape[1] == weight.shape[1],
                     "EqualizedLinear(\(weight.shape[1])→\(weight.shape[0])) got input \(input.shape)")
        var y = Tensor.matmul(input, weight.value * weightGain, transposeB: true)
        if let bias { y = y + (learningRateMultiplier == 1 ? bias.value : bias.value * learningRateMultiplier) }
        return activation.apply(y)
    }
}

/// A convolution with an equalised learning rate (raw weight N(0, 1), scaled by 1/√(in·k·k)),
/// "same" padding, and optionally StyleGAN2's FIR downsampling (spec §2.3).
public final class EqualizedConv2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let downsample: Bool
    public let activation: StyleActivation

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, bias: Bool = true, downsample: Bool = false,
                activation: StyleActivation = .leakyReLU, generator: inout SeededGenerator) {
        precondition(kernelSize % 2 == 1, "EqualizedConv2d kernel size \(kernelSize) must be odd")
        weight = Parameter(Initializer.normal([outputChannels, inputChannels, kernelSize, kernelSize], generator: &generator))
        self.bias = bias ? Parameter(Tensor.zeros([outputChannels])) : nil
        self.downsample = downsample
        self.activation = activation
        super.init()
    }

    /// The run-time weight scale 1/√(in·k·k).
    public var weightGain: Float { 1 / Float(weight.shape[1] * weight.shape[2] * weight.shape[3]).squareRoot() }

    public func callAsFunction(_ input: Tensor) -> Tensor { callAsFunction(input, gain: 1) }

    /// The layer's output times `gain` (> 0), computed as one convolution: the bias, the
    /// activation and both gains go inside it (see `StyleActivation.fused(gain:)`), so the output
    /// costs no element-wise pass forward and only the activation's gate backward.
    public func callAsFunction(_ input: Tensor, gain: Float) -> Tensor {
        let (scale, fusedActivation) = activation.fused(gain: gain)
        let w = weight.value * (weightGain * scale)
        let b = bias.map { scale == 1 ? $0.value : $0.value * scale }
        if downsample {
            return FIRResampling.convDownsample2d(input, weight: w, bias: b, activation: fusedActivation)
        }
        let pad = weight.shape[2] / 2
        return Tensor.conv2d(input, weight: w, bias: b, padding: Padding2D(vertical: pad, horizontal: pad),
                             activation: fusedActivation)
    }
}
