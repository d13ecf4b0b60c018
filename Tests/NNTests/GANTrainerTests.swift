import XCTest
@testable import NN
import Tensor

/// The GAN trainer learns a simple synthetic distribution.
final class GANTrainerTests: XCTestCase {
    /// 8×8 gray images, bright on the left half and dark on the right, with a little noise.
    struct HalvesSource: TrainingBatchSource {
        var random = SeededGenerator(seed: 11)
        let batchSize: Int
        mutating func nextBatch() throws -> Tensor {
            let pattern = Tensor(shape: [1, 1, 1, 8], scalars: [0.8, 0.8, 0.8, 0.8, -0.8, -0.8, -0.8, -0.8])
            return pattern + Tensor.normal([batchSize, 1, 8, 8], standardDeviation: 0.1, using: &random)
        }
    }

    static func makeTrainer(seed: UInt64 = 1) -> GANTrainer {
        var generator = SeededGenerator(seed: seed)
        let g = StyleGenerator(.init(resolution: 8, imageChannels: 1, latentDimension: 8, styleDimension: 8, mappingDepth: 2,
                                     channels: ChannelSchedule(base: 64, maximum: 16)), generator: &generator)
        let d = ResNetDiscriminator(resolution: 8, imageChannels: 1, channels: ChannelSchedule(base: 64, maximum: 16),
                                    generator: &generator)
        var configuration = GANTrainingConfiguration()
        configuration.batchSize = 8
        configuration.r1Gamma = 0.1
        configuration.r1Interval = 4
        configuration.pathLengthWeight = 2
        configuration.emaHalfLifeImages = 200
        configuration.seed = seed
        return GANTrainer(generator: g, discriminator: d, configuration: configuration)
    }

    /// Left-half mean minus right-half mean of the samples (1.6 for the data).
    static func contrast(_ images: Tensor) -> Float {
        let halves = images.split(sizes: [4, 4], alongAxis: 3)
        return halves[0].mean().scalar - halves[1].mean().scalar
    }

    func testTrainerMovesSamplesTowardTheData() throws {
        let trainer = Self.makeTrainer()
        var random = SeededGenerator(seed: 5)
        let z = trainer.generator.sampleLatents(64, generator: &random)
        let noise = trainer.generator.synthesis.randomNoise(batchSize: 64, generator: &random)
        let before = Self.contrast(trainer.samples(latents: z, noise: noise))
        var source = HalvesSource(batchSize: 8)
        var sawRegularisers = (r1: false, pathLength: false)
        for _ in 0..<150 {
            let metrics = try trainer.trainStep(reals: try source.nextBatch())
            sawRegularisers.r1 = sawRegularisers.r1 || metrics.r1Penalty != nil
            sawRegularisers.pathLength = sawRegularisers.pathLength || metrics.pathLengthPenalty != nil
        }
        let after = Self.contrast(trainer.samples(latents: z, noise: noise))
        print("contrast before \(before) after \(after)")
        XCTAssertTrue(sawRegularisers.r1 && sawRegularisers.pathLength)
        XCTAssertLessThan(abs(before), 0.4, "an untrained generator has no left/right contrast")
        XCTAssertGreaterThan(after, 0.8, "after training the samples show the data's contrast (1.6); before: \(before)")
        XCTAssertGreaterThan(trainer.pathLengthMean, 0)
    }

    func testBadBatchAndNonFiniteLossAreTypedErrors() {
        let trainer = Self.makeTrainer()
        XCTAssertThrowsError(try trainer.trainStep(reals: Tensor.zeros([4, 1, 8, 8]))) { error in
            XCTAssertEqual(error as? TrainingError, .badBatch(step: 0, expected: [8, 1, 8, 8], found: [4, 1, 8, 8]))
        }
        let poisoned = Tensor(repeating: .nan, shape: [8, 1, 8, 8])
        XCTAssertThrowsError(try trainer.trainStep(reals: poisoned)) { error in
            guard case .nonFiniteLoss(_, "discriminator", _)? = error as? TrainingError else {
                return XCTFail("expected a non-finite discriminator loss, got \(error)")
            }
        }
    }

    func testSameSeedSameTraining() throws {
        func run() throws -> [Float] {
            let trainer = Self.makeTrainer(seed: 3)
            var source = HalvesSource(batchSize: 8)
            for _ in 0..<5 { try trainer.trainStep(reals: try source.nextBatch()) }
            return trainer.generator.synthesis.input.toRGB.bias.value.scalars
        }
        XCTAssertEqual(try run(), try run())
    }
}
