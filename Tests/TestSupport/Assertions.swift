import Foundation
import Tensor
import XCTest

extension XCTestCase {
    /// Asserts that the largest element error, relative to the reference's largest magnitude
    /// (at least 1), is within `tolerance`.
    public func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-4, _ message: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, message, file: file, line: line)
        guard actual.shape == expected.shape else { return }
        let scale = max(1, expected.scalars.map { abs($0) }.max() ?? 0)
        let error = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(error / scale, tolerance, "\(message): max error \(error) at scale \(scale)",
                                 file: file, line: line)
    }

    /// A fresh temporary folder, removed when the test ends.
    public func makeTemporaryDirectory(prefix: String = "gfp-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
