import Foundation
import Imaging
import Tensor
import XCTest

/// Access to the fixtures made by `Tools/make_imaging_fixtures.py` (Pillow, torchvision).
enum Fixtures {
    static let root: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func data(_ relative: String) throws -> Data { try Data(contentsOf: url(relative)) }

    static func json(_ relative: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: data(relative)) as! [String: Any]
    }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gfp-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }
}

/// Integer levels of an image in [0, 1]: `round(x · maximum)`.
func levels(_ image: Tensor, maximum: Float = 255) -> [Int] {
    image.scalars.map { Int(($0 * maximum).rounded()) }
}

/// Asserts that `image` holds exactly `expected` 8-bit levels, as `level / 255` in Float32.
func assertEightBit(_ image: Tensor, _ expected: [Int], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(image.count, expected.count, "\(message): element count", file: file, line: line)
    let scalars = image.scalars
    var mismatches = 0
    for (value, level) in zip(scalars, expected) where value != Float(level) / 255 { mismatches += 1 }
    XCTAssertEqual(mismatches, 0, "\(message): \(mismatches) samples differ", file: file, line: line)
}

/// A seeded random image on the 1/maximum grid.
func randomImage(_ shape: [Int], maximum: Float = 255, seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<count).map { _ in Float(UInt32.random(in: 0...UInt32(maximum), using: &generator)) / maximum })
}

/// Largest absolute difference of two equally shaped tensors.
func maximumDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
