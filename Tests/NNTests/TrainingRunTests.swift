import Foundation
import XCTest
import TestSupport
@testable import NN
import Tensor

/// Checkpoints of modules and optimisers, and a killed GAN run resuming the same loss curve.
final class TrainingRunTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory(prefix: "gfp-run") }

    static let architecture = GANArchitecture(generator: .init(
        resolution: 8, imageChannels: 1, latentDimension: 8, styleDimension: 8, mappingDepth: 2,
        channels: ChannelSchedule(base: 64, maximum: 16)))

    static var configuration: GANTrainingConfiguration {
        var c = GANTrainingConfiguration()
        c.batchSize = 4
        c.r1Interval = 2
        c.pathLengthWeight = 2
        c.pathLengthInterval = 2
        c.seed = 9
        return c
    }

    /// Deterministic batches; fails at batch `failAt` to simulate a killed process.
    struct Source: TrainingBatchSource {
        var random = SeededGenerator(seed: 21)
        var index = 0
        var failAt: Int?
        struct Killed: Error {}
        mutating func nextBatch() throws -> Tensor {
            defer { index += 1 }
            if index == failAt { throw Killed() }
            return Tensor.normal([4, 1, 8, 8], standardDeviation: 0.5, using: &random)
        }
    }

    /// `GANTraining.run` with the tests' architecture, settings and batches unless others are
    /// given, and no progress output.
    @discardableResult
    func train(_ directory: RunDirectory, _ schedule: TrainingSchedule, resume: Bool = false,
               architecture: GANArchitecture = TrainingRunTests.architecture,
               configuration: GANTrainingConfiguration = TrainingRunTests.configuration,
               initializeFrom: URL? = nil,
               source: @escaping () -> any TrainingBatchSource = { Source() }) throws -> GANTrainer {
        try GANTraining.run(architecture: architecture, configuration: configuration, schedule: schedule,
                            directory: directory, resume: resume, initializeFrom: initializeFrom,
                            makeSource: source, progressOutput: { _ in })
    }

    func testModuleCheckpointRoundTripGivesIdenticalOutputs() throws {
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 2)
        let a = StyleGenerator(Self.architecture.generator, generator: &g1)
        let b = StyleGenerator(Self.architecture.generator, generator: &g2)
        var checkpoint = Checkpoint(kind: "style-generator")
        try checkpoint.encodeConfig(Self.architecture.generator)
        checkpoint.setTensors(a.stateDictionary(), under: "model")
        let url = directory.appendingPathComponent("g.h5")
        try checkpoint.write(to: url)
        let loaded = try Checkpoint(contentsOf: url)
        XCTAssertEqual(try loaded.decodeConfig(StyleGenerator.Configuration.self), Self.architecture.generator)
        XCTAssertEqual(loaded.sourcePath, url.path)
        XCTAssertNil(checkpoint.sourcePath)
        // A file of another kind is refused with a message naming the file.
        XCTAssertThrowsError(try GANTrainer(resumingFrom: loaded)) { error in
            XCTAssertTrue(String(describing: error).contains(url.path) && String(describing: error).contains("style-generator"),
                          "\(error)")
        }
        try b.loadStateDictionary(loaded.tensors(under: "model"))
        var r = SeededGenerator(seed: 3)
        let z = a.sampleLatents(3, generator: &r), noise = a.synthesis.fixedNoise(batchSize: 3)
        XCTAssertEqual(a(z, noise: noise).scalars, b(z, noise: noise).scalars)
    }

    func testKilledRunResumesTheSameLossCurve() throws {
        let schedule = TrainingSchedule(totalSteps: 6, checkpointInterval: 3, sampleInterval: nil, logInterval: 1,
                                        progressInterval: 1000)
        // Uninterrupted.
        let whole = try RunDirectory(directory.appendingPathComponent("whole"), resume: false)
        let reference = try train(whole, schedule)
        // Killed while taking step 4 (after the checkpoint at 3), then resumed.
        let broken = try RunDirectory(directory.appendingPathComponent("broken"), resume: false)
        XCTAssertThrowsError(try train(broken, schedule, source: { Source(failAt: 4) }))
        XCTAssertThrowsError(try RunDirectory(broken.url, resume: false), "a run folder is not reused by accident")
        let resumedDirectory = try RunDirectory(broken.url, resume: true)
        let resumed = try train(resumedDirectory, schedule, resume: true)
        XCTAssertEqual(resumed.step, 6)
        let expectedLog = try String(contentsOf: whole.logURL, encoding: .utf8)
        let actualLog = try String(contentsOf: broken.logURL, encoding: .utf8)
        XCTAssertEqual(actualLog, expectedLog, "the resumed run continues the same loss curve")
        XCTAssertEqual(actualLog.split(separator: "\n").count, 7)
        for (key, value) in reference.averageGenerator.stateDictionary() {
            XCTAssertEqual(resumed.averageGenerator.stateDictionary()[key]?.scalars, value.scalars, key)
        }
        XCTAssertEqual(resumed.generatorOptimizer.stateDictionary()["step"]?.scalar,
                       reference.generatorOptimizer.stateDictionary()["step"]?.scalar)
    }

    func testAStopRequestCheckpointsTheStepsDoneAndTheRunResumesFromThere() throws {
        let schedule = TrainingSchedule(totalSteps: 8, checkpointInterval: 100, sampleInterval: nil, logInterval: 1,
                                        progressInterval: 1000)
        let whole = try RunDirectory(directory.appendingPathComponent("whole"), resume: false)
        try train(whole, schedule)
        // A stop is requested while step 5 (index 4) takes its batch.
        struct Stopping: TrainingBatchSource {
            var inner = Source()
            mutating func nextBatch() throws -> Tensor {
                if inner.index == 4 { TrainingInterruption.request() }
                return try inner.nextBatch()
            }
        }
        defer { TrainingInterruption.reset() }
        let stopped = try RunDirectory(directory.appendingPathComponent("stopped"), resume: false)
        XCTAssertThrowsError(try train(stopped, schedule, source: { Stopping() })) { error in
            XCTAssertEqual(error as? TrainingRunError, .interrupted(step: 5, signal: TrainingInterruption.requestedByCode))
        }
        TrainingInterruption.reset()
        let checkpoint = try Checkpoint(contentsOf: stopped.latestCheckpointURL)
        XCTAssertEqual(checkpoint.integers["training.step"], 5, "checkpointed after the step under way, not at 100")
        let resumed = try train(RunDirectory(stopped.url, resume: true), schedule, resume: true)
        XCTAssertEqual(resumed.step, 8)
        XCTAssertEqual(try String(contentsOf: stopped.logURL, encoding: .utf8),
                       try String(contentsOf: whole.logURL, encoding: .utf8), "the same loss curve as without the stop")
    }

    func testResumingWithDifferentSettingsIsRefused() throws {
        let schedule = TrainingSchedule(totalSteps: 1, checkpointInterval: 1, sampleInterval: nil, progressInterval: 1000)
        let run = try RunDirectory(directory.appendingPathComponent("run"), resume: false)
        try train(run, schedule)
        var other = Self.configuration
        other.learningRate = 0.01
        XCTAssertThrowsError(try train(RunDirectory(run.url, resume: true), schedule, resume: true, configuration: other)) { error in
            guard case .incompatibleCheckpoint? = error as? TrainingRunError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try RunDirectory(directory.appendingPathComponent("empty"), resume: true))
    }

    func testFineTuningContinuesAnotherRunUnderNewSettings() throws {
        let first = TrainingSchedule(totalSteps: 3, checkpointInterval: 3, sampleInterval: nil, logInterval: 1,
                                     progressInterval: 1000)
        let base = try RunDirectory(directory.appendingPathComponent("base"), resume: false)
        let original = try train(base, first)
        var tuning = Self.configuration
        tuning.learningRate = 0.0005
        tuning.r1Gamma = 0.05
        tuning.emaHalfLifeImages = 40
        // The trainer built from the checkpoint holds its networks, average, moments and step.
        let continued = try GANTrainer(continuing: Checkpoint(contentsOf: base.latestCheckpointURL), with: tuning)
        XCTAssertEqual(continued.step, 3)
        XCTAssertEqual(continued.configuration, tuning)
        XCTAssertEqual(continued.generatorOptimizer.learningRate, 0.0005 * 2 / 3, accuracy: 1e-9,
                       "lazy path-length regularisation scales the new rate")
        for (key, value) in original.averageGenerator.stateDictionary() {
            XCTAssertEqual(continued.averageGenerator.stateDictionary()[key]?.scalars, value.scalars, key)
        }
        let moments = original.discriminatorOptimizer.stateDictionary()
        XCTAssertGreaterThan(moments.count, 3)
        for (key, value) in moments {
            XCTAssertEqual(continued.discriminatorOptimizer.stateDictionary()[key]?.scalars, value.scalars, key)
        }

        let second = TrainingSchedule(totalSteps: 5, checkpointInterval: 5, sampleInterval: nil, logInterval: 1,
                                      progressInterval: 1000)
        let tunedRun = try RunDirectory(directory.appendingPathComponent("tuned"), resume: false)
        let tuned = try train(tunedRun, second, configuration: tuning, initializeFrom: base.latestCheckpointURL)
        XCTAssertEqual(tuned.step, 5, "the step count continues from the base run")
        let log = try String(contentsOf: tunedRun.logURL, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, 3, "a header and steps 4 and 5: \(log)")
        let stored = try String(contentsOf: tunedRun.configurationURL, encoding: .utf8)
        XCTAssertTrue(stored.contains("initializedFrom") && stored.contains("0.0005"), stored)
        // The fine-tuned run resumes under its own settings, like any other run.
        let longer = TrainingSchedule(totalSteps: 6, checkpointInterval: 6, sampleInterval: nil, logInterval: 1,
                                      progressInterval: 1000)
        let resumed = try train(RunDirectory(tunedRun.url, resume: true), longer, resume: true, configuration: tuning)
        XCTAssertEqual(resumed.step, 6)

        // Another architecture or another batch size cannot start from it.
        var wider = Self.architecture
        wider.generator.channels = ChannelSchedule(base: 64, maximum: 32)
        XCTAssertThrowsError(try train(RunDirectory(directory.appendingPathComponent("bad"), resume: false), second,
                                       architecture: wider, configuration: tuning, initializeFrom: base.latestCheckpointURL)) { error in
            guard case .incompatibleCheckpoint? = error as? TrainingRunError else { return XCTFail("\(error)") }
        }
        var otherBatch = tuning
        otherBatch.batchSize = 8
        XCTAssertThrowsError(try GANTrainer(continuing: Checkpoint(contentsOf: base.latestCheckpointURL), with: otherBatch)) { error in
            XCTAssertTrue(String(describing: error).contains("batch size"), "\(error)")
        }
    }

    func testProgressLineShowsRateAndETA() {
        var lines: [String] = []
        var progress = ProgressReporter(totalSteps: 10, interval: 0, output: { lines.append($0) })
        progress.update(step: 0)
        progress.update(step: 5, [("loss", 0.5)])
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].hasPrefix("step 5/10 (50.0%)"), lines[0])
        XCTAssertTrue(lines[0].contains("steps/s") && lines[0].contains("ETA") && lines[0].contains("loss 0.5"), lines[0])
        XCTAssertEqual(ProgressReporter.duration(3725), "1h 02m")
        XCTAssertEqual(ProgressReporter.duration(185), "3m 05s")
    }
}
