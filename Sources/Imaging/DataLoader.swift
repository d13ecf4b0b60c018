import Dispatch
import Foundation
import Tensor

/// Batches of preprocessed images from a data set, decoded ahead of time on a background thread.
///
/// ```swift
/// var generator = SeededGenerator(seed: 1)
/// let loader = try DataLoader(ImageFolder(url), batchSize: 32, order: .shuffled(generator.split()),
///                             epochs: nil, preprocessing: .resizeAndCenterCrop(resolution: 64))
/// while let batch = try loader.nextBatch() { train(on: batch.images) }   // [32, 3, 64, 64]
/// ```
///
/// - **Order.** Which images make up each batch is fixed by `order` alone: one background thread
///   builds the batches strictly in order, so the same generator gives the same batches however
///   long decoding takes. Each epoch visits every image once, in a fresh permutation when shuffled.
/// - **Memory.** At most `prefetch` finished batches wait in the queue, plus the one being built
///   and the one the caller holds; images are read from the data set one at a time, so a folder
///   larger than memory streams.
/// - **Threads.** The decoding thread is the machine's second core's work while training uses
///   both through oneDNN; it runs only Imaging's own loops (no OpenMP). Dropping the loader stops
///   the thread after the batch it is building.
/// - **Errors.** A corrupt image stops the loader with its typed error naming the file (after the
///   batches before it), or, with `onCorruptImage: .skip`, is reported as a warning and left out,
///   making that batch smaller. Images whose shapes differ after preprocessing are an error.
public final class DataLoader: ImageBatchSource, Sequence {
    /// Batches in one epoch (the last one smaller unless `dropLast`).
    public let batchesPerEpoch: Int
    /// Images per batch.
    public let batchSize: Int
    private let queue: BatchQueue
    private var finished = false

    /// Starts loading `dataset`.
    /// - Parameters:
    ///   - batchSize: images per batch.
    ///   - order: `.sequential` or `.shuffled(generator)`.
    ///   - epochs: passes over the data set; `nil` for an endless stream (GAN training).
    ///   - dropLast: leave out the last batch of an epoch when it is smaller than `batchSize`.
    ///   - preprocessing: applied to every image (channels, resize, crop, pad).
    ///   - onCorruptImage: `.fail` (throw, the default) or `.skip` (warn and leave out).
    ///   - prefetch: finished batches that may wait in the queue (at least 1).
    ///   - skippingBatches: planned batches to pass over without reading their images, as a
    ///     resumed training run does: the first batch returned is the one an uninterrupted
    ///     loader would return after that many (unless `onCorruptImage: .skip` dropped whole
    ///     batches among them, which a reading loader would not have counted).
    ///   - warnings: receives `skippedCorruptImage` warnings, on the loader's thread.
    /// - Throws: `ImagingError.invalidArgument` for an empty data set, a batch size below 1, a
    ///   negative skip, or `dropLast` with fewer images than one batch.
    public init(_ dataset: some ImageDataset, batchSize: Int, order: BatchOrder = .sequential, epochs: Int? = 1,
                dropLast: Bool = false, preprocessing: Preprocessing = Preprocessing(),
                onCorruptImage: CorruptImagePolicy = .fail, prefetch: Int = 4, skippingBatches: Int = 0,
                warnings: @escaping ImagingWarningHandler = ImagingWarning.printToStandardError) throws(ImagingError) {
        guard batchSize >= 1 else { throw .invalidArgument("batch size \(batchSize) must be at least 1") }
        guard dataset.count > 0 else { throw .invalidArgument("the data set holds no images") }
        guard epochs.map({ $0 >= 0 }) ?? true else { throw .invalidArgument("epochs must not be negative") }
        guard prefetch >= 1 else { throw .invalidArgument("prefetch \(prefetch) must be at least 1") }
        guard skippingBatches >= 0 else { throw .invalidArgument("cannot skip \(skippingBatches) batches") }
        var plan = BatchPlan(count: dataset.count, batchSize: batchSize, dropLast: dropLast, epochs: epochs, order: order)
        guard plan.batchesPerEpoch > 0 else {
            throw .invalidArgument("dropLast with \(dataset.count) images and batches of \(batchSize) leaves no batch")
        }
        for _ in 0..<skippingBatches {
            guard plan.next() != nil else { break }   // a finite stream can end among them
        }
        self.batchSize = batchSize
        batchesPerEpoch = plan.batchesPerEpoch
        queue = BatchQueue(capacity: prefetch)
        let producer = BatchProducer(dataset: dataset, plan: plan, preprocessing: preprocessing,
                                     onCorruptImage: onCorruptImage, warnings: warnings, queue: queue)
        let thread = Thread { producer.run() }
        thread.name = "gfp.DataLoader"
        thread.start()
    }

    deinit { queue.cancel() }

