import Foundation
import Imaging
import Tensor
import XCTest

final class DatasetPreparationTests: XCTestCase {
    /// `gfp data import-fashion-mnist`: padded PNGs with labels that `ImageFolder` reads back.
    func testImportFashionMNISTRoundTrip() throws {
        let destination = try Fixtures.temporaryFolder(self).appendingPathComponent("fashion")
        let summary = try DatasetPreparation.importFashionMNIST(.test, to: destination, padTo: 32, maxImages: 25)
        XCTAssertEqual(summary, DatasetPreparation.Summary(written: 25, skippedCorrupt: 0))
        let folder = try ImageFolder(destination)
        XCTAssertEqual(folder.count, 25)
        XCTAssertEqual(folder.relativePaths.first, "00000/img00000000.png")
        let source = try FashionMNIST.load(.test)
        XCTAssertEqual(folder.labels, Array(source.labels!.prefix(25)))
        let expected = try ImageTransform.pad(source.image(at: 7), to: Size2D(32, 32))
        XCTAssertEqual(try folder.image(at: 7).scalars, expected.scalars)
        XCTAssertThrowsError(try DatasetPreparation.importFashionMNIST(.test, to: destination, maxImages: 1)) { error in
            guard case ImagingError.unwritableFile = error else { return XCTFail("\(error)") }
        }
    }

    /// `gfp data prepare`: every image of a folder, resized and cropped, as RGB PNGs.
    func testPrepareFolder() throws {
        let root = try Fixtures.temporaryFolder(self)
        let source = root.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("x"), withIntermediateDirectories: true)
        for name in ["png/gray16.png", "png/palette2_trns.png", "jpeg/fashion_rgb.jpg", "resize/rgb_178x218.png"] {
            let url = Fixtures.url(name)
            try FileManager.default.copyItem(at: url, to: source.appendingPathComponent("x/" + url.lastPathComponent))
        }
        try Fixtures.data("png/rgb8.png").prefix(70).write(to: source.appendingPathComponent("bad.png"))
        let destination = root.appendingPathComponent("prepared")
        XCTAssertThrowsError(try DatasetPreparation.prepare(from: source, to: destination,
                                                            preprocessing: .resizeAndCenterCrop(resolution: 16)))
        try FileManager.default.removeItem(at: destination)
        let log = WarningLog()
        let summary = try DatasetPreparation.prepare(from: source, to: destination, preprocessing: .celebA(resolution: 16),
                                                     maxImages: 3, onCorruptImage: .skip, warnings: log.handler)
        XCTAssertEqual(summary, DatasetPreparation.Summary(written: 3, skippedCorrupt: 1))
        XCTAssertEqual(log.warnings.count, 1)
        let prepared = try ImageFolder(destination)
        XCTAssertEqual(prepared.count, 3)
        for index in 0..<3 { XCTAssertEqual(try prepared.image(at: index).shape, [3, 16, 16]) }
        let original = try PNG.read(contentsOf: Fixtures.url("png/palette2_trns.png"))
        let expected = try Preprocessing.celebA(resolution: 16).apply(original)
        // In order: bad.png (skipped), x/fashion_rgb.jpg, x/gray16.png, x/palette2_trns.png.
        XCTAssertLessThanOrEqual(maximumDifference(try prepared.image(at: 2), expected), 0.5 / 255 + 1e-6)
    }

    func testSampleGrid() throws {
        let images = Tensor(shape: [5, 1, 2, 3], scalars: (0..<30).map { Float($0 / 6) / 4 })
        let grid = try SampleGrid.make(images, rows: 2, columns: 3, gap: 1, background: 1)
        XCTAssertEqual(grid.shape, [1, 5, 11])
        XCTAssertEqual(grid[0, 0, 0], 0)
        XCTAssertEqual(grid[0, 0, 3], 1, "gap")
        XCTAssertEqual(grid[0, 1, 4], 0.25, "second image")
        XCTAssertEqual(grid[0, 3, 4], 1, "fifth image starts at row 3, column 4")
        XCTAssertEqual(grid[0, 4, 10], 1, "empty sixth cell")
        let signed = try SampleGrid.make(images * 2 - 1, rows: 1, columns: 5, range: -1...1)
        XCTAssertTrue(signed.isAlmostEqual(to: try SampleGrid.make(images, rows: 1, columns: 5)))
        XCTAssertThrowsError(try SampleGrid.make(images, rows: 2, columns: 2))
        let url = try Fixtures.temporaryFolder(self).appendingPathComponent("grid.png")
        try SampleGrid.write(images, rows: 2, columns: 3, to: url)
        XCTAssertEqual(try PNG.read(contentsOf: url).shape, [1, 6, 13])
    }
}
