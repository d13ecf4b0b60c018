import Forensics
import Foundation
import NN
import Tensor

/// Hyper-parameters of steganography training (artificial-fingerprints spec §4).
public struct StegoTrainingConfiguration: Codable, Hashable, Sendable {
    public var batchSize = 64
    public var learningRate: Float = 1e-4
    public var bceWeight: Float = 1
    public var l2Schedule = L2Schedule.official
    /// Steps after which a bit accuracy still near chance triggers a warning.
    public var chanceWarningStep = 2000
    /// Seed of the fingerprints drawn during training.
    public var seed: UInt64 = 0
    /// Immunisation: a perturbation (in `Perturbation`'s string form, e.g. `noise:0.05+blur:3`)
    /// applied, in its differentiable form, to the fingerprinted images before the decoder, so
    /// that the fingerprint survives it. `nil` trains without (the official setting).
    public var immunization: String?
    /// Whether only the decoder learns, the encoder staying as it is: with an `immunization`,
    /// a decoder that reads the same encoder's fingerprints under a perturbation, while data sets
    /// that encoder fingerprinted stay valid. The loss is then the BCE alone.
    public var freezesEncoder = false
    /// Attenuation: when set, each fingerprinted image's residual (its difference from the
    /// original) is scaled by a factor drawn uniformly from [`attenuation`, 1] before the decoder
    /// (and before the immunisation), so that the decoder learns to read fingerprints weaker
    /// than the encoder writes them, as a GAN trained on the images reproduces them. `nil`: off.
    public var attenuation: Float?

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case batchSize, learningRate, bceWeight, l2Schedule, chanceWarningStep, seed, immunization, freezesEncoder, attenuation
    }

    /// Reads configurations written before `freezesEncoder` and `attenuation` existed as training
    /// both networks without attenuation.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        batchSize = try container.decode(Int.self, forKey: .batchSize)
        learningRate = try container.decode(Float.self, forKey: .learningRate)
        bceWeight = try container.decode(Float.self, forKey: .bceWeight)
        l2Schedule = try container.decode(L2Schedule.self, forKey: .l2Schedule)
        chanceWarningStep = try container.decode(Int.self, forKey: .chanceWarningStep)
        seed = try container.decode(UInt64.self, forKey: .seed)
        immunization = try container.decodeIfPresent(String.self, forKey: .immunization)
        freezesEncoder = try container.decodeIfPresent(Bool.self, forKey: .freezesEncoder) ?? false
        attenuation = try container.decodeIfPresent(Float.self, forKey: .attenuation)
    }
}

/// What one steganography training step measured.
public struct StegoStepMetrics: Sendable {
    public var step: Int
    public var loss: Float
    public var bce: Float
    public var mse: Float
    /// Bit accuracy of the batch, from the logits before the update.
    public var bitAccuracy: Float
    /// λ used for this step.
    public var l2Weight: Float
}

/// Trains the fingerprint encoder and decoder together: one Adam over both, fresh Bernoulli(0.5)
/// bits per image per step, loss = BCE(decoder(encoder(f, x)), f) + λ·MSE(encoder(f, x), x)
/// (or the decoder alone on the BCE, with `freezesEncoder`).
public final class StegoTrainer {
    public let networks: StegoNetworks
    public let configuration: StegoTrainingConfiguration
    public let optimizer: Adam
    public internal(set) var schedule = L2ScheduleState()
    public internal(set) var random: SeededGenerator
    /// Mean bit accuracy of the last 100 steps (for the chance warning and progress lines).
    public private(set) var recentAccuracy: [Float] = []

    /// The parsed immunisation perturbation.
    public let immunization: Perturbation?

    /// - Throws: a `PerturbationParseError` when `configuration.immunization` does not parse,
    ///   `StegoError.invalidConfiguration` when the attenuation is outside [0, 1].
    public init(networks: StegoNetworks, configuration: StegoTrainingConfiguration) throws {
        if let minimum = configuration.attenuation, !(0...1).contains(minimum) {
            throw StegoError.invalidConfiguration("attenuation \(minimum) is outside [0, 1]")
        }
        self.networks = networks
        self.configuration = configuration
        immunization = try configuration.immunization.map { try Perturbation(parsing: $0) }
        optimizer = Adam(for: networks, learningRate: configuration.learningRate)
        random = SeededGenerator(seed: configuration.seed)
    }

    /// Steps taken.
    public var step: Int { schedule.step }

    /// A warning when, after `chanceWarningStep` steps, the recent bit accuracy is still near
    /// 0.5 (the most reported failure of this method: the decoder never locks on).
    public var chanceWarning: String? {
        guard step >= configuration.chanceWarningStep, !recentAccuracy.isEmpty else { return nil }
        let mean = recentAccuracy.reduce(0, +) / Float(recentAccuracy.count)
        guard mean < 0.6 else { return nil }
        return "bit accuracy is \(String(format: "%.3f", mean)) after \(step) steps, still near chance (0.5): "
            + "check that images are in [0, 1], try a lower learning rate or more steps"
    }

    /// One step on `images` `[N, C, R, R]` in [0, 1] (N may be smaller than the batch size).
    @discardableResult
    public func trainStep(images: Tensor) throws -> StegoStepMetrics {
        let a = networks.architecture
        guard images.rank == 4, images.shape[1...] == [a.imageChannels, a.resolution, a.resolution] else {
            throw StegoError.imageShape(expected: [images.shape.first ?? 0, a.imageChannels, a.resolution, a.resolution],
                                        found: images.shape)
        }
        let n = images.shape[0]
        let bits = Tensor.bernoulli([n, a.fingerprintLength], using: &random)
        let lambda = schedule.weight(configuration.l2Schedule)
        let fingerprinted = configuration.freezesEncoder
            ? withoutGradients { networks.encoder(fingerprints: bits, images: images) }
            : networks.encoder(fingerprints: bits, images: images)
        var decoderInput = fingerprinted
        if let minimum = configuration.attenuation {
            let factors = Tensor.uniform([n, 1, 1, 1], low: minimum, high: 1, using: &random)
            decoderInput = images + (fingerprinted - images) * factors
        }
        decoderInput = try immunization.map { try $0.applyDifferentiably(decoderInput, using: &random) } ?? decoderInput
        let logits = networks.decoder(decoderInput)
        let bce = binaryCrossEntropyWithLogits(logits: logits, targets: bits)
        let mse = mseLoss(predictions: fingerprinted, targets: images)
        // Frozen, the encoder's parameters get no gradient, so Adam leaves them (and their moments) alone.
        let loss = configuration.freezesEncoder ? bce * configuration.bceWeight : bce * configuration.bceWeight + mse * lambda
        guard loss.scalar.isFinite else {
            throw TrainingError.nonFiniteLoss(step: step, loss: "steganography", value: loss.scalar)
        }
        let accuracy = withoutGradients { logits.isGreater(than: 0).isEqual(to: bits).mean().scalar }
        loss.backward()
        optimizer.step()
        schedule.advance(configuration.l2Schedule, bitAccuracy: accuracy)
        recentAccuracy.append(accuracy)
        if recentAccuracy.count > 100 { recentAccuracy.removeFirst(recentAccuracy.count - 100) }
        return StegoStepMetrics(step: step - 1, loss: loss.scalar, bce: bce.scalar, mse: mse.scalar,
                                bitAccuracy: accuracy, l2Weight: lambda)
    }
}
