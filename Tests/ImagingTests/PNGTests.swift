import Foundation
import Imaging
import Tensor
import XCTest

/// PNG decoding against Pillow (fixtures from `Tools/make_imaging_fixtures.py`) and exact round trips.
final class PNGTests: XCTestCase {
    struct Case {
        let file: String
        let bitDepth: Int
        let shape: [Int]
        let pixels: [Int]
        let pillow8: [Int]?
    }

    static func cases() throws -> [Case] {
        let root = try Fixtures.json("png_cases.json")
        return (root["cases"] as! [[String: Any]]).map { c in
            Case(file: c["file"] as! String, bitDepth: c["bit_depth"] as! Int,
                 shape: [c["channels"] as! Int, c["height"] as! Int, c["width"] as! Int],
                 pixels: c["pixels"] as! [Int], pillow8: c["pillow8"] as? [Int])
        }
    }

    /// Every colour type and bit depth decodes to Pillow's pixels (16-bit colour: to the values
    /// written, whose high bytes are Pillow's 8-bit decode).
    func testDecodeEqualsPillowForEveryColorTypeAndBitDepth() throws {
        let all = try Self.cases()
        XCTAssertEqual(all.count, 27)
        for c in all {
            let image = try PNG.read(contentsOf: Fixtures.url(c.file))
            XCTAssertEqual(image.shape, c.shape, c.file)
            if c.bitDepth == 8 {
                assertEightBit(image, c.pixels, c.file)
            } else {
                let decoded = levels(image, maximum: 65535)
                XCTAssertEqual(decoded, c.pixels, c.file)
                XCTAssertEqual(image.scalars, c.pixels.map { Float($0) / 65535 }, "\(c.file): v / 65535")
                if let pillow8 = c.pillow8 {
                    XCTAssertEqual(decoded.map { $0 >> 8 }, pillow8, "\(c.file): high bytes against Pillow")
                }
            }
        }
    }

    /// Decoding every fixture, encoding at its depth and decoding again gives the same tensor,
    /// and the same for random images of every channel count at both depths.
    func testRoundTripIsExact() throws {
        for c in try Self.cases() {
            let image = try PNG.read(contentsOf: Fixtures.url(c.file))
            let depth: PNG.BitDepth = c.bitDepth == 16 ? .sixteen : .eight
            let again = try PNG.decode(PNG.encode(image, bitDepth: depth))
            XCTAssertEqual(again.shape, image.shape, c.file)
            XCTAssertEqual(again.scalars, image.scalars, "\(c.file) round trip")
        }
        for channels in 1...4 {
            for (depth, maximum) in [(PNG.BitDepth.eight, Float(255)), (.sixteen, 65535)] {
                let image = randomImage([channels, 23, 37], maximum: maximum, seed: UInt64(channels))
                for level in [0, 6, 9] {
                    let decoded = try PNG.decode(PNG.encode(image, bitDepth: depth, compressionLevel: level))
                    XCTAssertEqual(decoded.scalars, image.scalars, "\(channels) channels, \(depth), level \(level)")
                }
            }
        }
    }

    /// Encoding clamps and rounds; 8-bit files from an image with 16-bit detail hold the nearest level.
    func testEncodeClampsAndRounds() throws {
        let image = Tensor(shape: [1, 1, 6], scalars: [-0.5, 0, 0.3, 0.5, 1, 7])
        XCTAssertEqual(levels(try PNG.decode(PNG.encode(image))), [0, 0, 77, 128, 255, 255])
        let nan = Tensor(shape: [1, 1, 2], scalars: [.nan, .infinity])
        XCTAssertEqual(levels(try PNG.decode(PNG.encode(nan))), [0, 255])
    }

    func testChannelConversionOnDecode() throws {
        let rgba = try PNG.read(contentsOf: Fixtures.url("png/rgba8.png"))
        let rgb = try PNG.read(contentsOf: Fixtures.url("png/rgba8.png"), channels: 3)
        XCTAssertEqual(rgb.scalars, Array(rgba.scalars.prefix(3 * 13 * 11)), "alpha is dropped")
        let gray = try PNG.read(contentsOf: Fixtures.url("png/gray8.png"), channels: 3)
        XCTAssertEqual(gray.shape, [3, 13, 11])
        let plane = Array(gray.scalars.prefix(143))
        XCTAssertEqual(gray.scalars, plane + plane + plane, "gray is repeated")
        let luma = try ImageTransform.convert(rgb, toChannels: 1)
        let s = rgb.scalars
        XCTAssertEqual(luma.scalars[5], 0.299 * s[5] + 0.587 * s[143 + 5] + 0.114 * s[286 + 5], accuracy: 1e-6)
    }

    func testEncodeRejectsBadImages() {
        XCTAssertThrowsError(try PNG.encode(Tensor.zeros([5, 4, 4]))) { error in
            guard case ImagingError.invalidImage = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PNG.encode(Tensor.zeros([4, 4]))) { error in
            guard case ImagingError.invalidImage = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PNG.encode(Tensor.zeros([3, 4, 4]), compressionLevel: 10))
        XCTAssertThrowsError(try PNG.encode(Tensor.zeros([3, 0, 4])))
    }

    /// A file with the wrong extension still decodes by its signature; a missing file is unreadable.
    func testImageFileSniffsFormatAndNamesFiles() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let jpegNamedPNG = folder.appendingPathComponent("photo.png")
        try Fixtures.data("jpeg/rgb_444_q90.jpg").write(to: jpegNamedPNG)
        XCTAssertEqual(try ImageFile.read(contentsOf: jpegNamedPNG).shape, [3, 29, 37])
        let missing = folder.appendingPathComponent("missing.png")
        XCTAssertThrowsError(try ImageFile.read(contentsOf: missing)) { error in
            XCTAssertEqual((error as? ImagingError)?.path, missing.path)
            guard case ImagingError.unreadableFile = error else { return XCTFail("\(error)") }
        }
        let written = folder.appendingPathComponent("x.PNG")
        let image = randomImage([3, 5, 7], seed: 3)
        try ImageFile.write(image, to: written)
        XCTAssertEqual(try ImageFile.read(contentsOf: written).scalars, image.scalars)
        XCTAssertThrowsError(try ImageFile.write(image, to: folder.appendingPathComponent("x.gif")))
    }
}
