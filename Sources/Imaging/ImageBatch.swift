import Tensor

/// A batch of images with their labels, as a data loader yields it.
public struct ImageBatch: Sendable {
    /// The images, `[N, C, H, W]` in [0, 1].
    public var images: Tensor
    /// One label per image when the data set is labelled, else `nil`.
    public var labels: [Int]?
    /// The data-set index of each image (shows the order; useful for reproducibility checks).
    public var indices: [Int]
    /// The epoch the batch belongs to, from 0.
    public var epoch: Int

    /// Creates a batch; `images.shape[0]` must equal `indices.count`.
    public init(images: Tensor, labels: [Int]?, indices: [Int], epoch: Int) {
        precondition(images.rank == 4 && images.shape[0] == indices.count, "batch of \(images.shape) for \(indices.count) indices")
        self.images = images
        self.labels = labels
        self.indices = indices
        self.epoch = epoch
    }
}

/// Anything that hands out batches of images one at a time until it is exhausted.
///
/// This is the seam between Imaging and the trainers above it: `DataLoader` and
/// `ArrayBatchSource` conform. Imaging does not import NN; the NN module, whose GAN trainer
/// defines the batch-source protocol it accepts, makes these types conform to it (a method
/// forwarding to `nextBatch()`).
public protocol ImageBatchSource {
    /// The next batch, or `nil` when the source is exhausted (an endless source never returns
    /// `nil`). Throws the errors of decoding (for example `ImagingError.corruptPNG` naming a file).
    mutating func nextBatch() throws -> ImageBatch?
}

/// A batch source over batches already in memory, in order (for tests and small experiments).
public struct ArrayBatchSource: ImageBatchSource, Sendable {
    /// The batches still to come.
    public var remaining: ArraySlice<ImageBatch>

    /// A source yielding `batches` once, in order.
    public init(_ batches: [ImageBatch]) { remaining = batches[...] }

    /// The next batch in the array, or `nil` after the last.
    public mutating func nextBatch() -> ImageBatch? { remaining.popFirst() }
}

/// The order in which a data loader visits a data set.
public enum BatchOrder: Sendable {
    /// Index order, the same every epoch.
    case sequential
    /// A new permutation every epoch, drawn from this generator (for example `generator.split()`
    /// of the run's generator, or `SeededGenerator(seed: 0)`). The same generator state gives the
    /// same batches on every machine, however fast decoding runs.
    case shuffled(SeededGenerator)
}

/// The deterministic plan of a loader: which indices go into which batch, epoch after epoch.
struct BatchPlan: Sendable {
    let count: Int
    let batchSize: Int
    let dropLast: Bool
    let epochs: Int?
    var generator: SeededGenerator?
    var epoch = 0
    var permutation: [Int] = []
    var position = 0

    init(count: Int, batchSize: Int, dropLast: Bool, epochs: Int?, order: BatchOrder) {
        self.count = count
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.epochs = epochs
        if case let .shuffled(generator) = order { self.generator = generator }
        startEpoch()
    }

    /// Batches in one epoch.
    var batchesPerEpoch: Int { dropLast ? count / batchSize : (count + batchSize - 1) / batchSize }

    private mutating func startEpoch() {
        permutation = Array(0..<count)
        position = 0
        guard var generator else { return }
        // Fisher–Yates with our own bounded draw, so the permutation does not depend on the
        // standard library's implementation of shuffle().
        for i in stride(from: count - 1, to: 0, by: -1) {
            permutation.swapAt(i, uniformIndex(below: i + 1, using: &generator))
        }
        self.generator = generator
    }

    /// The next batch's epoch and indices, or `nil` after the last epoch.
    mutating func next() -> (epoch: Int, indices: [Int])? {
        if let epochs, epoch >= epochs { return nil }
        let remaining = count - position
        if remaining == 0 || (dropLast && remaining < batchSize) {
            epoch += 1
            if let epochs, epoch >= epochs { return nil }
            startEpoch()
        }
        let size = min(batchSize, count - position)
        defer { position += size }
        return (epoch, Array(permutation[position..<position + size]))
    }
}

/// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection: unbiased).
func uniformIndex(below bound: Int, using generator: inout SeededGenerator) -> Int {
    precondition(bound > 0)
    let range = UInt64(bound)
    var product = generator.next().multipliedFullWidth(by: range)
    if product.low < range {
        let threshold = (0 &- range) % range
        while product.low < threshold { product = generator.next().multipliedFullWidth(by: range) }
    }
    return Int(product.high)
}
