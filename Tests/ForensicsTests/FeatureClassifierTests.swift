import Foundation
@testable import Forensics
import Imaging
import NN
import Tensor
import TestSupport
import XCTest

/// The feature classifier behind `gfp metrics`: learning, model files, and Fréchet distances
/// through its features. Small networks on 16 × 16 synthetic images, so the whole class runs in
/// a few seconds.
final class FeatureClassifierTests: XCTestCase {
    static let small = FeatureClassifier.Configuration(resolution: 16, imageChannels: 1, classCount: 3,
                                                       widths: [8, 16, 16], featureDimension: 16)

    /// `count` noisy 16 × 16 gray images of three classes: horizontal stripes, vertical stripes and
    /// a bright centred square, on a background of random brightness. `shift` adds to every pixel.
    static func synthetic(count: Int, seed: UInt64, shift: Int = 0, size: Int = 16) throws -> InMemoryImageDataset {
        var random = SeededGenerator(seed: seed)
        var pixels: [UInt8] = [], labels: [Int] = []
        for index in 0..<count {
            let label = index % 3
            let background = Int(random.next() % 60), phase = Int(random.next() % 2)
            for y in 0..<size {
                for x in 0..<size {
                    var value = background + Int(random.next() % 50)
                    switch label {
                    case 0: if (y + phase) % 4 < 2 { value += 120 }
                    case 1: if (x + phase) % 4 < 2 { value += 120 }
                    default: if abs(2 * y - size + 1) < size / 2 && abs(2 * x - size + 1) < size / 2 { value += 120 }
                    }
                    pixels.append(UInt8(clamping: value + shift))
                }
            }
            labels.append(label)
        }
        return try InMemoryImageDataset(pixels: pixels[...], imageShape: [1, size, size], labels: labels, name: "synthetic")
    }

    static func makeClassifier(seed: UInt64 = 1) throws -> FeatureClassifier {
        var generator = SeededGenerator(seed: seed)
        return try FeatureClassifier(small, generator: &generator)
    }

    func testLearnsASyntheticProblem() throws {
        let training = try Self.synthetic(count: 240, seed: 1), test = try Self.synthetic(count: 90, seed: 2)
        let plan = FeatureClassifierTraining(epochs: 4, batchSize: 16, learningRate: 1e-2, seed: 7, progressInterval: 5)
        let classifier = try Self.makeClassifier()
        let before = try classifier.accuracy(on: test)
        var events = 0
        let reports = try plan.train(classifier, on: training, testSet: test) { _ in events += 1 }
        XCTAssertEqual(reports.map(\.epoch), [1, 2, 3, 4])
        XCTAssertEqual(events, 4 * 3 + 4, "three batch events (every 5 of 15 steps) and one epoch event per epoch")
        let first = reports[0], last = reports[reports.count - 1]
        print("feature classifier on synthetic data: loss \(first.trainLoss) → \(last.trainLoss), "
              + "test accuracy \(before) → \(last.testAccuracy ?? -1)")
        XCTAssertLessThan(last.trainLoss, 0.5 * first.trainLoss, "the loss falls")
        XCTAssertGreaterThanOrEqual(last.testAccuracy ?? 0, 0.9, "chance is 1/3")
        XCTAssertEqual(try classifier.accuracy(on: test, batchSize: 7), last.testAccuracy ?? -1, accuracy: 1e-12)
    }

    func testTrainingIsDeterministic() throws {
        let training = try Self.synthetic(count: 60, seed: 1)
        let plan = FeatureClassifierTraining(epochs: 1, batchSize: 16, seed: 3)
        let (first, second) = (try Self.makeClassifier(), try Self.makeClassifier())
        let reports = try plan.train(first, on: training)
        XCTAssertEqual(try plan.train(second, on: training).map(\.trainLoss), reports.map(\.trainLoss))
        for (key, value) in first.stateDictionary() {
            XCTAssertEqual(second.stateDictionary()[key]?.scalars, value.scalars, key)
        }
        var other = plan
        other.seed = 4
        let third = try Self.makeClassifier()
        XCTAssertNotEqual(try other.train(third, on: training).map(\.trainLoss), reports.map(\.trainLoss), "another order")
    }

