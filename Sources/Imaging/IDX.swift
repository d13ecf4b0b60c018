import CZlib
import Foundation

/// An array read from an IDX file, the format of MNIST and Fashion-MNIST (plain or gzip).
///
/// An IDX file is two zero bytes, an element-type byte, a rank byte, one big-endian 32-bit
/// extent per dimension and then the elements, big-endian, row-major. The reader accepts every
/// element type of the format and requires the data to hold exactly the elements the header
/// announces; gzip files (recognised by their magic bytes, any number of members) are inflated
/// with zlib, their CRC and length checked.
public struct IDXArray: Sendable, Equatable {
    /// The element types of the IDX format, by their type byte.
    public enum ElementType: UInt8, Sendable, Hashable {
        case uint8 = 0x08
        case int8 = 0x09
        case int16 = 0x0B
        case int32 = 0x0C
        case float32 = 0x0D
        case float64 = 0x0E

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .float64: return 8
            }
        }
    }

    /// The type of the elements.
    public let elementType: ElementType
    /// The extent of each dimension (MNIST images: `[count, 28, 28]`; labels: `[count]`).
    public let shape: [Int]
    /// The elements as stored (big-endian), without the header.
    let payload: ArraySlice<UInt8>

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The elements of a `uint8` array, without copying; `nil` for other element types.
    public var bytes: ArraySlice<UInt8>? { elementType == .uint8 ? payload : nil }

    /// The elements converted to `Double` (exact for every IDX type), row-major.
    public func values() -> [Double] {
        payload.withUnsafeBytes { raw in
            (0..<count).map { index -> Double in
                let offset = index * elementType.size
                func bigEndian<T: FixedWidthInteger>(_: T.Type) -> T {
                    T(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
                }
                switch elementType {
                case .uint8: return Double(raw[offset])
                case .int8: return Double(Int8(bitPattern: raw[offset]))
                case .int16: return Double(bigEndian(Int16.self))
                case .int32: return Double(bigEndian(Int32.self))
                case .float32: return Double(Float(bitPattern: bigEndian(UInt32.self)))
                case .float64: return Double(bitPattern: bigEndian(UInt64.self))
                }
            }
        }
    }

    /// Parses IDX data, inflating it first when it is gzip.
    /// - Throws: `ImagingError.corruptIDX(path: nil, ...)` for bad gzip data, an unknown
    ///   header, or a data size that does not match the header.
    public init(decoding data: Data) throws(ImagingError) {
        let bytes: [UInt8]
        if data.starts(with: [0x1F, 0x8B]) {
            bytes = try gunzip(data)
        } else {
            bytes = [UInt8](data)
        }
        guard bytes.count >= 4 else { throw .corruptIDX(path: nil, reason: "\(bytes.count) bytes is too short for an IDX header") }
        guard bytes[0] == 0, bytes[1] == 0 else { throw .corruptIDX(path: nil, reason: "bad magic number (not an IDX file)") }
        guard let type = ElementType(rawValue: bytes[2]) else {
            throw .corruptIDX(path: nil, reason: "unknown element type 0x\(String(bytes[2], radix: 16))")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw .corruptIDX(path: nil, reason: "rank 0") }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw .corruptIDX(path: nil, reason: "\(bytes.count) bytes is too short for the header of a rank-\(rank) array")
        }
        var shape: [Int] = []
        var elements = 1
        for axis in 0..<rank {
            let base = 4 + 4 * axis
            let extent = bytes[base..<base + 4].reduce(0) { $0 << 8 | Int($1) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= Int(Int32.max) else { throw .corruptIDX(path: nil, reason: "shape too large") }
            shape.append(extent)
            elements = product
        }
        let expected = elements * type.size
        guard bytes.count - headerSize == expected else {
            let found = bytes.count - headerSize
            throw .corruptIDX(path: nil, reason: "the header announces \(shape) (\(expected) bytes of data) but the file holds "
                              + "\(found) bytes (\(found < expected ? "truncated" : "trailing data"))")
        }
        elementType = type
        self.shape = shape
        payload = bytes[headerSize...]
    }

    /// Reads the IDX file at `url` (plain or gzip).
    /// - Throws: `ImagingError.unreadableFile` or `.corruptIDX` naming the file.
    public static func read(contentsOf url: URL) throws(ImagingError) -> IDXArray {
        let data = try readFile(url)
        do throws(ImagingError) {
            return try IDXArray(decoding: data)
        } catch {
            throw error.naming(url.path)
        }
    }
}

/// Inflates gzip data (one or more members) with zlib, checking each member's CRC and length.
func gunzip(_ data: Data) throws(ImagingError) -> [UInt8] {
    guard data.count < Int(UInt32.max) else { throw .corruptIDX(path: nil, reason: "gzip data over 4 GiB is not supported") }
    // ISIZE, the last member's length mod 2^32, is a size hint capped at zlib's best ratio.
    let trailer = data.count >= 4 ? data.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) } : 0
    var output = [UInt8](repeating: 0, count: max(1 << 16, min(trailer + 1, data.count * 1032)))
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw .corruptIDX(path: nil, reason: "zlib could not start inflating")
    }
    defer { inflateEnd(&stream) }
    var produced = 0
    var failure: String?
    data.withUnsafeBytes { input in
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = UInt32(input.count)
        while true {
            if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
            let status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress! + produced
                stream.avail_out = UInt32(min(out.count - produced, Int(UInt32.max)))
                let before = stream.avail_out
                let status = inflate(&stream, Z_NO_FLUSH)
                produced += Int(before - stream.avail_out)
                return status
            }
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                guard stream.avail_in > 0 else { return }
                // Another gzip member may follow (RFC 1952 allows concatenation).
                guard stream.avail_in >= 2, stream.next_in[0] == 0x1F, stream.next_in[1] == 0x8B else {
                    failure = "\(stream.avail_in) bytes of trailing data after the gzip stream"
                    return
                }
                inflateReset(&stream)
            case Z_BUF_ERROR where stream.avail_in == 0:
                failure = "gzip stream ends early (truncated file)"
                return
            case Z_BUF_ERROR:
                continue  // output full: grown at the top of the loop
            default:
                failure = "gzip: " + (stream.msg.map { String(cString: $0) } ?? "zlib error \(status)")
                return
            }
        }
    }
    if let failure { throw .corruptIDX(path: nil, reason: failure) }
    output.removeSubrange(produced...)
    return output
}
