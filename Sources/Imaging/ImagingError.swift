import Foundation

/// The errors of the Imaging module.
///
/// Every case about a file names it in `path`; data decoded from memory carries `path == nil`
/// until a caller that knows the file attaches it with `naming(_:)`.
public enum ImagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file or folder could not be read (missing, not permitted, I/O error).
    case unreadableFile(path: String, reason: String)
    /// A file or folder could not be written.
    case unwritableFile(path: String, reason: String)
    /// PNG data that is truncated, garbled or not PNG at all.
    case corruptPNG(path: String?, reason: String)
    /// JPEG data that is truncated, garbled or not JPEG at all.
    case corruptJPEG(path: String?, reason: String)
    /// An IDX file (MNIST format, plain or gzip) that is truncated, garbled or inconsistent.
    case corruptIDX(path: String?, reason: String)
    /// Data in no supported format, or a kind Imaging does not decode (CMYK JPEG).
    case unsupportedImage(path: String?, reason: String)
    /// An image tensor unfit for the operation (rank, channel count, empty extent).
    case invalidImage(shape: [Int], reason: String)
    /// An image whose preprocessed shape differs from the others in its batch.
    case inconsistentImageShape(path: String?, expected: [Int], found: [Int])
    /// A label file (`dataset.json`) that does not match the images beside it.
    case invalidLabels(path: String, reason: String)
    /// A folder or data set that holds no image.
    case emptyDataset(path: String)
    /// An argument outside its valid range.
    case invalidArgument(String)

    /// The same error naming `path`, for errors raised on in-memory data read from that file.
    public func naming(_ path: String) -> ImagingError {
        switch self {
        case .corruptPNG(nil, let reason): return .corruptPNG(path: path, reason: reason)
        case .corruptJPEG(nil, let reason): return .corruptJPEG(path: path, reason: reason)
        case .corruptIDX(nil, let reason): return .corruptIDX(path: path, reason: reason)
        case .unsupportedImage(nil, let reason): return .unsupportedImage(path: path, reason: reason)
        case let .inconsistentImageShape(nil, expected, found):
            return .inconsistentImageShape(path: path, expected: expected, found: found)
        default: return self
        }
    }

    /// The file the error is about, if any.
    public var path: String? {
        switch self {
        case let .unreadableFile(path, _), let .unwritableFile(path, _), let .invalidLabels(path, _),
             let .emptyDataset(path):
            return path
        case let .corruptPNG(path, _), let .corruptJPEG(path, _), let .corruptIDX(path, _),
             let .unsupportedImage(path, _), let .inconsistentImageShape(path, _, _):
            return path
        case .invalidImage, .invalidArgument:
            return nil
        }
    }

    public var description: String {
        func file(_ path: String?) -> String { path.map { " \($0)" } ?? " (in memory)" }
        switch self {
        case let .unreadableFile(path, reason): return "cannot read \(path): \(reason)"
        case let .unwritableFile(path, reason): return "cannot write \(path): \(reason)"
        case let .corruptPNG(path, reason): return "corrupt PNG\(file(path)): \(reason)"
        case let .corruptJPEG(path, reason): return "corrupt JPEG\(file(path)): \(reason)"
        case let .corruptIDX(path, reason): return "corrupt IDX file\(file(path)): \(reason)"
        case let .unsupportedImage(path, reason): return "unsupported image\(file(path)): \(reason)"
        case let .invalidImage(shape, reason): return "invalid image of shape \(shape): \(reason)"
        case let .inconsistentImageShape(path, expected, found):
            return "image\(file(path)) has shape \(found) after preprocessing; the batch expects \(expected)"
        case let .invalidLabels(path, reason): return "invalid labels in \(path): \(reason)"
        case let .emptyDataset(path): return "no images in \(path)"
        case let .invalidArgument(message): return message
        }
    }
}

/// Something Imaging skipped instead of failing.
public enum ImagingWarning: Sendable, Equatable, CustomStringConvertible {
    /// A file in an image folder whose extension is not .png, .jpg or .jpeg (any case).
    case skippedNonImage(path: String)
    /// An image that failed to decode, skipped because the caller asked for `.skip`.
    case skippedCorruptImage(path: String, error: ImagingError)

    public var description: String {
        switch self {
        case let .skippedNonImage(path): return "warning: skipping \(path): not a .png, .jpg or .jpeg file"
        case let .skippedCorruptImage(path, error): return "warning: skipping \(path): \(error)"
        }
    }

    /// A handler that prints each warning on standard error (the default of every API that warns).
    public static let printToStandardError: ImagingWarningHandler = { warning in
        FileHandle.standardError.write(Data((warning.description + "\n").utf8))
    }

    /// A handler that drops warnings.
    public static let ignore: ImagingWarningHandler = { _ in }
}

/// Receives the warnings of an Imaging call; may be called from the data loader's thread.
public typealias ImagingWarningHandler = @Sendable (ImagingWarning) -> Void

/// What to do with an image that fails to decode.
public enum CorruptImagePolicy: Sendable, Hashable {
    /// Throw the typed error naming the file (the default everywhere).
    case fail
    /// Report `ImagingWarning.skippedCorruptImage` and go on without the image.
    case skip
}

/// Reads a whole file, mapping Foundation's errors to `ImagingError.unreadableFile`.
func readFile(_ url: URL) throws(ImagingError) -> Data {
    do {
        return try Data(contentsOf: url)
    } catch {
        throw .unreadableFile(path: url.path, reason: reasonText(error))
    }
}

/// Writes a whole file atomically, mapping Foundation's errors to `ImagingError.unwritableFile`.
func writeFile(_ data: Data, to url: URL) throws(ImagingError) {
    do {
        try data.write(to: url, options: .atomic)
    } catch {
        throw .unwritableFile(path: url.path, reason: reasonText(error))
    }
}

/// A short reason for a Foundation error (its localized description without the file name
/// when Foundation adds one, as the error case names the file already).
func reasonText(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
       underlying.domain == NSPOSIXErrorDomain, let message = strerror(Int32(underlying.code)) {
        return String(cString: message)
    }
    return nsError.localizedDescription
}
