import Foundation
import Imaging
import Tensor
import XCTest

/// Damaged files of every format: zero bytes, truncation at many offsets, flipped bytes and
/// forged headers. Each must give a typed error (or, where the damage leaves the content
/// decodable, a valid image) and never crash the process.
final class CorruptionTests: XCTestCase {
    enum Format { case png, jpeg, idx }

    /// Offsets to truncate at: every one of the first 64 bytes, then 48 spread over the rest.
    func truncationOffsets(_ size: Int) -> [Int] {
        Array(Set(Array(0..<min(64, size)) + (0..<48).map { 64 + ($0 * max(0, size - 65)) / 47 } + [size - 2, size - 1]))
            .filter { $0 >= 0 && $0 < size }.sorted()
    }

    /// Decodes `data` as `format`: the image (or the IDX element count as a 1-D tensor) or the error.
    func decode(_ data: Data, as format: Format) -> Result<Tensor, ImagingError> {
        Result { () throws(ImagingError) -> Tensor in
            switch format {
            case .png: return try PNG.decode(data)
            case .jpeg: return try JPEG.decode(data)
            case .idx: return Tensor([Float(try IDXArray(decoding: data).count)])
            }
        }
    }

    func isExpectedError(_ error: ImagingError, _ format: Format) -> Bool {
        switch (error, format) {
        case (.corruptPNG(nil, _), .png), (.corruptJPEG(nil, _), .jpeg), (.unsupportedImage(nil, _), .jpeg),
             (.corruptIDX(nil, _), .idx):
            return true
        default:
            return false
        }
    }

