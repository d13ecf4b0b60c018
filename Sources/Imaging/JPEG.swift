import CImagingSupport
import Dispatch
import Foundation
import Tensor

/// JPEG decoding and encoding in memory through libjpeg-turbo.
///
/// Decoding uses libjpeg's defaults (accurate integer IDCT, fancy chroma upsampling), the
/// settings Pillow uses, and returns gray files as 1 channel and colour files as RGB, 3 channels,
/// Float32 `[C, H, W]` in [0, 1]. EXIF orientation is not applied (as in Pillow and
/// torchvision's loaders). CMYK/YCCK files are refused with `ImagingError.unsupportedImage`.
/// Truncated data is an error, not an image padded with gray.
///
/// Encoding writes a baseline JFIF file with the standard tables scaled to `quality` (libjpeg's
/// `jpeg_set_quality`, as Pillow's `quality=`), Huffman tables not optimised, and by default
/// 4:2:0 chroma subsampling: Pillow's defaults, so the same pixels give the same file.
public enum JPEG {
    /// Sampling of the two chroma planes relative to luma (colour images only).
    public enum ChromaSubsampling: Sendable, Hashable {
        /// 4:4:4, full chroma resolution (Pillow `subsampling=0`).
        case none
        /// 4:2:2, chroma halved horizontally (Pillow `subsampling=1`).
        case horizontal
        /// 4:2:0, chroma halved in both directions (Pillow `subsampling=2`, the default).
        case both

        var factors: (Int32, Int32) {
            switch self {
            case .none: return (1, 1)
            case .horizontal: return (2, 1)
            case .both: return (2, 2)
            }
        }
    }

    /// Images with more pixels than this are refused before any pixel memory is allocated.
    public static let maximumPixelCount = 1 << 28

    /// Decodes JPEG data to `[1 or 3, H, W]` in [0, 1], converted to `channels` when given.
    /// - Throws: `ImagingError.corruptJPEG(path: nil, ...)` for truncated or invalid data,
    ///   `.unsupportedImage` for CMYK/YCCK files.
    public static func decode(_ data: Data, channels: Int? = nil) throws(ImagingError) -> Tensor {
        var decoded = gfp_decoded_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { bytes in
            gfp_jpeg_decode(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count,
                            maximumPixelCount, &decoded, &message, message.count)
        }
        switch status {
        case 0: break
        case 2: throw .unsupportedImage(path: nil, reason: cString(message))
        default: throw .corruptJPEG(path: nil, reason: cString(message))
        }
        defer { gfp_free(decoded.pixels) }
        let image = planarImage(interleaved: decoded.pixels, width: decoded.width, height: decoded.height,
                                channels: Int(decoded.channels), bitDepth: 8)
        guard let channels else { return image }
        return try ImageTransform.convert(image, toChannels: channels)
    }

    /// Reads and decodes the JPEG file at `url` (see `decode(_:channels:)`).
    /// - Throws: `ImagingError.unreadableFile`, `.corruptJPEG` or `.unsupportedImage` naming the file.
    public static func read(contentsOf url: URL, channels: Int? = nil) throws(ImagingError) -> Tensor {
        let data = try readFile(url)
        do throws(ImagingError) {
            return try decode(data, channels: channels)
        } catch {
            throw error.naming(url.path)
        }
    }

    /// Encodes an image `[C, H, W]` as JPEG at `quality` (1–100). C = 1 is written as gray, 3 as
    /// colour; an alpha channel (C = 2 or 4) is dropped. Values are clamped to [0, 1] and rounded
    /// to 8 bits.
    /// - Throws: `ImagingError.invalidImage` for other shapes or images over 65,500 pixels wide
    ///   or high, `.invalidArgument` for a quality outside 1...100.
    public static func encode(_ image: Tensor, quality: Int = 75, subsampling: ChromaSubsampling = .both) throws(ImagingError) -> Data {
        let (channels, height, width) = try imageExtents(image)
        guard (1...100).contains(quality) else { throw .invalidArgument("JPEG quality \(quality) is outside 1...100") }
        let opaque = channels == 2 || channels == 4 ? try ImageTransform.convert(image, toChannels: channels - 1) : image
        let samples = interleaved8(opaque)
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let (horizontal, vertical) = subsampling.factors
        let status = samples.withUnsafeBufferPointer { pixels in
            gfp_jpeg_encode(pixels.baseAddress, width, height, Int32(opaque.shape[0]), Int32(quality), horizontal, vertical,
                            &output, &size, &message, message.count)
        }
        guard status == 0, let output else {
            throw .invalidImage(shape: image.shape, reason: "JPEG encoding failed: \(cString(message))")
        }
        defer { gfp_free(output) }
        return Data(bytes: output, count: size)
    }

    /// Encodes `image` (see `encode(_:quality:subsampling:)`) and writes it to `url` atomically.
    public static func write(_ image: Tensor, to url: URL, quality: Int = 75,
                             subsampling: ChromaSubsampling = .both) throws(ImagingError) {
        try writeFile(encode(image, quality: quality, subsampling: subsampling), to: url)
    }

    /// Compresses and decompresses images, as a JPEG perturbation does: `[C, H, W]` or a batch
    /// `[N, C, H, W]` with C = 1 or 3. A batch is processed on all cores; the result has the
    /// input's shape and values on the 1/255 grid.
    public static func roundTrip(_ images: Tensor, quality: Int, subsampling: ChromaSubsampling = .both) throws(ImagingError) -> Tensor {
        guard (3...4).contains(images.rank), images.shape[0] > 0, [1, 3].contains(images.shape[images.rank - 3]) else {
            throw .invalidImage(shape: images.shape, reason: "expected [C, H, W] or [N, C, H, W] with 1 or 3 channels")
        }
        if images.rank == 3 {
            return try decode(encode(images, quality: quality, subsampling: subsampling))
        }
        let count = images.shape[0]
        let imageShape = Array(images.shape.dropFirst())
        let size = imageShape.reduce(1, *)
        let failures = UnsafeMutableBufferPointer<ImagingError?>.allocate(capacity: count)
        failures.initialize(repeating: nil)
        defer { failures.deallocate() }
        let result = Tensor(shape: images.shape) { out in
            nonisolated(unsafe) let output = out.baseAddress!
            nonisolated(unsafe) let errors = failures
            images.withUnsafeBufferPointer { input in
                nonisolated(unsafe) let source = input.baseAddress!
                DispatchQueue.concurrentPerform(iterations: count) { index in
                    let image = Tensor(shape: imageShape, scalars: Array(UnsafeBufferPointer(start: source + index * size, count: size)))
                    do throws(ImagingError) {
                        let decoded = try decode(encode(image, quality: quality, subsampling: subsampling))
                        decoded.withUnsafeBufferPointer { (output + index * size).update(from: $0.baseAddress!, count: size) }
                    } catch {
                        errors[index] = error
                        (output + index * size).update(repeating: 0, count: size)
                    }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
        return result
    }
}
