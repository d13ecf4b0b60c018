import Tensor

/// The 4×4 block where the latent `z` enters (spec §3.2): a dense layer to a 4×4 map, one
/// synthesis layer and a ToRGB.
public final class SynthesisInputBlock: Module {
    /// `z → [C·16]` with leaky ReLU·√2, reshaped to `[N, C, 4, 4]`.
    public let latent: EqualizedLinear
    public let conv: SynthesisLayer
    public let toRGB: ToRGB

    public init(latentDimension: Int, channels: Int, imageChannels: Int, styleDimension: Int?,
                generator: inout SeededGenerator) {
        latent = EqualizedLinear(inputCount: latentDimension, outputCount: channels * 16, activation: .leakyReLU,
                                 generator: &generator)
        conv = SynthesisLayer(inputChannels: channels, outputChannels: channels, styleDimension: styleDimension,
                              upsample: false, generator: &generator)
        toRGB = ToRGB(inputChannels: channels, imageChannels: imageChannels, styleDimension: styleDimension,
                      generator: &generator)
        super.init()
    }

    public func callAsFunction(_ z: Tensor, styles: [Tensor], noise: Tensor) -> (features: Tensor, image: Tensor) {
        let x = latent(z).reshaped(to: [z.shape[0], -1, 4, 4])
        let h = conv(x, style: styles[0], noise: noise)
        return (h, toRGB(h, style: styles[1]))
    }
}

/// The skip-architecture synthesis network of the fingerprinted StyleGAN2 (spec §3.3-§3.4), for
/// resolutions 8 to 256 (4 works too: only the input block).
///
/// Style slots follow the official indexing: the input block's conv uses slot 0 and its ToRGB
/// slot 1; the block at resolution 2^res uses slots 2res−5, 2res−4 and 2res−3. Blocks outside
/// `modulatedRange` (log₂ resolutions) are plain, unmodulated convolutions.
public final class SynthesisNetwork: Module {
    public let input: SynthesisInputBlock
    public let blocks: [SynthesisBlock]
    /// Fixed noise maps `[1, 1, H, W]` per layer (non-trainable), for deterministic generation.
    public let noiseMaps: [Parameter]

    public let resolution: Int
    public let styleDimension: Int

    public init(resolution: Int, latentDimension: Int, styleDimension: Int, imageChannels: Int = 3,
                channels: ChannelSchedule, modulatedRange: ClosedRange<Int>? = nil, generator: inout SeededGenerator) {
        guard let log2R = exactLog2(resolution), (2...8).contains(log2R) else {
            preconditionFailure("synthesis resolution \(resolution) must be a power of two from 4 to 256")
        }
        let range = modulatedRange ?? 2...log2R
        func modulation(_ res: Int) -> Int? { range.contains(res) ? styleDimension : nil }
        input = SynthesisInputBlock(latentDimension: latentDimension, channels: channels.channels(log2Resolution: 2),
                                    imageChannels: imageChannels, styleDimension: modulation(2), generator: &generator)
        var blocks: [SynthesisBlock] = []
        var maps = [Parameter(Initializer.normal([1, 1, 4, 4], generator: &generator), trainable: false)]
        if log2R >= 3 {
            for res in 3...log2R {
                blocks.append(SynthesisBlock(inputChannels: channels.channels(log2Resolution: res - 1),
                                             outputChannels: channels.channels(log2Resolution: res),
                                             imageChannels: imageChannels, styleDimension: modulation(res),
                                             generator: &generator))
                for _ in 0..<2 {
                    maps.append(Parameter(Initializer.normal([1, 1, 1 << res, 1 << res], generator: &generator), trainable: false))
                }
            }
        }
        self.blocks = blocks
        noiseMaps = maps
        self.resolution = resolution
        self.styleDimension = styleDimension
        super.init()
    }

    /// Number of style slots, 2·log₂R − 2.
    public var styleSlotCount: Int { 2 * (blocks.count + 2) - 2 }

    /// Fresh N(0, 1) noise for every layer, `[N, 1, H, W]` each.
    public func randomNoise(batchSize: Int, generator: inout SeededGenerator) -> [Tensor] {
        noiseMaps.map { Tensor.normal([batchSize, 1, $0.shape[2], $0.shape[3]], using: &generator) }
    }

    /// The stored noise maps broadcast to a batch.
    public func fixedNoise(batchSize: Int) -> [Tensor] {
        noiseMaps.map { $0.value.expanded(to: [batchSize, 1, $0.shape[2], $0.shape[3]]) }
    }

    /// Renders images `[N, imageChannels, R, R]` from latents `z` `[N, latentDimension]`.
    ///
    /// - Parameters:
    ///   - styles: one `[N, styleDimension]` tensor per style slot (`styleSlotCount`), or a single
    ///     tensor used for every slot.
    ///   - noise: one map per layer (see `randomNoise` and `fixedNoise`).
    public func callAsFunction(_ z: Tensor, styles: [Tensor], noise: [Tensor]) -> Tensor {
        let slots = styles.count == 1 ? Array(repeating: styles[0], count: styleSlotCount) : styles
        precondition(slots.count == styleSlotCount, "synthesis needs \(styleSlotCount) styles, got \(styles.count)")
        precondition(noise.count == noiseMaps.count, "synthesis needs \(noiseMaps.count) noise maps, got \(noise.count)")
        var (x, image) = input(z, styles: [slots[0], slots[1]], noise: noise[0])
        for (i, block) in blocks.enumerated() {
            let res = i + 3
            (x, image) = block(x, image: image, styles: [slots[2 * res - 5], slots[2 * res - 4], slots[2 * res - 3]],
                               noise: [noise[1 + 2 * i], noise[2 + 2 * i]])
        }
        return image
    }
}
