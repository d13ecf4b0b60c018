import Foundation
import Imaging
import NN
import Tensor

/// A small convolutional image classifier whose penultimate layer provides the features of
/// Fréchet distances on small gray or RGB images (an Inception stand-in for Fashion-MNIST-like
/// data; see Models/fashion-mnist-classifier/README.md).
///
/// The network, for `widths` [32, 64, 96, 128]:
///
///     conv 3×3 C→32 ─ LReLU ─ conv 3×3/2 32→64 ─ LReLU ─ conv 3×3/2 64→96 ─ LReLU
///     ─ conv 3×3/2 96→128 ─ LReLU ─ global average pool ─ Linear 128→D ─ LReLU (features)
///     ─ Linear D→K (logits)
///
/// Every convolution after the first halves the resolution. Leaky ReLUs (slope 0.2) keep every
/// feature alive, so the feature covariance has full rank. Images are `[N, C, R, R]` in [0, 1],
/// mapped to [−1, 1] inside; the convolutions and the feature layer start from He initialisation.
public final class FeatureClassifier: Module {
    /// The architecture: what a model file stores besides the weights.
    public struct Configuration: Codable, Hashable, Sendable {
        /// The side R of the square input images: a power of two, at least 16.
        public var resolution: Int
        /// The channels C of the input images: 1 (gray) or 3 (RGB).
        public var imageChannels: Int
        /// The number of classes K.
        public var classCount: Int
        /// The output channels of the convolutions; each one after the first halves the resolution.
        public var widths: [Int]
        /// The dimension D of the feature layer.
        public var featureDimension: Int

        /// The default network for Fashion-MNIST padded to 32 × 32 (about 200,000 parameters).
        public init(resolution: Int = 32, imageChannels: Int = 1, classCount: Int = 10,
                    widths: [Int] = [32, 64, 96, 128], featureDimension: Int = 128) {
            self.resolution = resolution
            self.imageChannels = imageChannels
            self.classCount = classCount
            self.widths = widths
            self.featureDimension = featureDimension
        }

        /// Checks the configuration.
        ///
        /// - Throws: `FeatureClassifierError.invalidConfiguration` naming the first problem.
        public func validate() throws(FeatureClassifierError) {
            func fail(_ reason: String) -> FeatureClassifierError { .invalidConfiguration(reason) }
            guard resolution >= 16, resolution & (resolution - 1) == 0 else {
                throw fail("resolution \(resolution) must be a power of two of at least 16")
            }
            guard imageChannels == 1 || imageChannels == 3 else { throw fail("image channels \(imageChannels) must be 1 or 3") }
            guard classCount >= 2 else { throw fail("class count \(classCount) must be at least 2") }
            guard !widths.isEmpty, widths.allSatisfy({ $0 >= 1 }) else { throw fail("widths \(widths) must be positive") }
            guard resolution >> (widths.count - 1) >= 1 else {
                throw fail("\(widths.count - 1) downsamplings do not fit resolution \(resolution)")
            }
            guard featureDimension >= 1 else { throw fail("feature dimension \(featureDimension) must be positive") }
        }

        /// The shape of one input image, `[C, R, R]`.
        public var imageShape: [Int] { [imageChannels, resolution, resolution] }
    }

    /// The architecture.
    public let configuration: Configuration
    /// The convolutions with their activations.
    public let body: Sequential
    /// The feature layer (followed by a leaky ReLU).
    public let feature: Linear
    /// The classification layer, from the features to the logits.
    public let head: Linear

    /// A freshly initialised classifier, drawn from `generator`: He-uniform weights and zero
    /// biases for the convolutions and the feature layer, PyTorch's default for the head.
    ///
    /// - Throws: `FeatureClassifierError.invalidConfiguration` when `configuration` does not validate.
    public convenience init(_ configuration: Configuration, generator: inout SeededGenerator) throws(FeatureClassifierError) {
        try configuration.validate()
        self.init(validated: configuration, generator: &generator)
    }

    private init(validated configuration: Configuration, generator: inout SeededGenerator) {
        var layers: [any UnaryLayer] = []
        var channels = configuration.imageChannels
        for (index, width) in configuration.widths.enumerated() {
            layers.append(Conv2d(inputChannels: channels, outputChannels: width, kernelSize: 3, stride: index == 0 ? 1 : 2,
                                 padding: 1, generator: &generator))
            layers.append(LeakyReLU(negativeSlope: 0.2))
            channels = width
        }
        self.configuration = configuration
        body = Sequential(layers)
        feature = Linear(inputCount: channels, outputCount: configuration.featureDimension, generator: &generator)
        head = Linear(inputCount: configuration.featureDimension, outputCount: configuration.classCount, generator: &generator)
        super.init()
        // He initialisation for the leaky ReLUs, so that signals keep their scale through the
        // unnormalised layers (PyTorch's default shrinks the variance about sixfold per layer).
        for layer in layers.compactMap({ $0 as? Conv2d }) {
            Self.heInitialize(layer.weight, bias: layer.bias, fanIn: layer.weight.value.count / layer.outputChannels,
                              generator: &generator)
        }
        Self.heInitialize(feature.weight, bias: feature.bias, fanIn: feature.inputCount, generator: &generator)
    }

