import Foundation
import Tensor

/// Hyper-parameters of the StyleGAN2-style GAN trainer (defaults follow StyleGAN2 config E, with
/// the small-scale R1 weight the scalable-fingerprints spec §15 suggests for 32 px).
public struct GANTrainingConfiguration: Codable, Hashable, Sendable {
    public var batchSize = 16
    public var learningRate: Float = 0.002
    public var beta1: Float = 0
    public var beta2: Float = 0.99
    /// R1 weight γ (0 disables R1).
    public var r1Gamma: Float = 0.1
    /// Minibatches between lazy R1 steps.
    public var r1Interval = 16
    /// Path-length weight (0 disables the regulariser).
    public var pathLengthWeight: Float = 0
    /// Minibatches between lazy path-length steps.
    public var pathLengthInterval = 4
    /// Half-life of the generator's moving average, in images.
    public var emaHalfLifeImages: Double = 10_000
    /// Seed of every random draw of the trainer (latents, noise, regulariser directions).
    public var seed: UInt64 = 0

    public init() {}
}

/// What one training step measured.
public struct GANStepMetrics: Sendable {
    public var step: Int
    public var generatorLoss: Float
    public var discriminatorLoss: Float
    /// Mean D logit on reals and fakes.
    public var realScore: Float
    public var fakeScore: Float
    /// The R1 penalty when it ran this step.
    public var r1Penalty: Float?
    /// The path-length penalty when it ran this step.
    public var pathLengthPenalty: Float?
}

/// Errors that stop training.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// A loss became NaN or infinite; nothing from this step was applied.
    case nonFiniteLoss(step: Int, loss: String, value: Float)
    /// A real batch has the wrong shape for the networks.
    case badBatch(step: Int, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .nonFiniteLoss(step, loss, value): "step \(step): \(loss) loss is \(value); training stopped"
        case let .badBatch(step, expected, found): "step \(step): real batch has shape \(found), expected \(expected)"
        }
    }
}

/// A StyleGAN2-style GAN trainer: alternating generator and discriminator steps with the
/// non-saturating logistic loss, lazy R1, optional lazy path-length regularisation, and an
/// exponential moving average of the generator (spec §6-§7 of scalable-fingerprints, without the
/// fingerprint terms).
public final class GANTrainer {
    public let configuration: GANTrainingConfiguration
    public let generator: StyleGenerator
    /// The moving average of the generator: use it for sampling.
    public let averageGenerator: StyleGenerator
    public let discriminator: ResNetDiscriminator
    public let generatorOptimizer: Adam
    public let discriminatorOptimizer: Adam
    /// Steps completed.
    public internal(set) var step = 0
    /// Running mean of path lengths (the regulariser's target).
    public internal(set) var pathLengthMean: Float = 0
    /// The trainer's random stream (latents, noise, directions).
    public internal(set) var random: SeededGenerator
    /// The networks' architecture when the trainer built them (needed for checkpoints).
    public internal(set) var architecture: GANArchitecture?

    private let ema: ExponentialMovingAverage

    /// Creates a trainer for fresh networks (the average starts as a copy of the generator).
    public init(generator: StyleGenerator, discriminator: ResNetDiscriminator, configuration: GANTrainingConfiguration) {
        self.configuration = configuration
        self.generator = generator
        self.discriminator = discriminator
        averageGenerator = generator.copy()
        averageGenerator.eval()
        // Lazy regularisation: the main step's Adam is corrected as in StyleGAN2.
        func adam(_ module: Module, interval: Int, enabled: Bool) -> Adam {
            let ratio = enabled ? Float(interval) / Float(interval + 1) : 1
            return Adam(for: module, learningRate: configuration.learningRate * ratio,
                        beta1: powf(configuration.beta1, ratio), beta2: powf(configuration.beta2, ratio))
        }
        generatorOptimizer = adam(generator, interval: configuration.pathLengthInterval,
                                  enabled: configuration.pathLengthWeight > 0)
        discriminatorOptimizer = adam(discriminator, interval: configuration.r1Interval, enabled: configuration.r1Gamma > 0)
        ema = ExponentialMovingAverage(halfLifeImages: configuration.emaHalfLifeImages, batchSize: configuration.batchSize)
        random = SeededGenerator(seed: configuration.seed)
    }

