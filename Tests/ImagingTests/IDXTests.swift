import Foundation
import Imaging
import Tensor
import XCTest

/// The IDX reader on fixtures and on the Debian Fashion-MNIST package.
final class IDXTests: XCTestCase {
    func testGzipAndPlainFilesAgree() throws {
        let compressed = try IDXArray.read(contentsOf: Fixtures.url("idx/t10k-100-images-idx3-ubyte.gz"))
        XCTAssertEqual(compressed.elementType, .uint8)
        XCTAssertEqual(compressed.shape, [100, 28, 28])
        let plain = try IDXArray.read(contentsOf: Fixtures.url("idx/t10k-10-images-idx3-ubyte"))
        XCTAssertEqual(plain.shape, [10, 28, 28])
        XCTAssertEqual(Array(compressed.bytes!.prefix(7840)), Array(plain.bytes!))
        let labels = try IDXArray.read(contentsOf: Fixtures.url("idx/t10k-100-labels-idx1-ubyte.gz"))
        let twoMembers = try IDXArray.read(contentsOf: Fixtures.url("idx/t10k-100-labels-idx1-ubyte.2members.gz"))
        XCTAssertEqual(labels, twoMembers, "concatenated gzip members")
        XCTAssertEqual(labels.shape, [100])
        XCTAssertEqual(Array(labels.bytes!.prefix(5)), [9, 2, 1, 1, 6], "the first Fashion-MNIST test labels")
    }

    func testOtherElementTypes() throws {
        let floats = try IDXArray.read(contentsOf: Fixtures.url("idx/floats-3x4.idx"))
        XCTAssertEqual(floats.elementType, .float32)
        XCTAssertEqual(floats.shape, [3, 4])
        XCTAssertEqual(floats.values(), (0..<12).map { Double($0) / 8 - 0.5 })
        XCTAssertNil(floats.bytes)
        let shorts = try IDXArray.read(contentsOf: Fixtures.url("idx/shorts-5.idx"))
        XCTAssertEqual(shorts.elementType, .int16)
        XCTAssertEqual(shorts.values(), [-300, -1, 0, 1, 300])
    }

    /// MNIST-format loading gives [1, 28, 28] images equal to the PNG Pillow made of the same picture.
    func testMNISTLoaderMatchesPillow() throws {
        let dataset = try MNIST.load(images: Fixtures.url("idx/t10k-100-images-idx3-ubyte.gz"),
                                     labels: Fixtures.url("idx/t10k-100-labels-idx1-ubyte.gz"))
        XCTAssertEqual(dataset.count, 100)
        XCTAssertEqual(dataset.imageShape, [1, 28, 28])
        XCTAssertEqual(dataset.label(at: 1), 2)
        let pillow = try PNG.read(contentsOf: Fixtures.url("resize/gray_28x28.png"))
        XCTAssertEqual(dataset.image(at: 1).scalars, pillow.scalars)
        XCTAssertEqual(dataset.images(1..<3).shape, [2, 1, 28, 28])
        XCTAssertThrowsError(try MNIST.load(images: Fixtures.url("idx/t10k-100-images-idx3-ubyte.gz"),
                                            labels: Fixtures.url("idx/t10k-10-labels-idx1-ubyte"))) { error in
            guard case ImagingError.corruptIDX = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try MNIST.load(images: Fixtures.url("idx/t10k-100-labels-idx1-ubyte.gz"), labels: nil))
    }

    /// The Debian package (installed by `make deps`): 60,000 + 10,000 images with labels. Fails,
    /// not skips, when the package is missing.
    func testFashionMNISTFromTheDebianPackage() throws {
        for split in FashionMNIST.Split.allCases {
            let dataset = try FashionMNIST.load(split)
            XCTAssertEqual(dataset.count, split.count, "\(split)")
            XCTAssertEqual(dataset.imageShape, [1, 28, 28])
            let labels = try XCTUnwrap(dataset.labels)
            var histogram = [Int](repeating: 0, count: 10)
            for label in labels { histogram[label] += 1 }
            XCTAssertEqual(histogram, Array(repeating: split.count / 10, count: 10), "\(split): balanced classes")
            let last = dataset.image(at: split.count - 1)
            XCTAssertEqual(last.shape, [1, 28, 28])
            XCTAssertTrue(last.scalars.contains { $0 > 0 }, "\(split): the last image is not blank")
        }
        let test = try FashionMNIST.load(.test)
        let fixture = try MNIST.load(images: Fixtures.url("idx/t10k-100-images-idx3-ubyte.gz"),
                                     labels: Fixtures.url("idx/t10k-100-labels-idx1-ubyte.gz"))
        XCTAssertEqual(test.images(0..<100).scalars, fixture.allImages().scalars)
        XCTAssertEqual(Array(test.labels!.prefix(100)), fixture.labels)
        XCTAssertThrowsError(try FashionMNIST.load(.test, directory: URL(fileURLWithPath: "/nonexistent"))) { error in
            guard case let ImagingError.unreadableFile(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("dataset-fashion-mnist"))
        }
    }
}
