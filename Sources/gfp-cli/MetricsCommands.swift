import ArgumentParser
import Forensics
import Foundation
import Imaging
import Stego
import Tensor

/// `gfp metrics ...`: image-quality metrics in the feature space of a classifier trained here.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Train a feature classifier and measure Fréchet distances in its feature space.",
        subcommands: [MetricsTrainClassifier.self, MetricsFrechetDistance.self])
}

/// `gfp metrics train-classifier --data fashion-mnist --out CLASSIFIER.h5 [--epochs 3] [--seed 0]`.
struct MetricsTrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-classifier",
        abstract: "Train the small CNN whose penultimate features gfp metrics fd compares.",
        discussion: """
            Trains on --data (fashion-mnist: the training split zero-padded to 32 x 32; or a folder \
            with labels in dataset.json, resized and centre-cropped) with Adam, cross-entropy, a cosine \
            learning-rate decay and random horizontal flips, and measures the test accuracy after every \
            epoch (fashion-mnist:test, or --test). Progress goes to standard error; the last line on \
            standard output is JSON {epochs, parameters, seconds, testAccuracy, trainLoss}.
            """)

    @Option(help: "Training images: fashion-mnist, or a folder with labels in dataset.json.")
    var data: String

    @Option(help: "Labelled test images (default: fashion-mnist:test when --data is fashion-mnist).")
    var test: String?

    @Option(help: "The classifier file to write (HDF5).")
    var out: String

    @Option(help: "Passes over the training set.")
    var epochs = 3

    @Option(help: "Seed of the initial weights, the batch order and the flips.")
    var seed: UInt64 = 0

    @Option(help: "Images per step.")
    var batchSize = 128

    @Option(help: "Adam's initial learning rate (decayed by a cosine to 5% of it).")
    var learningRate: Float = 1e-3

    @Option(help: "Image side R, a power of two of at least 16.")
    var resolution = 32

    @Option(help: "Image channels (default: 1 for fashion-mnist, 3 for folders).")
    var channels: Int?

    @Option(help: "Dimension of the feature layer.")
    var featureDimension = 128

    @Option(help: "Channels of the convolutions, comma-separated; each after the first halves the resolution.")
    var widths = "32,64,96,128"

    func validate() throws {
        guard epochs >= 1, batchSize >= 1, featureDimension >= 1 else {
            throw ValidationError("--epochs, --batch-size and --feature-dimension must be positive")
        }
        guard learningRate > 0 else { throw ValidationError("--learning-rate must be positive") }
        guard resolution >= 16, resolution & (resolution - 1) == 0 else {
            throw ValidationError("--resolution must be a power of two of at least 16")
        }
        if let channels, ![1, 3].contains(channels) { throw ValidationError("--channels must be 1 or 3") }
        guard let widths = convolutionWidths, !widths.isEmpty, widths.allSatisfy({ $0 >= 1 }),
              resolution >> (widths.count - 1) >= 1 else {
            throw ValidationError("--widths must be positive integers, e.g. 32,64,96,128, at most log2(R) + 1 of them")
        }
    }

    /// `--widths` as numbers, or `nil` when it does not parse.
    var convolutionWidths: [Int]? {
        let parts = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    func run() throws {
        let source = ImageSource(argument: data)
        var imageChannels = channels ?? 3
        if case .fashionMNIST = source { imageChannels = channels ?? 1 }
        let (training, preprocessing) = try source.dataset(resolution: resolution, channels: imageChannels)
        let testSource: ImageSource? = test.map(ImageSource.init(argument:))
            ?? { if case .fashionMNIST = source { return .fashionMNIST(.test) } else { return nil } }()
        let testSet = try testSource.map { try $0.dataset(resolution: resolution, channels: imageChannels).0 }
        let classCount = try Self.classCount(of: training, name: source.description)
        let configuration = FeatureClassifier.Configuration(resolution: resolution, imageChannels: imageChannels,
                                                            classCount: classCount, widths: convolutionWidths ?? [],
                                                            featureDimension: featureDimension)
        var generator = SeededGenerator(seed: seed)
        let classifier = try FeatureClassifier(configuration, generator: &generator)
        let plan = FeatureClassifierTraining(epochs: epochs, batchSize: batchSize, learningRate: learningRate, seed: seed)
        reportProgress("training a \(classifier.parameterCount)-parameter classifier on \(training.count) images of "
                       + "\(source), \(classCount) classes, \(epochs) epochs")
        let reports = try plan.train(classifier, on: training, testSet: testSet, preprocessing: preprocessing) { event in
            switch event {
            case let .batch(epoch, batch, batchesPerEpoch, meanLoss):
                reportProgress(String(format: "epoch %d batch %d/%d loss %.4f", epoch, batch, batchesPerEpoch, meanLoss))
            case let .epoch(report):
                let test = report.testAccuracy.map { String(format: "%.4f", $0) } ?? "-"
                reportProgress(String(format: "epoch %d done: loss %.4f train accuracy %.4f test accuracy %@ (%.0f s)",
                                      report.epoch, report.trainLoss, report.trainAccuracy, test, report.seconds))
            }
        }
        try classifier.write(to: URL(fileURLWithPath: out))
        reportProgress("wrote \(out)")
        struct Summary: Encodable {
            var epochs: Int, parameters: Int, seconds: Double, testAccuracy: Double?, trainLoss: Double
        }
        let last = reports[reports.count - 1]
        try printJSON(Summary(epochs: epochs, parameters: classifier.parameterCount, seconds: (last.seconds * 10).rounded() / 10,
                              testAccuracy: last.testAccuracy, trainLoss: last.trainLoss))
    }

    /// One more than the largest label (every image must have one).
    static func classCount(of dataset: any ImageDataset, name: String) throws -> Int {
        var largest = -1
        for index in 0..<dataset.count {
            guard let label = dataset.label(at: index) else {
                throw CommandLineError("\(name) has no labels (a folder needs them in dataset.json)")
            }
            guard label >= 0 else { throw CommandLineError("\(dataset.name(at: index)) has the negative label \(label)") }
            largest = max(largest, label)
        }
        guard largest >= 1 else { throw CommandLineError("\(name) needs at least two classes") }
        return largest + 1
    }
}

