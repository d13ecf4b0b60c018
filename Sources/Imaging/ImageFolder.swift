import Foundation
import Tensor

/// The images in a folder and all its subfolders, decoded on demand.
///
/// Files whose extension is `.png`, `.jpg` or `.jpeg` (any case) are images; they are ordered by
/// their path relative to the folder, compared byte by byte in UTF-8 (Python's `sorted` order),
/// so the order is the same on every machine. Other files are skipped with
/// `ImagingWarning.skippedNonImage`, except `dataset.json` at the top, which holds labels in
/// StyleGAN's `dataset_tool` format: `{"labels": [["00000/img00000000.png", 6], ...]}` (or
/// `"labels": null`). Only the list of paths is kept in memory, so a folder larger than memory
/// is fine.
public struct ImageFolder: ImageDataset {
    /// The folder.
    public let root: URL
    /// The images' paths relative to `root`, in order.
    public let relativePaths: [String]
    /// One label per image from `dataset.json`, or `nil` when there is none.
    public let labels: [Int]?

    /// The name of the optional label file at the top of a folder.
    public static let labelFileName = "dataset.json"

    /// Lists the images under `root`.
    /// - Parameter warnings: receives one `skippedNonImage` per file that is not an image.
    /// - Throws: `ImagingError.unreadableFile` when `root` is not a readable folder,
    ///   `.invalidLabels` when `dataset.json` is malformed or misses an image.
    public init(_ root: URL, warnings: ImagingWarningHandler = ImagingWarning.printToStandardError) throws(ImagingError) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw .unreadableFile(path: root.path, reason: "no such folder")
        }
        guard let enumerator = FileManager.default.enumerator(atPath: root.path) else {
            throw .unreadableFile(path: root.path, reason: "cannot list the folder")
        }
        var images: [String] = []
        var skipped: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let url = root.appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            if ImageFormat(pathExtension: url.pathExtension) != nil {
                images.append(relative)
            } else if relative != Self.labelFileName {
                skipped.append(relative)
            }
        }
        let utf8Order: (String, String) -> Bool = { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        images.sort(by: utf8Order)
        for relative in skipped.sorted(by: utf8Order) {
            warnings(.skippedNonImage(path: root.appendingPathComponent(relative).path))
        }
        self.root = root
        relativePaths = images
        labels = try Self.readLabels(root.appendingPathComponent(Self.labelFileName), for: images)
    }

    /// Reads `dataset.json` if it exists: one label for every image, or `nil`.
    private static func readLabels(_ file: URL, for images: [String]) throws(ImagingError) -> [Int]? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let data = try readFile(file)
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidLabels(path: file.path, reason: "not a JSON object")
        }
        if root["labels"] == nil || root["labels"] is NSNull { return nil }
        guard let pairs = root["labels"] as? [[Any]] else {
            throw .invalidLabels(path: file.path, reason: "\"labels\" is not a list of [path, label] pairs")
        }
        var byPath: [String: Int] = [:]
        for pair in pairs {
            guard pair.count == 2, let path = pair[0] as? String, let label = (pair[1] as? NSNumber)?.intValue else {
                throw .invalidLabels(path: file.path, reason: "entry \(pair) is not a [path, integer label] pair")
            }
            byPath[path] = label
        }
        return try images.map { path throws(ImagingError) in
            guard let label = byPath[path] else { throw .invalidLabels(path: file.path, reason: "no label for \(path)") }
            return label
        }
    }

    /// Number of images.
    public var count: Int { relativePaths.count }

    /// The file of the image at `index`.
    public func url(at index: Int) -> URL { root.appendingPathComponent(relativePaths[index]) }

    /// Reads and decodes the image at `index` with its own channel count (see `ImageFile`).
    /// - Throws: `ImagingError` naming the file.
    public func image(at index: Int) throws -> Tensor { try ImageFile.read(contentsOf: url(at: index)) }

    /// The label of the image at `index` from `dataset.json`, or `nil` without one.
    public func label(at index: Int) -> Int? { labels?[index] }

    /// The path of the image at `index`, for messages.
    public func name(at index: Int) -> String { url(at: index).path }
}
