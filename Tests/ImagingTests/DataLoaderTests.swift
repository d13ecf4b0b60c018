import Foundation
import Imaging
import Tensor
import XCTest

/// A data set that takes a random, unseeded time per image: batches must not depend on it.
struct JitteryDataset: ImageDataset {
    let base: InMemoryImageDataset
    let reads: ReadCounter
    var count: Int { base.count }
    func image(at index: Int) throws -> Tensor {
        reads.increment()
        usleep(UInt32.random(in: 0...1500))
        return base.image(at: index)
    }
    func label(at index: Int) -> Int? { base.label(at: index) }
    func name(at index: Int) -> String { base.name(at: index) }
}

final class ReadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

final class DataLoaderTests: XCTestCase {
    func fixtureDataset() throws -> InMemoryImageDataset {
        try MNIST.load(images: Fixtures.url("idx/t10k-100-images-idx3-ubyte.gz"),
                       labels: Fixtures.url("idx/t10k-100-labels-idx1-ubyte.gz"))
    }

    func drain(_ loader: DataLoader) throws -> [ImageBatch] {
        var batches: [ImageBatch] = []
        while let batch = try loader.nextBatch() { batches.append(batch) }
        return batches
    }

    func testSequentialBatchesHoldTheRightImagesAndLabels() throws {
        let dataset = try fixtureDataset()
        let loader = try DataLoader(dataset, batchSize: 32, preprocessing: .pad(to: 32, channels: 3))
        XCTAssertEqual(loader.batchesPerEpoch, 4)
        let batches = try drain(loader)
        XCTAssertEqual(batches.map(\.images.shape), [[32, 3, 32, 32], [32, 3, 32, 32], [32, 3, 32, 32], [4, 3, 32, 32]])
        XCTAssertEqual(batches.flatMap(\.indices), Array(0..<100))
        XCTAssertEqual(batches.flatMap { $0.labels! }, dataset.labels!)
        let expected = try Preprocessing.pad(to: 32, channels: 3).apply(dataset.image(at: 37))
        XCTAssertEqual(batches[1].images.sliced(5..<6, alongAxis: 0).scalars, expected.scalars)
        XCTAssertNil(try loader.nextBatch(), "finished")
    }

    /// The same generator gives the same batches however long each image takes; every epoch
    /// visits every image once, in a new order.
    func testShuffledOrderIsDeterministicAndCoversEveryEpoch() throws {
        let dataset = try fixtureDataset()
        func run(seed: UInt64, jitter: Bool) throws -> [ImageBatch] {
            let source: any ImageDataset = jitter ? JitteryDataset(base: dataset, reads: ReadCounter()) : dataset
            return try drain(DataLoader(source, batchSize: 16, order: .shuffled(SeededGenerator(seed: seed)), epochs: 3,
                                        prefetch: 2))
        }
        let first = try run(seed: 42, jitter: false)
        let second = try run(seed: 42, jitter: true)
        XCTAssertEqual(first.map(\.indices), second.map(\.indices))
        XCTAssertEqual(first.map(\.images.scalars), second.map(\.images.scalars))
        XCTAssertNotEqual(first.map(\.indices), try run(seed: 43, jitter: false).map(\.indices))
        XCTAssertEqual(first.count, 3 * 7)
        var orders: [[Int]] = []
        for epoch in 0..<3 {
            let indices = first.filter { $0.epoch == epoch }.flatMap(\.indices)
            XCTAssertEqual(indices.sorted(), Array(0..<100), "epoch \(epoch) visits every image once")
            orders.append(indices)
        }
        XCTAssertNotEqual(orders[0], orders[1])
        XCTAssertNotEqual(orders[0], Array(0..<100))
    }

