import Foundation
import XCTest
import TestSupport
import NN
import Tensor

/// Generators shipped alone (`GeneratorFile`) and read from runs, checkpoints or files.
final class GeneratorFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory(prefix: "gfp-generator-file") }

    func testRunCheckpointAndGeneratorFileGiveTheSameImages() throws {
        let schedule = TrainingSchedule(totalSteps: 2, checkpointInterval: 2, sampleInterval: nil, progressInterval: 1000)
        let run = try RunDirectory(directory.appendingPathComponent("run"), resume: false)
        let trainer = try GANTraining.run(architecture: TrainingRunTests.architecture, configuration: TrainingRunTests.configuration,
                                          schedule: schedule, directory: run, resume: false,
                                          makeSource: { TrainingRunTests.Source() }, progressOutput: { _ in })
        let expected = trainer.averageGenerator.image(seed: 5).scalars

        let fromRun = try GeneratorFile.load(from: run.url)
        XCTAssertEqual(fromRun.image(seed: 5).scalars, expected)
        XCTAssertEqual(try GeneratorFile.load(from: run.latestCheckpointURL).image(seed: 5).scalars, expected)
        // A symbolic link to the run folder is the run folder (it was read as a file before).
        let link = directory.appendingPathComponent("linked-run")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: run.url)
        XCTAssertEqual(try GeneratorFile.load(from: link).image(seed: 5).scalars, expected)
        // Reading a run does not write to it: a folder holding only checkpoints/latest.h5 (a run
        // restored from a shipped training state) gains no samples/ folder (it did before).
        let restored = directory.appendingPathComponent("restored-run/checkpoints")
        try FileManager.default.createDirectory(at: restored, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: run.latestCheckpointURL, to: restored.appendingPathComponent("latest.h5"))
        XCTAssertEqual(try GeneratorFile.load(from: restored.deletingLastPathComponent()).image(seed: 5).scalars, expected)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: restored.deletingLastPathComponent().path), ["checkpoints"])

        // The optimiser's own weights, on request: the trainer's generator, not the average.
        let trained = try GeneratorFile.load(from: run.url, weights: .trained)
        XCTAssertEqual(trained.image(seed: 5).scalars, trainer.generator.image(seed: 5).scalars)
        XCTAssertNotEqual(trained.image(seed: 5).scalars, expected)

        let file = directory.appendingPathComponent("generator.h5")
        try GeneratorFile.write(fromRun, to: file)
        // A generator file holds the average only: asking it for the trained weights is an error.
        XCTAssertThrowsError(try GeneratorFile.load(from: file, weights: .trained)) { error in
            XCTAssertTrue("\(error)".contains(file.path), "\(error)")
        }
        let loaded = try GeneratorFile.load(from: file)
        XCTAssertEqual(loaded.configuration, TrainingRunTests.architecture.generator)
        XCTAssertEqual(loaded.image(seed: 5).scalars, expected)
        let fileSize = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int)
        let checkpointSize = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: run.latestCheckpointURL.path)[.size] as? Int)
        XCTAssertLessThan(fileSize * 2, checkpointSize, "the generator alone is a fraction of the training checkpoint")
    }

    func testNoiseModesDrawStoreOrDropThePerPixelNoise() throws {
        var random = SeededGenerator(seed: 3)
        let generator = StyleGenerator(TrainingRunTests.architecture.generator, generator: &random)
        // Noise strengths start at zero (StyleGAN2): every mode would give the same image.
        XCTAssertEqual(generator.image(seed: 2, noise: .random).scalars, generator.image(seed: 2, noise: .none).scalars)
        let strengths = generator.namedParameters().filter { $0.key.hasSuffix("noiseStrength") }
        XCTAssertEqual(strengths.count, generator.synthesis.noiseMaps.count)
        for (_, parameter) in strengths { parameter.value = Tensor([0.5]) }
        let randomImage = generator.image(seed: 2).scalars, constImage = generator.image(seed: 2, noise: .const).scalars
        let noNoise = generator.image(seed: 2, noise: .none).scalars
        XCTAssertEqual(randomImage, generator.image(seed: 2, noise: .random).scalars, "a seed gives the same image")
        XCTAssertNotEqual(randomImage, constImage)
        XCTAssertNotEqual(constImage, noNoise)
        XCTAssertNotEqual(randomImage, noNoise)
        // The stored maps are the same for every seed: zeroing them makes const and none agree.
        for map in generator.synthesis.noiseMaps { map.value = map.value * 0 }
        XCTAssertEqual(generator.image(seed: 2, noise: .const).scalars, noNoise)
    }

    /// The truncation trick: psi = 1 changes nothing, psi = 0 gives every seed the centre's style
    /// (the images still differ through the latent's own input), psi = 0.5 lies halfway between
    /// in style space; the centre is the mean of the sampled styles, the same on every call.
    func testTruncationPullsStylesTowardsTheMeanStyle() throws {
        var random = SeededGenerator(seed: 4)
        let generator = StyleGenerator(TrainingRunTests.architecture.generator, generator: &random)
        let center = generator.meanStyle(count: 1200, seed: 9)
        XCTAssertEqual(center.shape, [TrainingRunTests.architecture.generator.styleDimension])
        XCTAssertEqual(center.scalars, generator.meanStyle(count: 1200, seed: 9).scalars)
        var latents = SeededGenerator(seed: 9)
        let expected = generator.styles(for: generator.sampleLatents(1200, generator: &latents)).mean(alongAxes: [0])
        assertClose(center, expected, tolerance: 1e-5, "mean style over three batches")

        let one = try XCTUnwrap(StyleTruncation(psi: 1, center: center))
        XCTAssertEqual(generator.image(seed: 3, truncation: one).scalars, generator.image(seed: 3).scalars)
        let w = generator.styles(for: generator.sampleLatents(2, generator: &latents))
        let centers = Tensor.concatenate([center, center].map { $0.reshaped(to: [1, center.count]) }, alongAxis: 0)
        let zero = try XCTUnwrap(StyleTruncation(psi: 0, center: center)).apply(to: w)
        assertClose(zero, centers, tolerance: 1e-6, "psi 0")
        let half = try XCTUnwrap(StyleTruncation(psi: 0.5, center: center)).apply(to: w)
        assertClose(half, (w + centers) / 2, tolerance: 1e-5, "psi 0.5")
        XCTAssertNotEqual(generator.image(seed: 3, truncation: StyleTruncation(psi: 0.5, center: center)).scalars,
                          generator.image(seed: 3).scalars)
        XCTAssertNil(StyleTruncation(psi: 1.5, center: center))
        XCTAssertNil(StyleTruncation(psi: -0.1, center: center))
        XCTAssertNil(StyleTruncation(psi: 0.5, center: w))
    }

    func testWrongKindTruncatedAndEmptyFolderAreTypedErrorsNamingTheFile() throws {
        let other = directory.appendingPathComponent("other.h5")
        try Checkpoint(kind: "stego-encoder").write(to: other)
        XCTAssertThrowsError(try GeneratorFile.load(from: other)) { error in
            XCTAssertTrue(String(describing: error).contains(other.path) && String(describing: error).contains("style-generator"),
                          "\(error)")
        }
        var random = SeededGenerator(seed: 1)
        let file = directory.appendingPathComponent("g.h5")
        try GeneratorFile.write(StyleGenerator(TrainingRunTests.architecture.generator, generator: &random), to: file)
        let bytes = try Data(contentsOf: file)
        let truncated = directory.appendingPathComponent("truncated.h5")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        XCTAssertThrowsError(try GeneratorFile.load(from: truncated)) { error in
            XCTAssertTrue(error is CheckpointError, "\(error)")
        }
        let empty = directory.appendingPathComponent("empty-run")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try GeneratorFile.load(from: empty)) { error in
            XCTAssertEqual(error as? TrainingRunError,
                           .missingCheckpoint(path: empty.appendingPathComponent("checkpoints/latest.h5").path))
        }
        let absent = directory.appendingPathComponent("absent.h5")
        XCTAssertThrowsError(try GeneratorFile.load(from: absent)) { error in
            XCTAssertEqual(error as? TrainingRunError, .missingCheckpoint(path: absent.path))
        }
    }
}
