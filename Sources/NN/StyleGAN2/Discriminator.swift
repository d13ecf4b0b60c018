import Tensor

/// StyleGAN2's minibatch standard deviation (spec §2.6): one extra channel holding, per group of
/// `groupSize` samples (sample j in group j mod N/G), the mean over C, H, W of the per-element
/// standard deviation across the group.
public final class MinibatchStdDev: Module, UnaryLayer {
    public let groupSize: Int

    public init(groupSize: Int = 4) {
        self.groupSize = groupSize
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let g = min(groupSize, n)
        precondition(n % g == 0, "minibatch standard deviation: batch \(n) not divisible by group size \(g)")
        let m = n / g
        let grouped = x.reshaped(to: [g, m, c, h, w])
        let deviation = (grouped.variance(alongAxes: [0]) + 1e-8).sqrt()      // [m, c, h, w]
        let perGroup = deviation.mean(alongAxes: [1, 2, 3])                    // [m]
        let feature = perGroup.reshaped(to: [1, m, 1, 1, 1]).expanded(to: [g, m, 1, h, w]).reshaped(to: [n, 1, h, w])
        return Tensor.concatenate([x, feature], alongAxis: 1)
    }
}

/// A residual discriminator block halving the resolution (spec §4): two 3×3 convolutions (the
/// second with FIR downsampling) plus a 1×1 downsampling skip, summed and scaled by 1/√2.
public final class DiscriminatorBlock: Module, UnaryLayer {
    public let conv0: EqualizedConv2d
    public let conv1: EqualizedConv2d
    public let skip: EqualizedConv2d

    public init(inputChannels: Int, outputChannels: Int, generator: inout SeededGenerator) {
        conv0 = EqualizedConv2d(inputChannels: inputChannels, outputChannels: inputChannels, kernelSize: 3,
                                generator: &generator)
        conv1 = EqualizedConv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3,
                                downsample: true, generator: &generator)
        skip = EqualizedConv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1, bias: false,
                               downsample: true, activation: .linear, generator: &generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        // The branches' 1/√2 is folded into their last layers (no pass of its own).
        let gain = 1 / Float(2).squareRoot()
        return conv1(conv0(x), gain: gain) + skip(x, gain: gain)
    }
}

/// The 4×4 end of the discriminator: optional minibatch deviation, a 3×3 convolution, a dense
/// layer and a linear output layer with any number of outputs.
public final class DiscriminatorEpilogue: Module, UnaryLayer {
    public let minibatchStdDev: MinibatchStdDev?
    public let conv: EqualizedConv2d
    public let dense0: EqualizedLinear
    public let output: EqualizedLinear

    public init(channels: Int, denseChannels: Int, outputCount: Int, minibatchGroupSize: Int?,
                generator: inout SeededGenerator) {
        minibatchStdDev = minibatchGroupSize.map { MinibatchStdDev(groupSize: $0) }
        conv = EqualizedConv2d(inputChannels: channels + (minibatchGroupSize == nil ? 0 : 1), outputChannels: channels,
                               kernelSize: 3, generator: &generator)
        dense0 = EqualizedLinear(inputCount: channels * 16, outputCount: denseChannels, activation: .leakyReLU,
                                 generator: &generator)
        output = EqualizedLinear(inputCount: denseChannels, outputCount: outputCount, generator: &generator)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv(minibatchStdDev?(x) ?? x)
        return output(dense0(h.flattened(from: 1)))
    }
}

/// StyleGAN2's residual discriminator (spec §4), also the fingerprint decoder of the scalable
/// method (spec §5: no minibatch deviation, `outputCount` = latent + fingerprint size).
public final class ResNetDiscriminator: Module, UnaryLayer {
    public let fromRGB: EqualizedConv2d
    public let blocks: [DiscriminatorBlock]
    public let epilogue: DiscriminatorEpilogue

    public init(resolution: Int, imageChannels: Int = 3, channels: ChannelSchedule, outputCount: Int = 1,
                minibatchGroupSize: Int? = 4, generator: inout SeededGenerator) {
        guard let log2R = exactLog2(resolution), (2...8).contains(log2R) else {
            preconditionFailure("discriminator resolution \(resolution) must be a power of two from 4 to 256")
        }
        fromRGB = EqualizedConv2d(inputChannels: imageChannels, outputChannels: channels.channels(log2Resolution: log2R),
                                  kernelSize: 1, generator: &generator)
        var blocks: [DiscriminatorBlock] = []
        if log2R >= 3 {
            for res in stride(from: log2R, through: 3, by: -1) {
                blocks.append(DiscriminatorBlock(inputChannels: channels.channels(log2Resolution: res),
                                                 outputChannels: channels.channels(log2Resolution: res - 1),
                                                 generator: &generator))
            }
        }
        self.blocks = blocks
        epilogue = DiscriminatorEpilogue(channels: channels.channels(log2Resolution: 2),
                                         denseChannels: channels.channels(stage: 0), outputCount: outputCount,
                                         minibatchGroupSize: minibatchGroupSize, generator: &generator)
        super.init()
    }

    /// Logits `[N, outputCount]` for images `[N, C, R, R]`.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        epilogue(blocks.reduce(fromRGB(images)) { $1($0) })
    }
}