    private var imageShape: [Int] {
        let g = generator.configuration
        return [g.imageChannels, g.resolution, g.resolution]
    }

    /// Fake images from fresh latents and noise, with the styles they were made from.
    private func generateFakes(_ count: Int) -> (images: Tensor, styles: [Tensor]) {
        let z = generator.sampleLatents(count, generator: &random)
        let noise = generator.synthesis.randomNoise(batchSize: count, generator: &random)
        let w = generator.styles(for: z)
        // One node per style slot, so per-slot gradients exist for the path-length penalty.
        let styles = (0..<generator.synthesis.styleSlotCount).map { _ in w + 0 }
        return (generator.synthesis(z, styles: styles, noise: noise), styles)
    }

    private func checkFinite(_ value: Float, _ name: String) throws {
        guard value.isFinite else { throw TrainingError.nonFiniteLoss(step: step, loss: name, value: value) }
    }

    /// One training iteration on a batch of reals `[N, C, R, R]` in [−1, 1].
    @discardableResult
    public func trainStep(reals: Tensor) throws -> GANStepMetrics {
        let n = configuration.batchSize
        guard reals.shape == [n] + imageShape else {
            throw TrainingError.badBatch(step: step, expected: [n] + imageShape, found: reals.shape)
        }
        // Generator step (D frozen so its weights collect no gradient).
        discriminator.freeze()
        let fakes = generateFakes(n).images
        let gLoss = generatorLoss(fakeLogits: discriminator(fakes))
        try checkFinite(gLoss.scalar, "generator")
        gLoss.backward()
        generatorOptimizer.step()

        var pathPenalty: Float?
        if configuration.pathLengthWeight > 0 && step % configuration.pathLengthInterval == 0 {
            let (images, styles) = generateFakes(max(1, n / 2))
            let (penalty, meanLength) = pathLengthPenalty(images: images, styles: styles, targetLength: pathLengthMean,
                                                          generator: &random)
            try checkFinite(penalty.scalar, "path length")
            pathLengthMean += 0.01 * (meanLength - pathLengthMean)
            (penalty * (configuration.pathLengthWeight * Float(configuration.pathLengthInterval))).backward()
            generatorOptimizer.step()
            pathPenalty = penalty.scalar
        }
        discriminator.unfreeze()

        // Discriminator step (fakes detached from the generator).
        let detachedFakes = withoutGradients { generateFakes(n).images }
        let realLogits = discriminator(reals), fakeLogits = discriminator(detachedFakes)
        let dLoss = discriminatorLoss(realLogits: realLogits, fakeLogits: fakeLogits)
        try checkFinite(dLoss.scalar, "discriminator")
        dLoss.backward()
        discriminatorOptimizer.step()

        var r1: Float?
        if configuration.r1Gamma > 0 && step % configuration.r1Interval == 0 {
            let (penalty, _) = r1Penalty(reals: reals, gamma: configuration.r1Gamma) { discriminator($0) }
            try checkFinite(penalty.scalar, "R1")
            (penalty * Float(configuration.r1Interval)).backward()
            discriminatorOptimizer.step()
            r1 = penalty.scalar
        }
        generator.clearGradients()
        ema.update(averageGenerator, toward: generator)
        let metrics = GANStepMetrics(step: step, generatorLoss: gLoss.scalar, discriminatorLoss: dLoss.scalar,
                                     realScore: realLogits.mean().scalar, fakeScore: fakeLogits.mean().scalar,
                                     r1Penalty: r1, pathLengthPenalty: pathPenalty)
        step += 1
        return metrics
    }

    /// Images from the moving-average generator for fixed latents and noise (sample grids).
    public func samples(latents: Tensor, noise: [Tensor]) -> Tensor {
        withoutGradients { averageGenerator(latents, noise: noise) }
    }
}
