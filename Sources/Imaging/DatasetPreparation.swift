import Dispatch
import Foundation
import Tensor

/// Writes a folder of PNG images in the layout of StyleGAN's `dataset_tool`:
/// `00000/img00000000.png`, `00000/img00000001.png`, …, a subfolder per 1000 images, and
/// `dataset.json` with `{"labels": [["00000/img00000000.png", label], ...]}` (or `null`).
/// `ImageFolder` reads such a folder back with its labels.
public struct ImageDatasetWriter {
    /// The folder being written.
    public let directory: URL
    /// Images written so far.
    public private(set) var count = 0
    private var labels: [(String, Int)] = []
    private var labelled: Bool?

    /// The path of image `index` relative to the folder.
    public static func relativePath(forIndex index: Int) -> String {
        let folder = String(index / 1000), file = String(index)
        return String(repeating: "0", count: max(0, 5 - folder.count)) + folder + "/img"
            + String(repeating: "0", count: max(0, 8 - file.count)) + file + ".png"
    }

    /// Creates `directory` (and its parents) for writing.
    /// - Throws: `ImagingError.unwritableFile` when it cannot be created or is not empty.
    public init(directory: URL) throws(ImagingError) {
        let manager = FileManager.default
        if let existing = try? manager.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw .unwritableFile(path: directory.path, reason: "the folder exists and is not empty")
        }
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritableFile(path: directory.path, reason: reasonText(error))
        }
        self.directory = directory
    }

    /// Writes the next image, `[C, H, W]` in [0, 1], as an 8-bit PNG.
    /// - Parameter label: the image's class; either every image has one or none has.
    public mutating func append(_ image: Tensor, label: Int?) throws(ImagingError) {
        try append(encoded: PNG.encode(image), label: label)
    }

    /// Writes the next image from its already encoded PNG data.
    public mutating func append(encoded png: Data, label: Int?) throws(ImagingError) {
        if labelled == nil { labelled = label != nil }
        guard labelled == (label != nil) else {
            throw .invalidArgument("image \(count) \(label == nil ? "lacks a label" : "has a label"), unlike the images before it")
        }
        let relative = Self.relativePath(forIndex: count)
        if count % 1000 == 0 {
            let folder = directory.appendingPathComponent(String(relative.prefix(5)))
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw .unwritableFile(path: folder.path, reason: reasonText(error))
            }
        }
        try writeFile(png, to: directory.appendingPathComponent(relative))
        if let label { labels.append((relative, label)) }
        count += 1
    }

    /// Writes `dataset.json`. Call once, after the last image.
    public func finish() throws(ImagingError) {
        let object: [String: Any] = ["labels": labelled == true ? labels.map { [$0.0, $0.1] as [Any] } : NSNull()]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            throw .invalidArgument("labels cannot be written as JSON")
        }
        try writeFile(data, to: directory.appendingPathComponent(ImageFolder.labelFileName))
    }
}

/// Turning image collections into training folders (`gfp data prepare`, `gfp data import-fashion-mnist`).
public enum DatasetPreparation {
    /// What a preparation did.
    public struct Summary: Sendable, Hashable {
        /// Images written.
        public var written: Int
        /// Corrupt images left out (with `onCorruptImage: .skip`).
        public var skippedCorrupt: Int

        /// A summary of `written` images and `skippedCorrupt` skipped ones.
        public init(written: Int, skippedCorrupt: Int) {
            self.written = written
            self.skippedCorrupt = skippedCorrupt
        }
    }

