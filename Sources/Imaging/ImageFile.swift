import Foundation
import Tensor

/// The image file formats Imaging reads and writes.
public enum ImageFormat: String, Sendable, Hashable, CaseIterable {
    /// Portable Network Graphics (lossless, 8 or 16 bit).
    case png
    /// JPEG/JFIF (lossy, 8 bit).
    case jpeg

    /// The format a file name's extension promises: `.png`, `.jpg` or `.jpeg`, in any case.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        default: return nil
        }
    }

    /// The format of encoded data, from its first bytes (PNG signature or JPEG SOI marker).
    public init?(sniffing data: Data) {
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else {
            return nil
        }
    }
}

/// Reading and writing image files whatever their format.
public enum ImageFile {
    /// Decodes PNG or JPEG data, recognised by its first bytes, to `[C, H, W]` in [0, 1]
    /// (see `PNG` and `JPEG` for the channels each gives), converted to `channels` when given.
    /// - Throws: `ImagingError.unsupportedImage` for data in neither format, else the codec's errors.
    public static func decode(_ data: Data, channels: Int? = nil) throws(ImagingError) -> Tensor {
        switch ImageFormat(sniffing: data) {
        case .png: return try PNG.decode(data, channels: channels)
        case .jpeg: return try JPEG.decode(data, channels: channels)
        case nil:
            // Data named .png or .jpg that starts wrongly is reported as that format's corruption
            // by the callers that know the name; here the format is unknown.
            throw .unsupportedImage(path: nil, reason: data.isEmpty ? "empty file" : "neither a PNG nor a JPEG signature")
        }
    }

    /// Reads the image at `url`. The format is recognised from the data, so a JPEG named `.png`
    /// still decodes; data in neither format is reported as corrupt in the format the extension
    /// names (a truncated-to-nothing `.png` is a corrupt PNG).
    /// - Throws: `ImagingError` naming the file.
    public static func read(contentsOf url: URL, channels: Int? = nil) throws(ImagingError) -> Tensor {
        let data = try readFile(url)
        do throws(ImagingError) {
            if ImageFormat(sniffing: data) == nil, let promised = ImageFormat(pathExtension: url.pathExtension) {
                let reason = data.isEmpty ? "empty file" : "bad signature"
                throw promised == .png ? ImagingError.corruptPNG(path: nil, reason: reason)
                                       : ImagingError.corruptJPEG(path: nil, reason: reason)
            }
            return try decode(data, channels: channels)
        } catch {
            throw error.naming(url.path)
        }
    }

    /// Writes `image` `[C, H, W]` in the format its extension names: PNG (8-bit unless
    /// `pngBitDepth` says otherwise) or JPEG at `jpegQuality`.
    /// - Throws: `ImagingError.invalidArgument` for another extension, else the codec's errors.
    public static func write(_ image: Tensor, to url: URL, pngBitDepth: PNG.BitDepth = .eight,
                             jpegQuality: Int = 95) throws(ImagingError) {
        switch ImageFormat(pathExtension: url.pathExtension) {
        case .png: try PNG.write(image, to: url, bitDepth: pngBitDepth)
        case .jpeg: try JPEG.write(image, to: url, quality: jpegQuality)
        case nil: throw .invalidArgument("cannot tell the image format of \(url.path): use .png, .jpg or .jpeg")
        }
    }
}