    /// Uniform He initialisation for leaky ReLUs of slope 0.2, zero biases.
    private static func heInitialize(_ weight: Parameter, bias: Parameter?, fanIn: Int, generator: inout SeededGenerator) {
        let bound = (6 / (1.04 * Float(fanIn))).squareRoot()
        weight.value = Tensor.uniform(weight.shape, low: -bound, high: bound, using: &generator)
        if let bias { bias.value = Tensor.zeros(bias.shape) }
    }

    /// The feature dimension D.
    public var featureDimension: Int { configuration.featureDimension }

    /// Checks that `images` is a batch `[N, C, R, R]` this classifier takes (N ≥ 1).
    ///
    /// - Parameter source: names the images in the error (a file or data set).
    /// - Throws: `FeatureClassifierError.imageShape`.
    public func validateInput(_ images: Tensor, source: String? = nil) throws(FeatureClassifierError) {
        guard images.rank == 4, images.shape[0] >= 1, Array(images.shape.dropFirst()) == configuration.imageShape else {
            throw .imageShape(expected: configuration.imageShape, found: images.shape, source: source)
        }
    }

    /// The features `[N, D]` of images `[N, C, R, R]`: the feature layer after its activation.
    /// The shape is a precondition; check user data with `validateInput(_:source:)` first.
    public func features(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && Array(images.shape.dropFirst()) == configuration.imageShape,
                     "FeatureClassifier expects [N] + \(configuration.imageShape), got \(images.shape)")
        let pooled = body(images * 2 - 1).mean(alongAxes: [2, 3])
        return feature(pooled).leakyReLU(negativeSlope: 0.2)
    }

    /// The class logits `[N, K]` of images `[N, C, R, R]`.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        head(features(images))
    }

    /// The predicted class of every image (the largest logit; the first among equals).
    public func predictedClasses(_ images: Tensor) -> [Int] {
        largestEntries(ofRows: withoutGradients { self(images) })
    }

    // MARK: Data sets

    /// The fraction of the labelled `dataset`'s images whose class is predicted correctly.
    ///
    /// - Throws: `FeatureClassifierError.missingLabels`, `.imageShape`, and the data set's errors.
    public func accuracy(on dataset: some ImageDataset, preprocessing: Preprocessing = Preprocessing(),
                         batchSize: Int = 500) throws -> Double {
        var correct = 0, total = 0
        try forEachBatch(of: dataset, preprocessing: preprocessing, limit: nil, batchSize: batchSize) { images, batch in
            guard let labels = batch.labels else { throw FeatureClassifierError.missingLabels(dataset: dataset.name(at: 0)) }
            correct += zip(predictedClasses(images), labels).filter { $0 == $1 }.count
            total += labels.count
        }
        return Double(correct) / Double(max(total, 1))
    }

    /// The mean and covariance of the features of the first `limit` images of `dataset` (all by
    /// default), read in order in batches: memory holds a few batches and the N × D features.
    ///
    /// Folder images must already have the classifier's size after `preprocessing` (which
    /// should convert the channels, `Preprocessing(channels: configuration.imageChannels)`).
    /// - Throws: `FeatureClassifierError.imageShape` naming the first image of a batch of the
    ///   wrong size, `ForensicsError.tooFewSamples` for fewer than two images, the data set's errors.
    public func featureStatistics(of dataset: some ImageDataset, preprocessing: Preprocessing = Preprocessing(),
                                  limit: Int? = nil, batchSize: Int = 250) throws -> FeatureStatistics {
        let d = featureDimension
        var flat: [Double] = []
        flat.reserveCapacity(min(limit ?? dataset.count, dataset.count) * d)
        try forEachBatch(of: dataset, preprocessing: preprocessing, limit: limit, batchSize: batchSize) { images, _ in
            let values = withoutGradients { features(images) }
            values.withUnsafeBufferPointer { flat.append(contentsOf: $0.lazy.map(Double.init)) }
        }
        return try FeatureStatistics(flatFeatures: flat, count: flat.count / d, dimension: d)
    }

    /// Runs `body` on the batches of the first `limit` images of `dataset`, in order, after
    /// checking each batch's shape.
    private func forEachBatch(of dataset: some ImageDataset, preprocessing: Preprocessing, limit: Int?, batchSize: Int,
                              _ body: (Tensor, ImageBatch) throws -> Void) throws {
        let count = min(limit ?? dataset.count, dataset.count)
        guard count > 0 else { throw ForensicsError.tooFewSamples(count: 0, minimum: 2) }
        let subset = count == dataset.count ? AnyImageDataset(dataset) : AnyImageDataset(dataset, prefix: count)
        let loader = try DataLoader(subset, batchSize: batchSize, order: .sequential, epochs: 1, preprocessing: preprocessing)
        while let batch = try loader.nextBatch() {
            try validateInput(batch.images, source: batch.indices.first.map { dataset.name(at: $0) })
            try body(batch.images, batch)
        }
    }
}

