import Foundation
import Imaging
import Tensor
import XCTest

/// JPEG decoding and encoding against Pillow (which bundles libjpeg-turbo 3.2; gfp links Debian's 2.1.5).
final class JPEGTests: XCTestCase {
    static let decodeFixtures = ["rgb_444_q90", "rgb_422_q85", "rgb_420_q75", "rgb_420_q30_progressive",
                                 "rgb_444_q95_optimized", "rgb_420_q80_restart", "gray_q90", "fashion_rgb"]

    /// Baseline, progressive, restart-marker, optimised, subsampled and gray files decode to
    /// exactly Pillow's pixels.
    func testDecodeEqualsPillow() throws {
        for name in Self.decodeFixtures {
            let image = try JPEG.decode(Fixtures.data("jpeg/\(name).jpg"))
            let expected = try PNG.read(contentsOf: Fixtures.url("jpeg/\(name).expected.png"))
            XCTAssertEqual(image.shape, expected.shape, name)
            XCTAssertEqual(image.scalars, expected.scalars, "\(name): differs from Pillow by up to \(maximumDifference(image, expected) * 255) levels")
        }
    }

    /// The encoder with Pillow's defaults writes the same file as Pillow for the same pixels.
    func testEncodeEqualsPillow() throws {
        for (source, prefix) in [("jpeg/source.png", "rgb"), ("jpeg/source_gray.png", "gray")] {
            let image = try PNG.read(contentsOf: Fixtures.url(source))
            for quality in [50, 75, 95] {
                let ours = try JPEG.encode(image, quality: quality)
                let pillow = try Fixtures.data("jpeg/encode/\(prefix)_q\(quality).jpg")
                XCTAssertEqual(ours, pillow, "\(prefix) quality \(quality): bytes differ from Pillow's")
                XCTAssertEqual(try JPEG.decode(ours).scalars, try JPEG.decode(pillow).scalars, "\(prefix) quality \(quality)")
            }
        }
    }

    /// Higher quality is closer to the source; 4:4:4 at quality 100 is within a few levels.
    func testQualityAndSubsampling() throws {
        let image = try PNG.read(contentsOf: Fixtures.url("jpeg/fashion_rgb.png"))
        var previous = Float.infinity
        for quality in [10, 50, 90, 100] {
            let error = maximumDifference(try JPEG.roundTrip(image, quality: quality, subsampling: .none), image)
            XCTAssertLessThanOrEqual(error, previous, "quality \(quality)")
            previous = error
        }
        XCTAssertLessThan(previous, 4 / 255)
        for subsampling in [JPEG.ChromaSubsampling.none, .horizontal, .both] {
            let data = try JPEG.encode(image, quality: 90, subsampling: subsampling)
            XCTAssertEqual(try JPEG.decode(data).shape, [3, 84, 84])
        }
        XCTAssertThrowsError(try JPEG.encode(image, quality: 0))
        XCTAssertThrowsError(try JPEG.encode(image, quality: 101))
    }

    /// A batch round trip equals image-by-image round trips; alpha is dropped on encoding.
    func testBatchRoundTripMatchesSingleImages() throws {
        let batch = randomImage([5, 3, 16, 24], seed: 9)
        let result = try JPEG.roundTrip(batch, quality: 60)
        XCTAssertEqual(result.shape, batch.shape)
        for n in [0, 4] {
            let single = batch.sliced(n..<n + 1, alongAxis: 0).reshaped(to: [3, 16, 24])
            let expected = try JPEG.roundTrip(single, quality: 60)
            XCTAssertEqual(result.sliced(n..<n + 1, alongAxis: 0).scalars, expected.scalars, "image \(n)")
        }
        let rgba = try JPEG.decode(JPEG.encode(randomImage([4, 8, 8], seed: 1)))
        XCTAssertEqual(rgba.shape, [3, 8, 8])
        XCTAssertThrowsError(try JPEG.roundTrip(Tensor.zeros([2, 2, 8, 8]), quality: 50))
    }
}
