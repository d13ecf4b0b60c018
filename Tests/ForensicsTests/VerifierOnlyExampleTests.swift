import Foundation
import XCTest

/// Examples/VerifierOnly depends on the FingerprintVerifier product alone: it must build, run,
/// and link none of the C libraries the rest of gfp uses.
final class VerifierOnlyExampleTests: XCTestCase {
    /// Libraries a verifier-only binary must not load (oneDNN, OpenBLAS/LAPACK, HDF5, libpng,
    /// libjpeg, SQLite, OpenMP, and Foundation, which the verifier does not import).
    static let forbiddenLibraries = ["libdnnl", "libopenblas", "liblapack", "libhdf5", "libpng", "libjpeg",
                                     "libsqlite3", "libgomp", "libFoundation"]

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testBuildsAndLinksNoCLibrary() throws {
        let example = Self.packageRoot.appendingPathComponent("Examples/VerifierOnly").path
        // A scratch folder of its own inside the root's .build (ignored by git, removed by `make clean`),
        // so that this nested build never waits for the lock of the build running the tests.
        let scratch = Self.packageRoot.appendingPathComponent(".build/examples/VerifierOnly").path
        let arguments = ["build", "--package-path", example, "--scratch-path", scratch]
        let build = try run("swift", arguments)
        XCTAssertEqual(build.status, 0, "swift \(arguments.joined(separator: " ")):\n\(build.output)")
        guard build.status == 0 else { return }
        let binPath = try run("swift", arguments + ["--show-bin-path"]).output
            .split(separator: "\n").last.map(String.init) ?? ""
        let binary = URL(fileURLWithPath: binPath).appendingPathComponent("VerifierOnly").path

        let example75 = try run(binary, [])
        XCTAssertEqual(example75.status, 0, example75.output)
        XCTAssert(example75.output.hasPrefix("match: 75/100 bits agree, p = 2.8181410171"), example75.output)

        let linked = try run("ldd", [binary])
        XCTAssertEqual(linked.status, 0, linked.output)
        XCTAssert(linked.output.contains("libswiftCore"), "ldd lists the Swift runtime:\n\(linked.output)")
        for library in Self.forbiddenLibraries {
            XCTAssertFalse(linked.output.contains(library), "the verifier-only binary links \(library):\n\(linked.output)")
        }
    }
}