    /// Walks the corruptions of one real file and returns how many decodes threw.
    @discardableResult
    func walk(_ name: String, _ data: Data, _ format: Format, truncationsMustFail: Bool = true) throws -> Int {
        let intact = try decode(data, as: format).get()
        var failures = 0
        func check(_ damaged: Data, _ what: String, mustFail: Bool) {
            switch decode(damaged, as: format) {
            case let .failure(error):
                failures += 1
                XCTAssertTrue(isExpectedError(error, format), "\(name) \(what): unexpected error \(error)")
            case let .success(image):
                XCTAssertFalse(mustFail, "\(name) \(what): decoded without error")
                if format != .idx {
                    XCTAssertEqual(image.rank, 3, "\(name) \(what)")
                    XCTAssertTrue(image.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(name) \(what): values outside [0, 1]")
                }
            }
        }
        check(Data(), "zero bytes", mustFail: true)
        for offset in truncationOffsets(data.count) {
            let truncated = data.prefix(offset)
            if case let .success(image) = decode(truncated, as: format) {
                // Only the chunks after the image data may be lost without losing the image.
                XCTAssertFalse(truncationsMustFail, "\(name) truncated at \(offset) of \(data.count) decoded")
                XCTAssertEqual(image.scalars, intact.scalars, "\(name) truncated at \(offset): a different image")
            } else {
                check(truncated, "truncated at \(offset)", mustFail: true)
            }
        }
        var generator = SeededGenerator(seed: UInt64(data.count))
        for round in 0..<160 {
            var garbled = data
            let flips = round < 120 ? 1 : 8
            for _ in 0..<flips {
                let position = Int(generator.next() % UInt64(data.count))
                garbled[position] ^= UInt8(1 + generator.next() % 255)
            }
            check(garbled, "with \(flips) flipped bytes (round \(round))", mustFail: false)
        }
        for round in 0..<20 {
            var garbled = data
            let start = Int(generator.next() % UInt64(data.count)), length = min(data.count - start, 1 + round * 3)
            for i in start..<start + length { garbled[i] = UInt8(truncatingIfNeeded: generator.next()) }
            check(garbled, "overwritten at \(start)..<\(start + length)", mustFail: false)
        }
        return failures
    }

    func testCorruptPNGFiles() throws {
        for name in ["png/rgb8.png", "png/rgba16_adam7.png", "png/palette4_trns.png", "png/gray1.png",
                     "png/gray_alpha16.png", "jpeg/fashion_rgb.png", "resize/gray_28x28.png"] {
            let data = try Fixtures.data(name)
            // Truncating inside IEND (the last 12 bytes) leaves the image intact and decodable.
            let imageEnd = data.count - 12
            let failures = try walk(name, data.prefix(imageEnd), .png)
            XCTAssertGreaterThan(failures, 100, "\(name): libpng's CRCs should catch most damage")
            _ = try walk(name + " (with IEND)", data, .png, truncationsMustFail: false)
        }
    }

    func testCorruptJPEGFiles() throws {
        for name in ["jpeg/fashion_rgb.jpg", "jpeg/rgb_420_q30_progressive.jpg", "jpeg/gray_q90.jpg",
                     "jpeg/rgb_420_q80_restart.jpg", "jpeg/rgb_444_q95_optimized.jpg"] {
            try walk(name, try Fixtures.data(name), .jpeg)
        }
    }

    func testCorruptIDXFiles() throws {
        for name in ["idx/t10k-100-labels-idx1-ubyte.gz", "idx/t10k-100-images-idx3-ubyte.gz",
                     "idx/t10k-10-images-idx3-ubyte", "idx/floats-3x4.idx"] {
            try walk(name, try Fixtures.data(name), .idx)
        }
        // The Debian package's own labels file, truncated and garbled.
        let debian = FashionMNIST.labelsURL(.test)
        try walk(debian.path, try Data(contentsOf: debian), .idx)
    }

    /// Headers announcing huge images (with valid CRCs) are refused before allocating memory.
    func testForgedHugeDimensionsAreRefused() throws {
        var png = try Fixtures.data("png/rgb8.png")
        png.replaceSubrange(16..<24, with: [0x00, 0x0F, 0x42, 0x40, 0x00, 0x0F, 0x42, 0x40])  // 1,000,000²
        let crc = png[12..<29].withUnsafeBytes { crc32Checksum($0) }
        png.replaceSubrange(29..<33, with: withUnsafeBytes(of: crc.bigEndian) { Array($0) })
        XCTAssertThrowsError(try PNG.decode(png)) { error in
            guard case let ImagingError.corruptPNG(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("exceeds the limit"), reason)
        }
        var jpeg = try Fixtures.data("jpeg/rgb_444_q90.jpg")
        let sof = try XCTUnwrap((0..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange(sof + 5..<sof + 9, with: [0x9C, 0x40, 0x9C, 0x40])  // 40000 × 40000
        XCTAssertThrowsError(try JPEG.decode(jpeg)) { error in
            guard case let ImagingError.corruptJPEG(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("exceeds the limit"), reason)
        }
        var idx = try Fixtures.data("idx/t10k-10-images-idx3-ubyte")
        idx.replaceSubrange(4..<8, with: [0x7F, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try IDXArray(decoding: idx))
    }

    /// Files named after the error: the path is attached to every decoding error.
    func testErrorsNameTheFile() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let cases: [(String, Data)] = [("broken.png", try Fixtures.data("png/rgb8.png").prefix(100)),
                                       ("broken.JPG", try Fixtures.data("jpeg/gray_q90.jpg").prefix(300)),
                                       ("empty.jpeg", Data()), ("text.png", Data("hello".utf8))]
        for (name, data) in cases {
            let url = folder.appendingPathComponent(name)
            try data.write(to: url)
            XCTAssertThrowsError(try ImageFile.read(contentsOf: url)) { error in
                XCTAssertEqual((error as? ImagingError)?.path, url.path, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(url.path))
            }
        }
        let idx = folder.appendingPathComponent("labels.gz")
        try Fixtures.data("idx/t10k-100-labels-idx1-ubyte.gz").prefix(50).write(to: idx)
        XCTAssertThrowsError(try IDXArray.read(contentsOf: idx)) { error in
            guard case let ImagingError.corruptIDX(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, idx.path)
        }
    }
}

/// CRC-32 (the PNG/zlib polynomial), for forging valid chunks.
func crc32Checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
