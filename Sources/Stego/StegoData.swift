import Foundation
import Imaging
import NN
import Tensor

/// Where training or embedding images come from: a folder of images or a Fashion-MNIST split
/// (`fashion-mnist`, `fashion-mnist:train`, `fashion-mnist:test`).
public enum ImageSource: Hashable, Sendable, CustomStringConvertible {
    case folder(URL)
    case fashionMNIST(FashionMNIST.Split)

    /// Parses a command-line argument.
    public init(argument: String) {
        switch argument.lowercased() {
        case "fashion-mnist", "fashion-mnist:train": self = .fashionMNIST(.train)
        case "fashion-mnist:test": self = .fashionMNIST(.test)
        default: self = .folder(URL(fileURLWithPath: argument))
        }
    }

    public var description: String {
        switch self {
        case .folder(let url): url.path
        case .fashionMNIST(let split): "fashion-mnist:\(split.rawValue)"
        }
    }

    /// The data set and the preprocessing that brings its images to `resolution`×`resolution`
    /// with `channels` channels: Fashion-MNIST's 28×28 images are zero-padded (28 → 32), folders
    /// are resized on the shorter side and centre-cropped.
    public func dataset(resolution: Int, channels: Int) throws -> (any ImageDataset, Preprocessing) {
        switch self {
        case .folder(let url):
            return (try ImageFolder(url), .resizeAndCenterCrop(resolution: resolution, channels: channels))
        case .fashionMNIST(let split):
            let dataset = try FashionMNIST.load(split)
            guard resolution >= 28 else {
                throw StegoError.invalidArchitecture("Fashion-MNIST needs a resolution ≥ 28, got \(resolution)")
            }
            return (dataset, .pad(to: resolution, channels: channels))
        }
    }
}

/// An endless, shuffled stream of training batches from an image source, as the trainers want
/// them: `[N, C, R, R]`, in [0, 1] or mapped to [−1, 1] for GANs.
public struct ImageTrainingBatches: TrainingBatchSource {
    private var loader: DataLoader
    private let range: ClosedRange<Float>
    /// Starts a loader at a batch of the stream (0: its beginning).
    private let makeLoader: (_ skipping: Int) throws -> DataLoader
    /// Batches of the stream passed so far, returned or skipped.
    private var position = 0

    /// - Parameters:
    ///   - range: `0...1` (steganography) or `-1...1` (GANs).
    ///   - seed: fixes the order of the batches.
    public init(source: ImageSource, resolution: Int, channels: Int, batchSize: Int, range: ClosedRange<Float> = 0...1,
                seed: UInt64) throws {
        let (dataset, preprocessing) = try source.dataset(resolution: resolution, channels: channels)
        makeLoader = { skipping in
            try DataLoader(dataset, batchSize: batchSize, order: .shuffled(SeededGenerator(seed: seed)), epochs: nil,
                           dropLast: true, preprocessing: preprocessing, skippingBatches: skipping)
        }
        loader = try makeLoader(0)
        self.range = range
    }

    public mutating func nextBatch() throws -> Tensor {
        guard let batch = try loader.nextBatch() else { throw StegoError.invalidArchitecture("the image stream ended") }
        position += 1
        return range == 0...1 ? batch.images : batch.images * (range.upperBound - range.lowerBound) + range.lowerBound
    }

    /// Passes over `count` batches without decoding their images (a resumed run skips the
    /// batches it has trained on: 65,000 of them took minutes when read).
    public mutating func skipBatches(_ count: Int) throws {
        guard count > 0 else { return }
        position += count
        loader = try makeLoader(position)
    }
}
