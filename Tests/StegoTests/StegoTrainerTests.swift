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

    func testBitAccuracyRisesWellAboveChance() throws {
        var generator = SeededGenerator(seed: 1)
        let networks = try StegoNetworks(.init(resolution: 32, imageChannels: 1, fingerprintLength: 16), generator: &generator)
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = 16
        configuration.learningRate = 1e-3
        configuration.seed = 2
        let trainer = StegoTrainer(networks: networks, configuration: configuration)
        var accuracies: [Float] = [], losses: [Float] = []
        for _ in 0..<150 {
            let metrics = try trainer.trainStep(images: Self.images(16, generator: &generator))
            accuracies.append(metrics.bitAccuracy)
            losses.append(metrics.bce)
        }
        let early = accuracies.prefix(10).reduce(0, +) / 10, late = accuracies.suffix(10).reduce(0, +) / 10
        print("stego bit accuracy: first 10 steps \(early), last 10 steps \(late)")
        XCTAssertLessThan(early, 0.65)
        XCTAssertGreaterThan(late, 0.85, "bit accuracy should rise well above chance")
        XCTAssertLessThan(losses.suffix(10).reduce(0, +), losses.prefix(10).reduce(0, +) / 2, "BCE should fall")
    }

    func testWrongImageShapeIsATypedError() throws {
        var generator = SeededGenerator(seed: 1)
        let networks = try StegoNetworks(.init(resolution: 32, imageChannels: 1, fingerprintLength: 8), generator: &generator)
        let trainer = StegoTrainer(networks: networks, configuration: .init())
        XCTAssertThrowsError(try trainer.trainStep(images: Tensor.zeros([2, 3, 32, 32]))) { error in
            XCTAssertEqual(error as? StegoError, .imageShape(expected: [2, 1, 32, 32], found: [2, 3, 32, 32]))
        }
        XCTAssertThrowsError(try StegoNetworks(.init(resolution: 48, imageChannels: 1, fingerprintLength: 8),
                                               generator: &generator))
    }
}
