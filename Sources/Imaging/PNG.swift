import CImagingSupport
import Foundation
import Tensor

/// PNG decoding and encoding through libpng.
///
/// Decoding returns a Float32 tensor `[channels, height, width]` in [0, 1] holding the file's
/// samples unchanged (no gamma or colour-space conversion, as Pillow):
///
/// | file | channels | values |
/// |---|---|---|
/// | gray 1, 2, 4, 8 bit | 1 | scaled to 8 bits (`v · 255 / (2^bits − 1)`), then `/ 255` |
/// | gray 16 bit | 1 | `v / 65535` |
/// | gray + alpha 8 or 16 bit | 2 | `/ 255` or `/ 65535` |
/// | RGB 8 or 16 bit | 3 | `/ 255` or `/ 65535` |
/// | RGBA 8 or 16 bit | 4 | `/ 255` or `/ 65535` |
/// | palette 1–8 bit | 3, or 4 with a tRNS chunk | the palette's 8-bit colours `/ 255` |
///
/// A tRNS chunk on a gray or RGB image adds an alpha channel (2 or 4 channels). Adam7-interlaced
/// files are supported. Pass `channels:` to get the channel count a model wants (see
/// `ImageTransform.convert(_:toChannels:)`). Only the pixel data is validated: a damaged chunk
/// after the image data does not fail an intact image.
public enum PNG {
    /// Sample depth of an encoded PNG.
    public enum BitDepth: Int, Sendable, Hashable {
        case eight = 8
        case sixteen = 16
    }

    /// Images with more pixels than this are refused before any pixel memory is allocated
    /// (2^28, about 16k × 16k): a corrupt header cannot make the decoder allocate gigabytes.
    public static let maximumPixelCount = 1 << 28

    /// Decodes PNG data to `[C, H, W]` in [0, 1] (see the type's table), converted to
    /// `channels` when given.
    /// - Throws: `ImagingError.corruptPNG(path: nil, ...)` for data that is not a valid PNG.
    public static func decode(_ data: Data, channels: Int? = nil) throws(ImagingError) -> Tensor {
        var decoded = gfp_decoded_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { bytes in
            gfp_png_decode(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count,
                           maximumPixelCount, &decoded, &message, message.count)
        }
        guard status == 0 else {
            throw .corruptPNG(path: nil, reason: cString(message))
        }
        defer { gfp_free(decoded.pixels) }
        let image = planarImage(interleaved: decoded.pixels, width: decoded.width, height: decoded.height,
                                channels: Int(decoded.channels), bitDepth: Int(decoded.bit_depth))
        guard let channels else { return image }
        return try ImageTransform.convert(image, toChannels: channels)
    }

    /// Reads and decodes the PNG file at `url` (see `decode(_:channels:)`).
    /// - Throws: `ImagingError.unreadableFile` or `.corruptPNG` naming the file.
    public static func read(contentsOf url: URL, channels: Int? = nil) throws(ImagingError) -> Tensor {
        let data = try readFile(url)
        do throws(ImagingError) {
            return try decode(data, channels: channels)
        } catch {
            throw error.naming(url.path)
        }
    }

    /// Encodes an image `[C, H, W]` with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) as a
    /// PNG. Values are clamped to [0, 1] and rounded to the nearest 8- or 16-bit level, so
    /// `decode(encode(x))` returns `x` exactly when `x` holds decoded values of that depth.
    /// - Parameter compressionLevel: zlib level 0 (none, fastest) to 9; 6 is zlib's and Pillow's default.
    /// - Throws: `ImagingError.invalidImage` for other shapes, `.invalidArgument` for a bad level.
    public static func encode(_ image: Tensor, bitDepth: BitDepth = .eight, compressionLevel: Int = 6) throws(ImagingError) -> Data {
        let (channels, height, width) = try imageExtents(image)
        guard (0...9).contains(compressionLevel) else {
            throw .invalidArgument("PNG compression level \(compressionLevel) is outside 0...9")
        }
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        func run(_ samples: UnsafeRawPointer) -> Int32 {
            gfp_png_encode(samples, width, height, Int32(channels), Int32(bitDepth.rawValue), Int32(compressionLevel),
                           &output, &size, &message, message.count)
        }
        let status: Int32
        switch bitDepth {
        case .eight: status = interleaved8(image).withUnsafeBytes { run($0.baseAddress!) }
        case .sixteen: status = interleaved16(image).withUnsafeBytes { run($0.baseAddress!) }
        }
        guard status == 0, let output else {
            throw .invalidImage(shape: image.shape, reason: "PNG encoding failed: \(cString(message))")
        }
        defer { gfp_free(output) }
        return Data(bytes: output, count: size)
    }

    /// Encodes `image` (see `encode(_:bitDepth:compressionLevel:)`) and writes it to `url`
    /// atomically.
    public static func write(_ image: Tensor, to url: URL, bitDepth: BitDepth = .eight,
                             compressionLevel: Int = 6) throws(ImagingError) {
        try writeFile(encode(image, bitDepth: bitDepth, compressionLevel: compressionLevel), to: url)
    }
}

/// The NUL-terminated C string in `buffer` as a Swift string.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
