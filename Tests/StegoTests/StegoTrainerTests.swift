import XCTest
@testable import Stego
import NN
import Tensor

/// The steganography trainer learns to hide and recover bits.
final class StegoTrainerTests: XCTestCase {
    /// Smooth random gray images in [0, 1] (upsampled noise), like downscaled photos.
    static func images(_ count: Int, generator: inout SeededGenerator) -> Tensor {
        Tensor.uniform([count, 1, 8, 8], using: &generator).resizedBilinear(to: 32)
    }

    /// Like the paper's training, accuracy sits at chance until encoder and decoder lock on, then
    /// rises quickly; the run stops once the last 20 steps average above 0.9 (or after 800 steps).
    func testBitAccuracyRisesWellAboveChance() throws {
        var generator = SeededGenerator(seed: 1)
        let networks = try StegoNetworks(.init(resolution: 32, imageChannels: 1, fingerprintLength: 8), generator: &generator)
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = 16
        configuration.learningRate = 3e-4
        configuration.seed = 2
        let trainer = try StegoTrainer(networks: networks, configuration: configuration)
        var accuracies: [Float] = [], losses: [Float] = []
        func mean(_ values: ArraySlice<Float>) -> Float { values.reduce(0, +) / Float(max(values.count, 1)) }
        while accuracies.count < 800 && !(accuracies.count >= 20 && mean(accuracies.suffix(20)) > 0.9) {
            let metrics = try trainer.trainStep(images: Self.images(16, generator: &generator))
            accuracies.append(metrics.bitAccuracy)
            losses.append(metrics.bce)
        }
        let early = mean(accuracies.prefix(20)), late = mean(accuracies.suffix(20))
        print("stego bit accuracy: first 20 steps \(early), last 20 steps \(late), after \(accuracies.count) steps")
        XCTAssertLessThan(early, 0.65)
        XCTAssertGreaterThan(late, 0.85, "bit accuracy should rise well above chance")
        XCTAssertLessThan(mean(losses.suffix(20)), mean(losses.prefix(20)) / 2, "BCE should fall")
    }

    func testWrongImageShapeIsATypedError() throws {
        var generator = SeededGenerator(seed: 1)
        let networks = try StegoNetworks(.init(resolution: 32, imageChannels: 1, fingerprintLength: 8), generator: &generator)
        let trainer = try StegoTrainer(networks: networks, configuration: .init())
        XCTAssertThrowsError(try trainer.trainStep(images: Tensor.zeros([2, 3, 32, 32]))) { error in
            XCTAssertEqual(error as? StegoError, .imageShape(expected: [2, 1, 32, 32], found: [2, 3, 32, 32]))
        }
        XCTAssertThrowsError(try StegoNetworks(.init(resolution: 48, imageChannels: 1, fingerprintLength: 8),
                                               generator: &generator))
    }
}

/// Immunisation: training through a differentiable perturbation before the decoder.
final class StegoImmunizationTests: XCTestCase {
    func testImmunizedTrainingPerturbsTheDecoderInputAndRejectsBadSpecifications() throws {
        var generator = SeededGenerator(seed: 1)
        let networks = try StegoNetworks(.init(resolution: 32, imageChannels: 1, fingerprintLength: 8), generator: &generator)
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = 4
        configuration.immunization = "noise:0.5"
        let trainer = try StegoTrainer(networks: networks, configuration: configuration)
        XCTAssertEqual(trainer.immunization?.description, "noise:0.5")
        // Strong noise before the decoder: its gradient reaches the encoder and the loss is finite.
        let images = Tensor.uniform([4, 1, 32, 32], using: &generator)
        let metrics = try trainer.trainStep(images: images)
        XCTAssertTrue(metrics.loss.isFinite)
        XCTAssertNotNil(networks.encoder.conv1.weight.value.scalars.first)
        // Same seed and images without immunisation give a different decoder input, hence another loss.
        var plainGenerator = SeededGenerator(seed: 1)
        let plainNetworks = try StegoNetworks(.init(resolution: 32, imageChannels: 1, fingerprintLength: 8), generator: &plainGenerator)
        var plain = configuration
        plain.immunization = nil
        let plainMetrics = try StegoTrainer(networks: plainNetworks, configuration: plain).trainStep(images: images)
        XCTAssertNotEqual(plainMetrics.bce, metrics.bce)
        configuration.immunization = "jpeg:banana"
        XCTAssertThrowsError(try StegoTrainer(networks: networks, configuration: configuration))
    }
}