/// The first `count` images of a data set (or all of them).
struct AnyImageDataset: ImageDataset {
    let base: any ImageDataset
    let count: Int

    init(_ base: some ImageDataset, prefix: Int? = nil) {
        self.base = base
        count = min(prefix ?? base.count, base.count)
    }

    func image(at index: Int) throws -> Tensor { try base.image(at: index) }
    func label(at index: Int) -> Int? { base.label(at: index) }
    func name(at index: Int) -> String { base.name(at: index) }
}

/// Errors of the feature classifier: unfit configurations, images and data sets. Model files
/// report `CheckpointError`s.
public enum FeatureClassifierError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The configuration cannot be built (the reason names the field).
    case invalidConfiguration(String)
    /// Images do not have the classifier's shape `[N] + expected`; `source` names the first of them.
    case imageShape(expected: [Int], found: [Int], source: String?)
    /// Training or accuracy needs labels, and the data set has none.
    case missingLabels(dataset: String)
    /// A label lies outside `0..<classCount`.
    case labelOutOfRange(label: Int, classCount: Int)
    /// A training option is out of range.
    case invalidTrainingOption(String)

    /// A one-line explanation for users.
    public var description: String {
        switch self {
        case .invalidConfiguration(let reason):
            return "invalid feature classifier: \(reason)"
        case let .imageShape(expected, found, source):
            return "images of shape \(found)\(source.map { " (\($0))" } ?? "") do not fit the classifier, which takes "
                + "[N, \(expected.map(String.init).joined(separator: ", "))]; resize them first"
        case .missingLabels(let dataset):
            return "the data set \(dataset) has no labels"
        case let .labelOutOfRange(label, classCount):
            return "label \(label) is outside 0..<\(classCount)"
        case .invalidTrainingOption(let reason):
            return "invalid training option: \(reason)"
        }
    }
}

// MARK: - Model files

extension FeatureClassifier {
    /// The checkpoint kind of feature classifier files.
    public static let fileKind = "feature-classifier"

    /// Writes the classifier as an HDF5 checkpoint: kind `feature-classifier`, the configuration
    /// as JSON, the weights under `model`.
    public func write(to url: URL) throws(CheckpointError) {
        var checkpoint = Checkpoint(kind: Self.fileKind)
        try checkpoint.encodeConfig(configuration)
        checkpoint.setTensors(stateDictionary(), under: "model")
        try checkpoint.write(to: url)
    }

    /// Reads a classifier written by `write(to:)`, in evaluation mode.
    ///
    /// - Throws: `CheckpointError`: the file's own errors (missing, truncated, not HDF5),
    ///   `.invalidAttribute` for another kind of model, `.invalidConfig` for an unusable
    ///   configuration, `.mismatchedKeys` when the weights do not fit it.
    public convenience init(contentsOf url: URL) throws(CheckpointError) {
        let checkpoint = try Checkpoint(contentsOf: url)
        guard checkpoint.kind == Self.fileKind else {
            throw .invalidAttribute(path: url.path, name: "kind", reason: "expected \(Self.fileKind), found \(checkpoint.kind)")
        }
        let configuration = try checkpoint.decodeConfig(Configuration.self)
        do {
            try configuration.validate()
        } catch {
            throw .invalidConfig(reason: error.description)
        }
        var unused = SeededGenerator(seed: 0)
        self.init(validated: configuration, generator: &unused)
        let tensors = checkpoint.tensors(under: "model")
        try Checkpoint.verify(tensors, against: parameterShapes())
        do {
            try loadStateDictionary(tensors)
        } catch {
            throw .invalidConfig(reason: error.description)   // unreachable after `verify`
        }
        eval()
    }
}