    /// Converts every image under `source` (recursively, in `ImageFolder` order) with
    /// `preprocessing` and writes them to `destination` as 8-bit PNGs in `ImageDatasetWriter`'s
    /// layout: the equivalent of StyleGAN's `dataset_tool.py`. Labels in the source's
    /// `dataset.json` are carried over.
    /// - Parameter maxImages: stop after writing this many.
    /// - Throws: `ImagingError` naming the file at fault.
    public static func prepare(from source: URL, to destination: URL, preprocessing: Preprocessing,
                               maxImages: Int? = nil, onCorruptImage: CorruptImagePolicy = .fail,
                               warnings: @escaping ImagingWarningHandler = ImagingWarning.printToStandardError,
                               progress: ((Int) -> Void)? = nil) throws -> Summary {
        let folder = try ImageFolder(source, warnings: warnings)
        guard folder.count > 0 else { throw ImagingError.emptyDataset(path: source.path) }
        return try export(folder, to: destination, preprocessing: preprocessing, maxImages: maxImages,
                          onCorruptImage: onCorruptImage, warnings: warnings, progress: progress)
    }

    /// Writes a Fashion-MNIST split with its labels to `destination` (see `ImageDatasetWriter`),
    /// padded with black to `padTo` × `padTo` when given (32 for the usual GAN set-up) and
    /// converted to `channels` (1 keeps gray; 3 repeats it).
    public static func importFashionMNIST(_ split: FashionMNIST.Split, to destination: URL, padTo: Int? = nil,
                                          channels: Int = 1, maxImages: Int? = nil,
                                          directory: URL = FashionMNIST.defaultDirectory,
                                          progress: ((Int) -> Void)? = nil) throws -> Summary {
        let dataset = try FashionMNIST.load(split, directory: directory)
        var preprocessing = Preprocessing(channels: channels)
        if let padTo { preprocessing.steps = [.pad(Size2D(padTo, padTo))] }
        return try export(dataset, to: destination, preprocessing: preprocessing, maxImages: maxImages, progress: progress)
    }

    /// Writes the images of any data set, preprocessed, to `destination` (see `ImageDatasetWriter`).
    /// Decoding, preprocessing and PNG encoding run on all cores; files are written in order.
    public static func export(_ dataset: some ImageDataset, to destination: URL, preprocessing: Preprocessing,
                              maxImages: Int? = nil, onCorruptImage: CorruptImagePolicy = .fail,
                              warnings: @escaping ImagingWarningHandler = ImagingWarning.printToStandardError,
                              progress: ((Int) -> Void)? = nil) throws -> Summary {
        if let maxImages, maxImages < 0 { throw ImagingError.invalidArgument("maxImages must not be negative") }
        var writer = try ImageDatasetWriter(directory: destination)
        let limit = min(maxImages ?? dataset.count, dataset.count)
        let chunkSize = 64
        var next = 0
        var skipped = 0
        while writer.count < limit, next < dataset.count {
            let indices = Array(next..<min(dataset.count, next + min(chunkSize, limit - writer.count)))
            next = indices.last! + 1
            let results = encodeConcurrently(dataset, indices: indices, preprocessing: preprocessing)
            for (index, result) in zip(indices, results) {
                switch result {
                case let .success(png):
                    try writer.append(encoded: png, label: dataset.label(at: index))
                case let .failure(error as ImagingError) where onCorruptImage == .skip && error.isCorruptImage:
                    warnings(.skippedCorruptImage(path: dataset.name(at: index), error: error))
                    skipped += 1
                case let .failure(error):
                    throw error
                }
            }
            progress?(writer.count)
        }
        try writer.finish()
        return Summary(written: writer.count, skippedCorrupt: skipped)
    }

    /// Loads, preprocesses and PNG-encodes `indices` of `dataset` on all cores.
    private static func encodeConcurrently(_ dataset: some ImageDataset, indices: [Int],
                                           preprocessing: Preprocessing) -> [Result<Data, any Error>] {
        let slots = UnsafeMutableBufferPointer<Result<Data, any Error>?>.allocate(capacity: indices.count)
        slots.initialize(repeating: nil)
        defer { slots.deallocate() }
        nonisolated(unsafe) let output = slots
        DispatchQueue.concurrentPerform(iterations: indices.count) { position in
            output[position] = Result { try PNG.encode(preprocessing.apply(dataset.image(at: indices[position]))) }
        }
        return slots.map { $0! }
    }
}
