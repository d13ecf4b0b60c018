import Foundation
import Imaging
import NN
import Tensor

/// Supervised training of a `FeatureClassifier`: Adam on the mean cross-entropy, a cosine
/// learning-rate decay over all steps, optional random horizontal flips, and the test accuracy
/// after every epoch.
///
/// A run is deterministic given `seed` (batch order and flips) and the classifier's initial
/// weights: the data loader's order depends on the seed alone, never on timing.
///
/// ```swift
/// var generator = SeededGenerator(seed: 0)
/// let classifier = try FeatureClassifier(.init(), generator: &generator)
/// let reports = try FeatureClassifierTraining(epochs: 3).train(
///     classifier, on: FashionMNIST.load(.train), testSet: FashionMNIST.load(.test), preprocessing: .pad(to: 32))
/// ```
public struct FeatureClassifierTraining: Hashable, Codable, Sendable {
    /// Passes over the training set.
    public var epochs: Int
    /// Images per step (the last batch of an epoch may be smaller).
    public var batchSize: Int
    /// Adam's initial learning rate.
    public var learningRate: Float
    /// The learning rate at the last step, as a fraction of `learningRate` (1: constant).
    public var finalLearningRateFraction: Float
    /// Mirror each training image left–right with probability ½.
    public var horizontalFlips: Bool
    /// Seeds the batch order and the flips.
    public var seed: UInt64
    /// Steps between `.batch` progress events.
    public var progressInterval: Int

