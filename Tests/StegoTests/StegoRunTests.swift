import Foundation
import XCTest
import TestSupport
@testable import Stego
import Imaging
import Forensics
import NN
import Tensor

/// Model files, resumable training runs and streaming embedding.
final class StegoRunTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory(prefix: "gfp-stego") }

    static let architecture = StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 12)

    struct Source: TrainingBatchSource {
        var random = SeededGenerator(seed: 4)
        var index = 0
        var failAt: Int?
        struct Killed: Error {}
        mutating func nextBatch() throws -> Tensor {
            defer { index += 1 }
            if index == failAt { throw Killed() }
            return Tensor.uniform([4, 1, 8, 8], using: &random).resizedBilinear(to: 32)
        }
    }

    func testKilledRunResumesTheSameCurveAndWritesModelFiles() throws {
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = 4
        configuration.learningRate = 1e-3
        configuration.seed = 5
        let schedule = TrainingSchedule(totalSteps: 6, checkpointInterval: 2, sampleInterval: 3, logInterval: 1,
                                        progressInterval: 1000)
        let whole = try RunDirectory(directory.appendingPathComponent("whole"), resume: false)
        let reference = try StegoTraining.run(architecture: Self.architecture, configuration: configuration, schedule: schedule,
                                              directory: whole, resume: false, makeSource: { Source() }, progressOutput: { _ in })
        let broken = try RunDirectory(directory.appendingPathComponent("broken"), resume: false)
        XCTAssertThrowsError(try StegoTraining.run(architecture: Self.architecture, configuration: configuration,
                                                   schedule: schedule, directory: broken, resume: false,
                                                   makeSource: { Source(failAt: 3) }, progressOutput: { _ in }))
        let resumed = try StegoTraining.run(architecture: Self.architecture, configuration: configuration, schedule: schedule,
                                            directory: try RunDirectory(broken.url, resume: true), resume: true,
                                            makeSource: { Source() }, progressOutput: { _ in })
        XCTAssertEqual(try String(contentsOf: broken.logURL, encoding: .utf8),
                       try String(contentsOf: whole.logURL, encoding: .utf8))
        XCTAssertEqual(resumed.networks.stateDictionary()["decoder.dense.2.bias"]?.scalars,
                       reference.networks.stateDictionary()["decoder.dense.2.bias"]?.scalars)
        // Sample grids at steps 3 and 6, and the model files, which load and encode identically.
        XCTAssertTrue(FileManager.default.fileExists(atPath: whole.sampleURL(step: 3).path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: whole.sampleURL(step: 6).path))
        let encoder = try StegoModelFile.readEncoder(from: whole.url.appendingPathComponent("encoder.h5"))
        let decoder = try StegoModelFile.readDecoder(from: whole.url.appendingPathComponent("decoder.h5"))
        var random = SeededGenerator(seed: 1)
        let images = Tensor.uniform([2, 1, 32, 32], using: &random), bits = Tensor.bernoulli([2, 12], using: &random)
        XCTAssertEqual(encoder(fingerprints: bits, images: images).scalars,
                       reference.networks.encoder(fingerprints: bits, images: images).scalars)
        XCTAssertEqual(decoder(images).scalars, reference.networks.decoder(images).scalars)
        XCTAssertThrowsError(try StegoModelFile.readDecoder(from: whole.url.appendingPathComponent("encoder.h5")),
                             "an encoder file is not a decoder")
        // A run folder or its training checkpoint serve as well (to evaluate a run before its end).
        XCTAssertEqual(try StegoModelFile.readEncoder(from: whole.url)(fingerprints: bits, images: images).scalars,
                       encoder(fingerprints: bits, images: images).scalars)
        XCTAssertEqual(try StegoModelFile.readDecoder(from: whole.latestCheckpointURL)(images).scalars, decoder(images).scalars)
    }

    func testLeakyDecoderKeepsItsSlopeThroughModelFilesAndOldConfigurationsReadAsReLU() throws {
        var random = SeededGenerator(seed: 3)
        let leaky = StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 12, decoderNegativeSlope: 0.2)
        let networks = try StegoNetworks(leaky, generator: &random)
        XCTAssertTrue(networks.decoder.decoder.layers.contains { ($0 as? LeakyReLU)?.negativeSlope == 0.2 })
        XCTAssertFalse(networks.decoder.decoder.layers.contains { $0 is ReLU })
        let file = directory.appendingPathComponent("decoder.h5")
        try StegoModelFile.writeDecoder(networks.decoder, to: file)
        let read = try StegoModelFile.readDecoder(from: file)
        XCTAssertEqual(read.negativeSlope, 0.2)
        let images = Tensor.uniform([3, 1, 32, 32], using: &random)
        XCTAssertEqual(read(images).scalars, networks.decoder(images).scalars)
        // The same weights behind ReLUs decode differently: the slope is not just recorded.
        let plain = StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 12)
            .makeDecoder(generator: &random)
        try plain.loadStateDictionary(networks.decoder.stateDictionary())
        XCTAssertNotEqual(plain(images).scalars, networks.decoder(images).scalars)
        // Configurations written before the slope existed are the spec's ReLU decoder.
        let old = #"{"resolution":32,"imageChannels":1,"fingerprintLength":12}"#
        XCTAssertEqual(try JSONDecoder().decode(StegoArchitecture.self, from: Data(old.utf8)),
                       StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 12))
        XCTAssertThrowsError(try StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 12,
                                                   decoderNegativeSlope: 1).validate())
    }

    func testFineTuningStartsFromAnotherRunsStateUnderANewConfiguration() throws {
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = 4
        configuration.seed = 5
        let first = TrainingSchedule(totalSteps: 3, checkpointInterval: 3, sampleInterval: nil, logInterval: 1, progressInterval: 1000)
        let base = try RunDirectory(directory.appendingPathComponent("base"), resume: false)
        let original = try StegoTraining.run(architecture: Self.architecture, configuration: configuration, schedule: first,
                                             directory: base, resume: false, makeSource: { Source() }, progressOutput: { _ in })
        var tuning = configuration
        tuning.l2Schedule = .accuracyGated(maximum: 1)
        tuning.immunization = "noise:0.01"
        let second = TrainingSchedule(totalSteps: 5, checkpointInterval: 5, sampleInterval: nil, logInterval: 1, progressInterval: 1000)
        let tunedRun = try RunDirectory(directory.appendingPathComponent("tuned"), resume: false)
        let tuned = try StegoTraining.run(architecture: Self.architecture, configuration: tuning, schedule: second,
                                          directory: tunedRun, resume: false, initializeFrom: base.latestCheckpointURL,
                                          makeSource: { Source() }, progressOutput: { _ in })
        XCTAssertEqual(tuned.step, 5, "the step count continues from the base run")
        XCTAssertEqual(tuned.configuration, tuning)
        XCTAssertNotEqual(tuned.networks.stateDictionary()["decoder.dense.2.bias"]?.scalars,
                          original.networks.stateDictionary()["decoder.dense.2.bias"]?.scalars)
        let stored = try String(contentsOf: tunedRun.url.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(stored.contains("initializedFrom") && stored.contains(base.latestCheckpointURL.lastPathComponent), stored)
        // Another architecture cannot be the starting point.
        let other = StegoArchitecture(resolution: 32, imageChannels: 1, fingerprintLength: 8)
        XCTAssertThrowsError(try StegoTraining.run(architecture: other, configuration: tuning, schedule: second,
                                                   directory: try RunDirectory(directory.appendingPathComponent("bad"), resume: false),
                                                   resume: false, initializeFrom: base.latestCheckpointURL,
                                                   makeSource: { Source() }, progressOutput: { _ in })) { error in
            guard case .incompatibleCheckpoint? = error as? TrainingRunError else { return XCTFail("\(error)") }
        }
    }

    /// A folder with a finished run's encoder.h5 and decoder.h5 (as Models/ ships them) starts a
    /// run at step 0 with λ at its maximum; with a frozen encoder (here with attenuation and immunisation) only the
    /// decoder changes, and a configuration written before `freezesEncoder` existed reads as
    /// training both.
    func testDecoderAloneFineTunesFromModelFiles() throws {
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = 4
        configuration.learningRate = 1e-3
        configuration.seed = 5
        let schedule = TrainingSchedule(totalSteps: 3, checkpointInterval: 3, sampleInterval: nil, logInterval: 1, progressInterval: 1000)
        let base = try RunDirectory(directory.appendingPathComponent("base"), resume: false)
        let original = try StegoTraining.run(architecture: Self.architecture, configuration: configuration, schedule: schedule,
                                             directory: base, resume: false, makeSource: { Source() }, progressOutput: { _ in })
        let models = directory.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        for name in ["encoder.h5", "decoder.h5"] {
            try FileManager.default.copyItem(at: base.url.appendingPathComponent(name), to: models.appendingPathComponent(name))
        }
        XCTAssertNotNil(StegoTraining.modelFiles(in: models))
        XCTAssertNil(StegoTraining.modelFiles(in: base.url), "a run folder with a checkpoint continues the checkpoint")
        var tuning = configuration
        tuning.freezesEncoder = true
        tuning.immunization = "blur:3"
        tuning.attenuation = 0.5
        let tunedRun = try RunDirectory(directory.appendingPathComponent("tuned"), resume: false)
        let tuned = try StegoTraining.run(architecture: Self.architecture, configuration: tuning, schedule: schedule,
                                          directory: tunedRun, resume: false, initializeFrom: models,
                                          makeSource: { Source() }, progressOutput: { _ in })
        XCTAssertEqual(tuned.step, 3, "model files start at step 0")
        // Fine-tuning finished networks starts with λ at its maximum, not with a second ramp from 0.
        let tunedLog = try String(contentsOf: tunedRun.url.appendingPathComponent("log.csv"), encoding: .utf8)
        let header = tunedLog.split(separator: "\n")[0].split(separator: ",")
        let lambdaColumn = try XCTUnwrap(header.firstIndex(of: "l2Weight"), "\(header)")
        for row in tunedLog.split(separator: "\n").dropFirst() {
            XCTAssertEqual(Float(row.split(separator: ",")[lambdaColumn]), 10, "λ of a fine-tuning step: \(row)")
        }
        let before = original.networks.stateDictionary(), after = tuned.networks.stateDictionary()
        for (key, value) in before where key.hasPrefix("encoder.") {
            XCTAssertEqual(after[key]?.scalars, value.scalars, "\(key) changed under a frozen encoder")
        }
        XCTAssertNotEqual(after["decoder.dense.2.bias"]?.scalars, before["decoder.dense.2.bias"]?.scalars)
        // The stored configuration keeps the flag; one without it (older runs) trains both networks.
        let stored = try Checkpoint(contentsOf: tunedRun.latestCheckpointURL)
        XCTAssertEqual(try StegoTrainer(resumingFrom: stored).configuration.freezesEncoder, true)
        var json = try XCTUnwrap(String(data: JSONEncoder().encode(configuration), encoding: .utf8))
        json = json.replacingOccurrences(of: ",\"freezesEncoder\":false", with: "")
            .replacingOccurrences(of: "\"freezesEncoder\":false,", with: "")
        XCTAssertFalse(json.contains("freezesEncoder"), json)
        XCTAssertEqual(try JSONDecoder().decode(StegoTrainingConfiguration.self, from: Data(json.utf8)), configuration)
        // An attenuation outside [0, 1] is refused.
        var wrong = tuning
        wrong.attenuation = 1.5
        XCTAssertThrowsError(try StegoTrainer(architecture: Self.architecture, configuration: wrong)) { error in
            XCTAssertEqual(error as? StegoError, .invalidConfiguration("attenuation 1.5 is outside [0, 1]"))
        }
    }

    func testTrainingBatchesSkipToTheSameStreamPosition() throws {
        let folder = directory.appendingPathComponent("skip")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var random = SeededGenerator(seed: 6)
        for i in 0..<5 {
            try PNG.write(Tensor.uniform([1, 32, 32], using: &random), to: folder.appendingPathComponent("img\(i).png"))
        }
        func batches() throws -> ImageTrainingBatches {
            try ImageTrainingBatches(source: .folder(folder), resolution: 32, channels: 1, batchSize: 2, range: -1...1, seed: 8)
        }
        var read = try batches(), skipped = try batches()
        for _ in 0..<5 { _ = try read.nextBatch() }
        _ = try skipped.nextBatch()
        try skipped.skipBatches(3)   // 2 batches per epoch (the fifth image is dropped): crosses epochs
        _ = try skipped.nextBatch()
        for _ in 0..<3 { XCTAssertEqual(try skipped.nextBatch().scalars, try read.nextBatch().scalars) }
    }

    func testEmbeddingStreamsImagesAndRecords() throws {
        // A small folder of gray PNGs of another size: preprocessing brings them to 32×32.
        let folder = directory.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var random = SeededGenerator(seed: 2)
        for i in 0..<5 {
            try PNG.write(Tensor.uniform([1, 8, 8], using: &random).reshaped(to: [1, 1, 8, 8]).resizedBilinear(to: 40)
                            .reshaped(to: [1, 40, 40]), to: folder.appendingPathComponent("img\(i).png"))
        }
        var generator = SeededGenerator(seed: 3)
        let networks = try StegoNetworks(Self.architecture, generator: &generator)
        let bits = try StegoEmbedding.parseBits("101100111000", length: 12)
        let output = directory.appendingPathComponent("out")
        let summary = try StegoEmbedding.embed(encoder: networks.encoder, source: .folder(folder),
                                               assignment: .identical(bits), output: output, batchSize: 2,
                                               decoder: networks.decoder)
        XCTAssertEqual(summary.images, 5)
        XCTAssertTrue(summary.meanPSNR.isFinite && summary.meanPSNR > 0)
        XCTAssertNotNil(summary.bitAccuracy)
        let lines = try String(contentsOf: output.appendingPathComponent("fingerprints.txt"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines[0], "000000_img0.png 101100111000")
        let written = try PNG.read(contentsOf: output.appendingPathComponent("images/000004_img4.png"))
        XCTAssertEqual(written.shape, [1, 32, 32])
        // Figure 2 of the first batch: three rows (original, fingerprinted, residual) of two images.
        let grid = try PNG.read(contentsOf: output.appendingPathComponent("residual-grid.png"))
        XCTAssertEqual(grid.shape[0], 1)
        XCTAssertGreaterThanOrEqual(grid.shape[1], 3 * 32)
        XCTAssertGreaterThanOrEqual(grid.shape[2], 2 * 32)
        XCTAssertLessThan(grid.shape[2], 3 * 32)
        XCTAssertThrowsError(try StegoEmbedding.parseBits("10x", length: 3))
        XCTAssertThrowsError(try StegoEmbedding.embed(encoder: networks.encoder, source: .folder(folder),
                                                      assignment: .identical([1, 0]), output: output))
    }

    func testDetectionDecodesVerifiesAndRejectsWrongSizes() throws {
        var generator = SeededGenerator(seed: 8)
        let networks = try StegoNetworks(Self.architecture, generator: &generator)
        let folder = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<3 {
            try PNG.write(Tensor.uniform([1, 32, 32], using: &generator), to: folder.appendingPathComponent("g\(i).png"))
        }
        let decoded = try StegoDetection.decode(decoder: networks.decoder, source: .folder(folder))
        XCTAssertEqual(decoded.map(\.name), ["g0.png", "g1.png", "g2.png"])
        // The expected fingerprint is the first image's own bits: that image matches perfectly.
        let (images, summary) = try StegoDetection.summarize(decoded, expected: decoded[0].bits, falsePositiveRate: 1e-3)
        XCTAssertEqual(images[0].verdict?.matchingBits, 12)
        XCTAssertEqual(images[0].verdict?.pValue ?? 1, pValue(matchingBits: 12, of: 12), accuracy: 1e-15)
        XCTAssertEqual(summary.images, 3)
        XCTAssertEqual(summary.majorityVote, Fingerprint.majorityVote(decoded.map(\.bits)))
        XCTAssertNotNil(summary.meanBitAccuracy)
        // Detection at a bit-accuracy threshold counts exactly the images at or above it.
        let accuracies = bitAccuracies(decoded: decoded.map(\.bits), expected: decoded[0].bits)
        XCTAssertEqual(summary.detectionThreshold, 0.75)
        XCTAssertEqual(summary.detectedImages, accuracies.count { $0 >= 0.75 })
        let strict = try StegoDetection.summarize(decoded, expected: decoded[0].bits, detectionThreshold: 1).summary
        XCTAssertEqual(strict.detectedImages, accuracies.count { $0 == 1 })
        XCTAssertGreaterThanOrEqual(strict.detectedImages ?? 0, 1)
        XCTAssertNil(try StegoDetection.summarize(decoded, expected: nil).summary.detectedImages)
        XCTAssertThrowsError(try StegoDetection.summarize(decoded, expected: try Fingerprint(parsing: "0101")))
        // Images of another size are an error unless resizing is asked for.
        let large = directory.appendingPathComponent("large")
        try FileManager.default.createDirectory(at: large, withIntermediateDirectories: true)
        try PNG.write(Tensor.uniform([1, 40, 40], using: &generator), to: large.appendingPathComponent("large.png"))
        XCTAssertThrowsError(try StegoDetection.decode(decoder: networks.decoder, source: .folder(large))) { error in
            guard case .imageShape? = error as? StegoError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try StegoDetection.decode(decoder: networks.decoder, source: .folder(large), resize: true).count, 1)
        // A folder mixing sizes stops with the loader's typed error naming the odd file.
        try PNG.write(Tensor.uniform([1, 40, 40], using: &generator), to: folder.appendingPathComponent("large.png"))
        XCTAssertThrowsError(try StegoDetection.decode(decoder: networks.decoder, source: .folder(folder))) { error in
            XCTAssertTrue(String(describing: error).contains("large.png"), "\(error)")
        }
    }
}