    func testDropLastAndEndlessEpochs() throws {
        let dataset = try fixtureDataset()
        let loader = try DataLoader(dataset, batchSize: 30, order: .shuffled(SeededGenerator(seed: 1)), epochs: nil,
                                    dropLast: true)
        XCTAssertEqual(loader.batchesPerEpoch, 3)
        var batches: [ImageBatch] = []
        for result in loader.prefix(10) { batches.append(try result.get()) }
        XCTAssertEqual(batches.map(\.images.shape[0]), Array(repeating: 30, count: 10))
        XCTAssertEqual(batches.map(\.epoch), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3])
        for epoch in 0..<3 {
            XCTAssertEqual(Set(batches.filter { $0.epoch == epoch }.flatMap(\.indices)).count, 90)
        }
        XCTAssertThrowsError(try DataLoader(dataset, batchSize: 101, dropLast: true))
        XCTAssertThrowsError(try DataLoader(dataset, batchSize: 0))
    }

    /// A resumed run starts its loader past the batches it trained on, without reading them.
    func testSkippingBatchesContinuesTheSameStreamWithoutReadingThem() throws {
        let counter = ReadCounter()
        let dataset = JitteryDataset(base: try fixtureDataset(), reads: counter)
        let whole = try DataLoader(try fixtureDataset(), batchSize: 30, order: .shuffled(SeededGenerator(seed: 4)),
                                   epochs: nil, dropLast: true)
        var expected: [ImageBatch] = []
        for result in whole.prefix(9) { expected.append(try result.get()) }
        // 7 batches skipped: across two epoch boundaries of 3 batches each.
        let resumed = try DataLoader(dataset, batchSize: 30, order: .shuffled(SeededGenerator(seed: 4)), epochs: nil,
                                     dropLast: true, prefetch: 1, skippingBatches: 7)
        for reference in expected[7...] {
            let batch = try XCTUnwrap(resumed.nextBatch())
            XCTAssertEqual(batch.indices, reference.indices)
            XCTAssertEqual(batch.epoch, reference.epoch)
            XCTAssertEqual(batch.images.scalars, reference.images.scalars)
        }
        XCTAssertLessThanOrEqual(counter.value, 5 * 30, "only the batches after the skipped ones were read")
        // Skipping past the end of a finite stream leaves nothing; a negative skip is refused.
        XCTAssertNil(try DataLoader(try fixtureDataset(), batchSize: 50, skippingBatches: 5).nextBatch())
        XCTAssertThrowsError(try DataLoader(try fixtureDataset(), batchSize: 50, skippingBatches: -1))
    }

    /// The loader reads ahead by at most `prefetch` batches and stops when dropped.
    func testReadAheadIsBoundedAndStopsWhenDropped() throws {
        let counter = ReadCounter()
        let dataset = JitteryDataset(base: try fixtureDataset(), reads: counter)
        var loader: DataLoader? = try DataLoader(dataset, batchSize: 5, epochs: nil, prefetch: 2)
        _ = try loader!.nextBatch()
        usleep(300_000)
        // One batch taken, two waiting, one being built: at most 4 × 5 reads.
        XCTAssertLessThanOrEqual(counter.value, 20)
        XCTAssertGreaterThanOrEqual(counter.value, 15)
        loader = nil
        usleep(100_000)
        let afterDrop = counter.value
        usleep(200_000)
        XCTAssertEqual(counter.value, afterDrop, "the thread stopped")
    }

    func testImageFolderListingWarningsLabelsAndCorruptFiles() throws {
        let root = try Fixtures.temporaryFolder(self)
        let manager = FileManager.default
        try manager.createDirectory(at: root.appendingPathComponent("b/c"), withIntermediateDirectories: true)
        try manager.createDirectory(at: root.appendingPathComponent("a"), withIntermediateDirectories: true)
        let images = ["a/1.PNG", "a/2.jpeg", "b/c/3.Jpg", "b/0.png", "z.png"]
        for (n, name) in images.enumerated() {
            let image = randomImage([3, 8 + n, 10], seed: UInt64(n))
            try ImageFile.write(image, to: root.appendingPathComponent(name))
        }
        try Data("notes".utf8).write(to: root.appendingPathComponent("b/readme.txt"))
        let collected = WarningLog()
        let folder = try ImageFolder(root, warnings: collected.handler)
        XCTAssertEqual(folder.relativePaths, ["a/1.PNG", "a/2.jpeg", "b/0.png", "b/c/3.Jpg", "z.png"])
        XCTAssertEqual(collected.warnings, [.skippedNonImage(path: root.appendingPathComponent("b/readme.txt").path)])
        XCTAssertNil(folder.labels)

        // A corrupt image fails the loader with its path, after the batches before it.
        try Fixtures.data("png/rgb8.png").prefix(60).write(to: root.appendingPathComponent("b/0.png"))
        let preprocessing = Preprocessing.resizeAndCenterCrop(resolution: 6)
        let failing = try DataLoader(ImageFolder(root, warnings: ImagingWarning.ignore), batchSize: 2,
                                     preprocessing: preprocessing)
        XCTAssertEqual(try failing.nextBatch()?.indices, [0, 1])
        XCTAssertThrowsError(try failing.nextBatch()) { error in
            guard case let ImagingError.corruptPNG(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, root.appendingPathComponent("b/0.png").path)
        }
        XCTAssertNil(try failing.nextBatch())

        // Skipped when asked, with a warning.
        let log = WarningLog()
        let skipping = try DataLoader(ImageFolder(root, warnings: ImagingWarning.ignore), batchSize: 2,
                                      preprocessing: preprocessing, onCorruptImage: .skip, warnings: log.handler)
        let batches = try drain(skipping)
        XCTAssertEqual(batches.map(\.indices), [[0, 1], [3], [4]])
        XCTAssertEqual(batches[0].images.shape, [2, 3, 6, 6])
        XCTAssertEqual(log.warnings.count, 1)

        // Shapes that differ after preprocessing are an error.
        let mixed = try DataLoader(ImageFolder(root, warnings: ImagingWarning.ignore), batchSize: 5, onCorruptImage: .skip,
                                   warnings: ImagingWarning.ignore)
        XCTAssertThrowsError(try mixed.nextBatch()) { error in
            guard case ImagingError.inconsistentImageShape = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ImageFolder(root.appendingPathComponent("missing")))
    }
}

/// Collects warnings from any thread.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ImagingWarning] = []
    var warnings: [ImagingWarning] { lock.lock(); defer { lock.unlock() }; return list }
    var handler: ImagingWarningHandler { { warning in self.lock.lock(); self.list.append(warning); self.lock.unlock() } }
}