    /// The next batch, or `nil` after the last epoch. Blocks until the background thread has it.
    /// - Throws: the data set's error for the first image that failed to load (then the loader
    ///   is finished and returns `nil`).
    public func nextBatch() throws -> ImageBatch? {
        guard !finished else { return nil }
        switch queue.take() {
        case let .batch(batch):
            return batch
        case let .failure(error):
            finished = true
            throw error
        case .end:
            finished = true
            return nil
        }
    }

    /// Iterates over the remaining batches; an error ends the iteration as its last element.
    public func makeIterator() -> Iterator { Iterator(loader: self) }

    /// The loader's batches as `Result`s (Swift's `for` loops cannot throw from a sequence):
    /// `for result in loader { let batch = try result.get() }`.
    public struct Iterator: IteratorProtocol {
        let loader: DataLoader

        /// The next batch, the error that ended the loader, or `nil` after the last batch.
        public mutating func next() -> Result<ImageBatch, any Error>? {
            do {
                return try loader.nextBatch().map { .success($0) }
            } catch {
                return .failure(error)
            }
        }
    }
}

/// What the loader's thread hands over.
enum LoaderItem: Sendable {
    case batch(ImageBatch)
    case failure(any Error)
    case end
}

/// A bounded first-in first-out queue between one producer and one consumer thread.
final class BatchQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [LoaderItem] = []
    private var head = 0
    private var cancelled = false
    private let filled = DispatchSemaphore(value: 0)
    private let free = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        // Signalled up rather than created with `value: capacity`: libdispatch traps when a
        // semaphore is destroyed below its initial value, as `free` is when the consumer goes
        // while batches wait.
        for _ in 0..<capacity { free.signal() }
    }

    /// Waits for room and appends `item`; false when the consumer has gone.
    func put(_ item: LoaderItem) -> Bool {
        free.wait()
        lock.lock()
        defer { lock.unlock() }
        if cancelled { return false }
        items.append(item)
        filled.signal()
        return true
    }

    /// Waits for an item and removes it.
    func take() -> LoaderItem {
        filled.wait()
        lock.lock()
        let item = items[head]
        head += 1
        if head > 64, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        lock.unlock()
        free.signal()
        return item
    }

    /// Tells the producer to stop at its next `put`.
    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
        free.signal()
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}

/// The loader's background work: decode, preprocess and stack batches in plan order.
final class BatchProducer: @unchecked Sendable {
    let dataset: any ImageDataset
    var plan: BatchPlan
    let preprocessing: Preprocessing
    let onCorruptImage: CorruptImagePolicy
    let warnings: ImagingWarningHandler
    let queue: BatchQueue

    init(dataset: any ImageDataset, plan: BatchPlan, preprocessing: Preprocessing, onCorruptImage: CorruptImagePolicy,
         warnings: @escaping ImagingWarningHandler, queue: BatchQueue) {
        self.dataset = dataset
        self.plan = plan
        self.preprocessing = preprocessing
        self.onCorruptImage = onCorruptImage
        self.warnings = warnings
        self.queue = queue
    }

    func run() {
        while let (epoch, indices) = plan.next() {
            if queue.isCancelled { return }
            do {
                // nil: every image of the batch was skipped as corrupt.
                guard let batch = try makeBatch(epoch: epoch, indices: indices) else { continue }
                guard queue.put(.batch(batch)) else { return }
            } catch {
                _ = queue.put(.failure(error))
                return
            }
        }
        _ = queue.put(.end)
    }

    /// One batch, or `nil` when every image in it was skipped as corrupt.
    func makeBatch(epoch: Int, indices: [Int]) throws -> ImageBatch? {
        var images: [Tensor] = []
        var kept: [Int] = []
        images.reserveCapacity(indices.count)
        for index in indices {
            let image: Tensor
            do {
                image = try dataset.image(at: index)
            } catch let error as ImagingError where onCorruptImage == .skip && error.isCorruptImage {
                warnings(.skippedCorruptImage(path: dataset.name(at: index), error: error))
                continue
            }
            let prepared = try preprocessing.apply(image)
            if let first = images.first, first.shape != prepared.shape {
                throw ImagingError.inconsistentImageShape(path: dataset.name(at: index), expected: first.shape,
                                                          found: prepared.shape)
            }
            images.append(prepared)
            kept.append(index)
        }
        guard let first = images.first else { return nil }
        let size = first.count
        let stacked = Tensor(shape: [images.count] + first.shape) { out in
            for (n, image) in images.enumerated() {
                image.withUnsafeBufferPointer { (out.baseAddress! + n * size).update(from: $0.baseAddress!, count: size) }
            }
        }
        let labels = dataset.label(at: kept[0]) == nil ? nil : kept.map { dataset.label(at: $0) ?? -1 }
        return ImageBatch(images: stacked, labels: labels, indices: kept, epoch: epoch)
    }
}

extension ImagingError {
    /// True for the errors of a file whose contents cannot be decoded (what `.skip` skips).
    var isCorruptImage: Bool {
        switch self {
        case .corruptPNG, .corruptJPEG, .unsupportedImage: return true
        default: return false
        }
    }
}
