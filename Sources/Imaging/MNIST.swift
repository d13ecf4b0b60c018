import Foundation

/// MNIST-format data sets: images in an IDX file of type `uint8` and shape `[N, H, W]`, labels
/// in one of shape `[N]` (each plain or gzip).
public enum MNIST {
    /// Loads images (one channel) and, when `labels` is given, their labels.
    /// - Throws: `ImagingError.unreadableFile` or `.corruptIDX` naming the file, also when the
    ///   files hold the wrong types or shapes or disagree on the number of images.
    public static func load(images: URL, labels: URL?, name: String = "mnist") throws(ImagingError) -> InMemoryImageDataset {
        let pictures = try IDXArray.read(contentsOf: images)
        guard let pixels = pictures.bytes, pictures.shape.count == 3 else {
            throw .corruptIDX(path: images.path, reason: "expected uint8 images of shape [count, height, width], found "
                              + "\(pictures.elementType) \(pictures.shape)")
        }
        var classes: [Int]?
        if let labels {
            let array = try IDXArray.read(contentsOf: labels)
            guard let values = array.bytes, array.shape.count == 1 else {
                throw .corruptIDX(path: labels.path, reason: "expected uint8 labels of shape [count], found "
                                  + "\(array.elementType) \(array.shape)")
            }
            guard array.shape[0] == pictures.shape[0] else {
                throw .corruptIDX(path: labels.path, reason: "\(array.shape[0]) labels for the \(pictures.shape[0]) images of \(images.path)")
            }
            classes = values.map(Int.init)
        }
        return try InMemoryImageDataset(pixels: pixels, imageShape: [1, pictures.shape[1], pictures.shape[2]],
                                        labels: classes, name: name)
    }
}

/// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 70,000 gray 28 × 28 pictures of clothing in
/// ten classes, as installed by Debian's `dataset-fashion-mnist` package.
public enum FashionMNIST {
    /// The two published splits.
    public enum Split: String, Sendable, Hashable, CaseIterable {
        /// 60,000 images (`train-*-ubyte.gz`).
        case train
        /// 10,000 images (`t10k-*-ubyte.gz`).
        case test

        /// The file name prefix of the split.
        public var filePrefix: String { self == .train ? "train" : "t10k" }
        /// The number of images in the split.
        public var count: Int { self == .train ? 60_000 : 10_000 }
    }

    /// Where Debian's `dataset-fashion-mnist` installs the files.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// The class names, by label.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The images file of `split` in `directory`.
    public static func imagesURL(_ split: Split, directory: URL = defaultDirectory) -> URL {
        directory.appendingPathComponent("\(split.filePrefix)-images-idx3-ubyte.gz")
    }

    /// The labels file of `split` in `directory`.
    public static func labelsURL(_ split: Split, directory: URL = defaultDirectory) -> URL {
        directory.appendingPathComponent("\(split.filePrefix)-labels-idx1-ubyte.gz")
    }

    /// Loads `split` with its labels: `[1, 28, 28]` images in [0, 1].
    /// - Throws: `ImagingError.unreadableFile` (with a hint to install the Debian package) when
    ///   the files are missing, `.corruptIDX` when they are damaged.
    public static func load(_ split: Split, directory: URL = defaultDirectory) throws(ImagingError) -> InMemoryImageDataset {
        let images = imagesURL(split, directory: directory), labels = labelsURL(split, directory: directory)
        for file in [images, labels] where !FileManager.default.fileExists(atPath: file.path) {
            throw .unreadableFile(path: file.path, reason: "no such file (install the Debian package dataset-fashion-mnist, "
                                  + "e.g. with `make deps`)")
        }
        return try MNIST.load(images: images, labels: labels, name: "fashion-mnist/\(split.rawValue)")
    }
}