/// `gfp metrics fd --classifier CLASSIFIER.h5 A B [--images N]`.
struct MetricsFrechetDistance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fd",
        abstract: "Fréchet distance between two image sets in a feature classifier's feature space.",
        discussion: """
            A and B are folders of images (searched recursively; they must already have the \
            classifier's size; colour is converted to its channels) or fashion-mnist:train / \
            fashion-mnist:test (zero-padded to its size). Images are read in order, in batches; --images \
            takes the first N of each set. The features are the classifier's penultimate layer (see \
            gfp metrics train-classifier). Prints JSON {fd, featureDimension, imagesA, imagesB}.
            """)

    @Option(help: "A classifier file written by gfp metrics train-classifier.")
    var classifier: String

    @Option(help: "Use at most the first N images of each set.")
    var images: Int?

    @Option(help: "Images per batch.")
    var batchSize = 250

    @Argument(help: "The first image set: a folder, fashion-mnist:train or fashion-mnist:test.")
    var first: String

    @Argument(help: "The second image set.")
    var second: String

    func validate() throws {
        if let images, images < 2 { throw ValidationError("--images must be at least 2") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let model = try FeatureClassifier(contentsOf: URL(fileURLWithPath: classifier))
        let a = try statistics(of: ImageSource(argument: first), model: model)
        let b = try statistics(of: ImageSource(argument: second), model: model)
        struct Result: Encodable { var fd: Double, featureDimension: Int, imagesA: Int, imagesB: Int }
        try printJSON(Result(fd: try frechetDistance(a, b), featureDimension: model.featureDimension,
                             imagesA: a.count, imagesB: b.count))
    }

    /// The feature statistics of `source`: folders as they are (channels converted), Fashion-MNIST padded.
    private func statistics(of source: ImageSource, model: FeatureClassifier) throws -> FeatureStatistics {
        let configuration = model.configuration
        var (dataset, preprocessing) = try source.dataset(resolution: configuration.resolution,
                                                          channels: configuration.imageChannels)
        if case .folder = source { preprocessing = Preprocessing(channels: configuration.imageChannels) }
        guard dataset.count >= 2 else { throw CommandLineError("\(source) holds \(dataset.count) images; at least 2 are needed") }
        return try model.featureStatistics(of: dataset, preprocessing: preprocessing, limit: images, batchSize: batchSize)
    }
}

/// Writes one progress line to standard error.
private func reportProgress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
