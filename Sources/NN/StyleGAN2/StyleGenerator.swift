import Tensor

/// A StyleGAN2 generator for unconditional image synthesis: `z` is normalised (pixel norm),
/// mapped to a style `w` used by every synthesis layer, and also enters the 4×4 input block.
///
/// This is the GAN that the training-data fingerprinting method trains on (fingerprinted or
/// clean) data and that the attribution method instantiates several times.
public final class StyleGenerator: Module {
    /// The architecture, stored with checkpoints.
    public struct Configuration: Codable, Hashable, Sendable {
        public var resolution: Int
        public var imageChannels: Int
        public var latentDimension: Int
        public var styleDimension: Int
        public var mappingDepth: Int
        public var channels: ChannelSchedule

        public init(resolution: Int, imageChannels: Int = 3, latentDimension: Int = 128, styleDimension: Int = 128,
                    mappingDepth: Int = 4, channels: ChannelSchedule = ChannelSchedule(base: 2048, maximum: 256)) {
            self.resolution = resolution
            self.imageChannels = imageChannels
            self.latentDimension = latentDimension
            self.styleDimension = styleDimension
            self.mappingDepth = mappingDepth
            self.channels = channels
        }
    }

    public let mapping: MappingNetwork
    public let synthesis: SynthesisNetwork
    public let configuration: Configuration

    public init(_ configuration: Configuration, generator: inout SeededGenerator) {
        self.configuration = configuration
        mapping = MappingNetwork(inputCount: configuration.latentDimension, width: configuration.styleDimension,
                                 outputCount: configuration.styleDimension, depth: configuration.mappingDepth,
                                 generator: &generator)
        synthesis = SynthesisNetwork(resolution: configuration.resolution, latentDimension: configuration.latentDimension,
                                     styleDimension: configuration.styleDimension, imageChannels: configuration.imageChannels,
                                     channels: configuration.channels, generator: &generator)
        super.init()
    }

    /// A new generator with the same architecture and weights.
    public func copy() -> StyleGenerator {
        var unused = SeededGenerator(seed: 0)
        let clone = StyleGenerator(configuration, generator: &unused)
        try! clone.copyParameters(from: self)   // same configuration: same keys and shapes
        return clone
    }

    /// Draws latents `[N, latentDimension]` from N(0, 1).
    public func sampleLatents(_ count: Int, generator: inout SeededGenerator) -> Tensor {
        Tensor.normal([count, configuration.latentDimension], using: &generator)
    }

    /// The style `w` of each latent, `[N, styleDimension]`.
    public func styles(for latents: Tensor) -> Tensor {
        let normalized = latents * (latents.square().mean(alongAxes: [1], keepingDimensions: true) + 1e-8).rsqrt()
        return mapping(normalized)
    }

    /// Images `[N, C, R, R]` (roughly in [−1, 1]) from latents and per-layer noise; with
    /// `truncation`, each style is first pulled towards the truncation's centre.
    public func callAsFunction(_ latents: Tensor, noise: [Tensor], truncation: StyleTruncation? = nil) -> Tensor {
        let w = styles(for: latents)
        return synthesis(latents, styles: [truncation.map { $0.apply(to: w) } ?? w], noise: noise)
    }

    /// The mean style of `count` latents drawn from `SeededGenerator(seed:)` (in batches of 500),
    /// `[styleDimension]`: the centre of StyleGAN's truncation trick, which StyleGAN2 tracks as a
    /// moving average during training and this generator computes afterwards.
    public func meanStyle(count: Int = 10_000, seed: UInt64 = 0) -> Tensor {
        precondition(count > 0, "meanStyle needs at least one latent")
        var random = SeededGenerator(seed: seed)
        var sum = Tensor.zeros([configuration.styleDimension])
        var remaining = count
        while remaining > 0 {
            let batch = min(500, remaining)
            let latents = sampleLatents(batch, generator: &random)
            sum = sum + withoutGradients { styles(for: latents).sum(alongAxes: [0]) }
            remaining -= batch
        }
        return sum / Float(count)
    }
}

/// StyleGAN's truncation trick: every style `w` becomes `centre + psi · (w − centre)`, trading
/// the variety of the images for their typicality (psi = 1 leaves them unchanged, psi = 0 gives
/// every image the centre's style). The latent's own path into the 4 × 4 block is not truncated.
public struct StyleTruncation {
    /// How far each style keeps from the centre, in [0, 1].
    public let psi: Float
    /// The mean style, `[styleDimension]` (`StyleGenerator.meanStyle`).
    public let center: Tensor

    /// Fails (nil) unless `psi` is in [0, 1] and `center` is a vector.
    public init?(psi: Float, center: Tensor) {
        guard (0...1).contains(psi), center.shape.count == 1 else { return nil }
        self.psi = psi
        self.center = center
    }

    /// The truncated styles of `styles` `[N, styleDimension]` (`styles` itself when psi is 1).
    public func apply(to styles: Tensor) -> Tensor {
        guard psi < 1 else { return styles }
        let row = center.reshaped(to: [1, center.count])
        return row + (styles - row) * psi
    }
}

/// Where the per-pixel noise of the synthesis layers comes from when sampling (StyleGAN2's
/// `--noise-mode`).
public enum NoiseMode: String, CaseIterable, Codable, Sendable {
    /// Fresh N(0, 1) maps for every image (as in training).
    case random
    /// The maps stored with the generator, the same for every image (StyleGAN2's sampling default).
    case const
    /// No noise.
    case none
}

extension StyleGenerator {
    /// The image of one seed, `[C, R, R]` in roughly [−1, 1]: the latent and then (with
    /// `.random` noise) every noise map are drawn from `SeededGenerator(seed:)`, so a seed always
    /// gives the same image (for the same truncation).
    public func image(seed: UInt64, noise mode: NoiseMode = .random, truncation: StyleTruncation? = nil) -> Tensor {
        var random = SeededGenerator(seed: seed)
        let z = sampleLatents(1, generator: &random)
        let noise = switch mode {
        case .random: synthesis.randomNoise(batchSize: 1, generator: &random)
        case .const: synthesis.fixedNoise(batchSize: 1)
        case .none: synthesis.fixedNoise(batchSize: 1).map { $0 * 0 }
        }
        let image = withoutGradients { self(z, noise: noise, truncation: truncation) }
        return image.reshaped(to: Array(image.shape.dropFirst()))
    }
}