    func testTrainingRejectsUnfitData() throws {
        let classifier = try Self.makeClassifier()
        let unlabelled = try InMemoryImageDataset(pixels: [UInt8](repeating: 9, count: 4 * 256)[...], imageShape: [1, 16, 16],
                                                  labels: nil)
        XCTAssertThrowsError(try FeatureClassifierTraining(epochs: 1).train(classifier, on: unlabelled)) { error in
            XCTAssertEqual(error as? FeatureClassifierError, .missingLabels(dataset: "images[0]"))
        }
        let outOfRange = try InMemoryImageDataset(pixels: [UInt8](repeating: 9, count: 2 * 256)[...], imageShape: [1, 16, 16],
                                                  labels: [0, 3])
        XCTAssertThrowsError(try FeatureClassifierTraining(epochs: 1).train(classifier, on: outOfRange)) { error in
            XCTAssertEqual(error as? FeatureClassifierError, .labelOutOfRange(label: 3, classCount: 3))
        }
        XCTAssertThrowsError(try FeatureClassifierTraining(epochs: 0).train(classifier, on: outOfRange))
    }

    func testConfigurationValidation() throws {
        var generator = SeededGenerator(seed: 0)
        for (change, fragment) in [({ (c: inout FeatureClassifier.Configuration) in c.resolution = 24 }, "power of two"),
                                   ({ $0.imageChannels = 2 }, "channels"), ({ $0.classCount = 1 }, "class count"),
                                   ({ $0.widths = [] }, "widths"), ({ $0.widths = [4, 4, 4, 4, 4, 4] }, "downsamplings"),
                                   ({ $0.featureDimension = 0 }, "feature dimension")] {
            var configuration = Self.small
            change(&configuration)
            XCTAssertThrowsError(try FeatureClassifier(configuration, generator: &generator)) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)")
            }
        }
        let standard = try FeatureClassifier(.init(), generator: &generator)
        XCTAssertLessThan(standard.parameterCount, 250_000, "the shipped model stays under 1 MB")
        XCTAssertEqual(standard.features(Tensor.zeros([2, 1, 32, 32])).shape, [2, 128])
        XCTAssertEqual(standard(Tensor.zeros([2, 1, 32, 32])).shape, [2, 10])
    }

    func testModelFileRoundTrip() throws {
        let directory = try makeTemporaryDirectory()
        let url = directory.appendingPathComponent("classifier.h5")
        let classifier = try Self.makeClassifier(seed: 3)
        try classifier.write(to: url)
        let loaded = try FeatureClassifier(contentsOf: url)
        XCTAssertEqual(loaded.configuration, classifier.configuration)
        XCTAssertFalse(loaded.isTraining)
        var generator = SeededGenerator(seed: 11)
        let images = Tensor.uniform([5, 1, 16, 16], using: &generator)
        XCTAssertEqual(loaded.features(images).scalars, classifier.features(images).scalars)
        XCTAssertEqual(loaded(images).scalars, classifier(images).scalars)
    }

    func testDamagedModelFilesGiveTypedErrors() throws {
        let directory = try makeTemporaryDirectory()
        let url = directory.appendingPathComponent("classifier.h5")
        try Self.makeClassifier().write(to: url)
        let bytes = try Data(contentsOf: url)

        let truncated = directory.appendingPathComponent("truncated.h5")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        XCTAssertThrowsError(try FeatureClassifier(contentsOf: truncated)) { XCTAssertTrue($0 is CheckpointError, "\($0)") }
        let missing = directory.appendingPathComponent("missing.h5")
        XCTAssertThrowsError(try FeatureClassifier(contentsOf: missing)) {
            XCTAssertEqual($0 as? CheckpointError, .fileNotFound(path: missing.path))
        }

        var otherKind = Checkpoint(kind: "stego-decoder")
        try otherKind.encodeConfig(Self.small)
        otherKind.setTensors(try Self.makeClassifier().stateDictionary(), under: "model")
        let otherURL = directory.appendingPathComponent("other.h5")
        try otherKind.write(to: otherURL)
        XCTAssertThrowsError(try FeatureClassifier(contentsOf: otherURL)) { error in
            guard case .invalidAttribute(_, "kind", _)? = error as? CheckpointError else { return XCTFail("\(error)") }
        }

        // The configuration of a wider network with the small network's weights.
        var wrongShapes = Checkpoint(kind: FeatureClassifier.fileKind)
        var wider = Self.small
        wider.widths = [8, 16, 32]
        try wrongShapes.encodeConfig(wider)
        wrongShapes.setTensors(try Self.makeClassifier().stateDictionary(), under: "model")
        let wrongURL = directory.appendingPathComponent("wrong.h5")
        try wrongShapes.write(to: wrongURL)
        XCTAssertThrowsError(try FeatureClassifier(contentsOf: wrongURL)) { error in
            guard case .mismatchedKeys(_, _, let shapes)? = error as? CheckpointError else { return XCTFail("\(error)") }
            XCTAssertFalse(shapes.isEmpty)
        }

        var invalid = Checkpoint(kind: FeatureClassifier.fileKind)
        var odd = Self.small
        odd.resolution = 20
        try invalid.encodeConfig(odd)
        let invalidURL = directory.appendingPathComponent("invalid.h5")
        try invalid.write(to: invalidURL)
        XCTAssertThrowsError(try FeatureClassifier(contentsOf: invalidURL)) { error in
            guard case .invalidConfig? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    func testFrechetDistanceThroughFeatures() throws {
        let classifier = try Self.makeClassifier(seed: 5)
        let a = try Self.synthetic(count: 120, seed: 3)
        let statistics = try classifier.featureStatistics(of: a, batchSize: 32)
        XCTAssertEqual(statistics.count, 120)
        XCTAssertEqual(statistics.dimension, 16)
        XCTAssertEqual(try frechetDistance(statistics, classifier.featureStatistics(of: a, batchSize: 50)), 0, accuracy: 1e-9)

        let similar = try classifier.featureStatistics(of: Self.synthetic(count: 120, seed: 4))
        let shifted = try classifier.featureStatistics(of: Self.synthetic(count: 120, seed: 4, shift: 60))
        let (fdSimilar, fdShifted) = (try frechetDistance(statistics, similar), try frechetDistance(statistics, shifted))
        print("FD through features: same distribution \(fdSimilar), shifted by 60 levels \(fdShifted)")
        XCTAssertGreaterThan(fdShifted, 0)
        XCTAssertGreaterThan(fdShifted, 5 * fdSimilar, "a brightness shift is far from sampling noise")

        let limited = try classifier.featureStatistics(of: a, limit: 50, batchSize: 16)
        XCTAssertEqual(limited.count, 50)
        let direct = try FeatureStatistics(features: classifier.features(a.images(0..<50)))
        XCTAssertEqual(zip(limited.mean, direct.mean).map { abs($0 - $1) }.max() ?? 1, 0, accuracy: 1e-6)
    }

    func testWrongImageSizeIsATypedError() throws {
        let classifier = try Self.makeClassifier()
        let large = try Self.synthetic(count: 4, seed: 1, size: 32)
        XCTAssertThrowsError(try classifier.featureStatistics(of: large)) { error in
            XCTAssertEqual(error as? FeatureClassifierError, .imageShape(expected: [1, 16, 16], found: [4, 1, 32, 32],
                                                                          source: "synthetic[0]"))
            XCTAssertTrue("\(error)".contains("synthetic[0]"))
        }
        XCTAssertNoThrow(try classifier.featureStatistics(of: large, preprocessing: .init(steps: [.resize(Size2D(16, 16))])))
        XCTAssertThrowsError(try classifier.validateInput(Tensor.zeros([2, 3, 16, 16])))
    }
}