    /// A training plan; the defaults suit Fashion-MNIST.
    public init(epochs: Int = 3, batchSize: Int = 128, learningRate: Float = 1e-3, finalLearningRateFraction: Float = 0.05,
                horizontalFlips: Bool = true, seed: UInt64 = 0, progressInterval: Int = 100) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.finalLearningRateFraction = finalLearningRateFraction
        self.horizontalFlips = horizontalFlips
        self.seed = seed
        self.progressInterval = progressInterval
    }

    /// The outcome of one epoch.
    public struct EpochReport: Hashable, Codable, Sendable {
        /// The epoch, from 1.
        public var epoch: Int
        /// The mean cross-entropy over the epoch's steps (weighted by batch size).
        public var trainLoss: Double
        /// The fraction of training images classified correctly while training (flipped as trained).
        public var trainAccuracy: Double
        /// The accuracy on the test set after the epoch, when one is given.
        public var testAccuracy: Double?
        /// Seconds since training started.
        public var seconds: Double
    }

    /// What `train` reports while it runs.
    public enum Event: Sendable {
        /// Every `progressInterval` steps: the mean loss of the epoch so far.
        case batch(epoch: Int, batch: Int, batchesPerEpoch: Int, meanLoss: Double)
        /// At the end of every epoch.
        case epoch(EpochReport)
    }

    /// Trains `classifier` in place on the labelled `dataset`.
    ///
    /// - Parameters:
    ///   - testSet: a labelled data set whose accuracy is measured after every epoch.
    ///   - preprocessing: applied to every training and test image (e.g. `.pad(to: 32)`).
    ///   - progress: receives `Event`s on the calling thread.
    /// - Returns: one report per epoch.
    /// - Throws: `FeatureClassifierError.invalidTrainingOption`, `.missingLabels`,
    ///   `.labelOutOfRange`, `.imageShape`, and the data sets' errors.
    @discardableResult
    public func train(_ classifier: FeatureClassifier, on dataset: some ImageDataset, testSet: (any ImageDataset)? = nil,
                      preprocessing: Preprocessing = Preprocessing(),
                      progress: (Event) -> Void = { _ in }) throws -> [EpochReport] {
        guard epochs >= 1, batchSize >= 1, progressInterval >= 1 else {
            throw FeatureClassifierError.invalidTrainingOption("epochs, batch size and progress interval must be positive")
        }
        guard learningRate > 0, (0...1).contains(finalLearningRateFraction) else {
            throw FeatureClassifierError.invalidTrainingOption(
                "the learning rate must be positive and the final fraction in [0, 1]")
        }
        var random = SeededGenerator(seed: seed ^ 0x6665_6174_5F63_6C73)   // "feat_cls"
        let loader = try DataLoader(dataset, batchSize: batchSize, order: .shuffled(random.split()), epochs: epochs,
                                    preprocessing: preprocessing)
        var flips = random.split()
        let optimizer = Adam(for: classifier, learningRate: learningRate)
        let totalSteps = epochs * loader.batchesPerEpoch
        let start = Date()
        var reports: [EpochReport] = []
        classifier.train()
        for epoch in 1...epochs {
            var lossSum = 0.0, correct = 0, seen = 0
            for batchIndex in 1...loader.batchesPerEpoch {
                guard let batch = try loader.nextBatch() else { break }
                try classifier.validateInput(batch.images, source: batch.indices.first.map { dataset.name(at: $0) })
                guard let labels = batch.labels else { throw FeatureClassifierError.missingLabels(dataset: dataset.name(at: 0)) }
                if let bad = labels.first(where: { !(0..<classifier.configuration.classCount).contains($0) }) {
                    throw FeatureClassifierError.labelOutOfRange(label: bad, classCount: classifier.configuration.classCount)
                }
                let images = horizontalFlips ? Self.flipped(batch.images, using: &flips) : batch.images
                let step = (epoch - 1) * loader.batchesPerEpoch + batchIndex - 1
                optimizer.learningRate = scheduledLearningRate(step: step, of: totalSteps)
                let logits = classifier(images)
                let loss = crossEntropy(logits: logits, labels: labels)
                correct += zip(largestEntries(ofRows: logits), labels).filter { $0 == $1 }.count
                lossSum += Double(loss.scalar) * Double(labels.count)
                seen += labels.count
                loss.backward()
                optimizer.step()
                if batchIndex % progressInterval == 0 {
                    progress(.batch(epoch: epoch, batch: batchIndex, batchesPerEpoch: loader.batchesPerEpoch,
                                    meanLoss: lossSum / Double(seen)))
                }
            }
            classifier.eval()
            let testAccuracy = try testSet.map { try classifier.accuracy(on: $0, preprocessing: preprocessing) }
            classifier.train()
            let report = EpochReport(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)),
                                     trainAccuracy: Double(correct) / Double(max(seen, 1)), testAccuracy: testAccuracy,
                                     seconds: Date().timeIntervalSince(start))
            reports.append(report)
            progress(.epoch(report))
        }
        classifier.eval()
        return reports
    }

    /// The learning rate at `step` of `total`: cosine decay from `learningRate` to
    /// `learningRate · finalLearningRateFraction`.
    func scheduledLearningRate(step: Int, of total: Int) -> Float {
        let progress = total > 1 ? Double(step) / Double(total - 1) : 1
        let fraction = Double(finalLearningRateFraction)
        return learningRate * Float(fraction + (1 - fraction) * 0.5 * (1 + cos(Double.pi * progress)))
    }

    /// `images` `[N, C, H, W]` with each image mirrored left–right with probability ½ (one draw
    /// per image, in batch order).
    static func flipped(_ images: Tensor, using generator: inout SeededGenerator) -> Tensor {
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let mirror = (0..<n).map { _ in generator.next() >> 63 == 1 }
        return images.withUnsafeBufferPointer { source in
            Tensor(shape: images.shape) { out in
                let plane = h * w
                for image in 0..<n {
                    for row in 0..<(c * h) {
                        let base = image * c * plane + row * w
                        for x in 0..<w { out[base + x] = source[base + (mirror[image] ? w - 1 - x : x)] }
                    }
                }
            }
        }
    }
}

/// The index of the largest entry of every row of a `[N, K]` tensor (the first among equals).
func largestEntries(ofRows matrix: Tensor) -> [Int] {
    let k = matrix.shape[1]
    return matrix.withUnsafeBufferPointer { values in
        (0..<matrix.shape[0]).map { row in
            var best = 0
            for j in 1..<k where values[row * k + j] > values[row * k + best] { best = j }
            return best
        }
    }
}
