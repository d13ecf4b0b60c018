import Tensor

/// A finite, indexable collection of images, each `[C, H, W]` in [0, 1], optionally labelled.
///
/// The data loader reads a data set from its background thread, so conformers are `Sendable`
/// and `image(at:)` must be safe to call concurrently with itself. `ImageFolder` decodes files
/// on demand (so a folder larger than memory is fine); `InMemoryImageDataset` holds 8-bit pixels.
public protocol ImageDataset: Sendable {
    /// Number of images.
    var count: Int { get }
    /// The image at `index` (`0..<count`), before any `Preprocessing`.
    func image(at index: Int) throws -> Tensor
    /// The class label of the image at `index`, or `nil` for an unlabelled data set.
    func label(at index: Int) -> Int?
    /// A name for the image at `index` in warnings and errors (a file path, or "name[index]").
    func name(at index: Int) -> String
}

/// Images held in memory as 8-bit samples, `[count, C, H, W]` (planar), with optional labels:
/// MNIST and Fashion-MNIST load into this (47 MB for the 60,000 training images, which become
/// Float32 only batch by batch).
public struct InMemoryImageDataset: ImageDataset, Equatable {
    /// The shape of every image, `[C, H, W]`.
    public let imageShape: [Int]
    /// Number of images.
    public let count: Int
    /// The class labels, one per image, or `nil`.
    public let labels: [Int]?
    /// A name for messages ("fashion-mnist/train").
    public let dataSetName: String
    let pixels: ArraySlice<UInt8>

    /// Wraps `pixels`, `count · C · H · W` samples in image-major, channel-major order.
    /// - Throws: `ImagingError.invalidArgument` when the sizes do not agree.
    public init(pixels: ArraySlice<UInt8>, imageShape: [Int], labels: [Int]?, name: String = "images") throws(ImagingError) {
        guard imageShape.count == 3, imageShape.allSatisfy({ $0 > 0 }) else {
            throw .invalidArgument("image shape \(imageShape) is not [channels, height, width]")
        }
        let size = imageShape.reduce(1, *)
        guard pixels.count % size == 0 else {
            throw .invalidArgument("\(pixels.count) samples are not a whole number of \(imageShape) images")
        }
        let count = pixels.count / size
        if let labels, labels.count != count {
            throw .invalidArgument("\(labels.count) labels for \(count) images")
        }
        self.imageShape = imageShape
        self.count = count
        self.labels = labels
        self.pixels = pixels
        dataSetName = name
    }

    /// The image at `index` as `[C, H, W]` in [0, 1] (`v / 255`).
    public func image(at index: Int) -> Tensor {
        precondition(index >= 0 && index < count, "image index \(index) out of range 0..<\(count)")
        return images(index..<index + 1).reshaped(to: imageShape)
    }

    /// The label of the image at `index`, or `nil` for an unlabelled set.
    public func label(at index: Int) -> Int? { labels?[index] }

    /// "name[index]", for messages.
    public func name(at index: Int) -> String { "\(dataSetName)[\(index)]" }

    /// The images in `range` as one tensor `[range.count, C, H, W]` in [0, 1].
    public func images(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "image range \(range) out of 0..<\(count)")
        let size = imageShape.reduce(1, *)
        return pixels.withUnsafeBufferPointer { samples in
            planarImage(planar: samples.baseAddress! + range.lowerBound * size, shape: [range.count] + imageShape)
        }
    }

    /// All images as one tensor `[count, C, H, W]` in [0, 1].
    public func allImages() -> Tensor { images(0..<count) }
}
