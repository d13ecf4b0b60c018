import Foundation
import Forensics
import TestSupport
import XCTest

/// The `gfp` executable as scripts use it: registry commands from two processes at once, verdicts,
/// JSON output and exit statuses (0 match, 1 no match, 2 error, 64 usage).
final class CommandLineTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gfp-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts `gfp arguments`, its standard output and error going to files in the test directory.
    func start(_ arguments: [String], name: String) throws -> (Process, stdout: URL, stderr: URL) {
        try CommandLineRunner(directory: directory).start(arguments, name: name)
    }

    /// Runs `gfp arguments` to completion.
    func gfp(_ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
        try CommandLineRunner(directory: directory).run(arguments)
    }

    func testTwoProcessesIssuingAtOnceEndWithDistinctSpacedFingerprints() throws {
        let database = directory.appendingPathComponent("shared.sqlite").path
        XCTAssertEqual(try gfp("registry", "create", "--database", database, "--bits", "128").status, 0)
        let first = try start(["registry", "issue", "--database", database, "--recipient", "first", "--count", "1000",
                               "--seed", "1"], name: "first")
        let second = try start(["registry", "issue", "--database", database, "--recipient", "second", "--count", "1000",
                                "--seed", "2"], name: "second")
        first.0.waitUntilExit()
        second.0.waitUntilExit()
        for run in [first, second] {
            let errors = try String(contentsOf: run.stderr, encoding: .utf8)
            XCTAssertEqual(run.0.terminationStatus, 0, errors)
        }

        let registry = try FingerprintRegistry(path: database)
        let entries = try registry.entries()
        XCTAssertEqual(entries.count, 2000)
        XCTAssertEqual(Set(entries.map(\.id)).count, 2000)
        XCTAssertEqual(Set(entries.map(\.fingerprint)).count, 2000, "2,000 distinct fingerprints")
        XCTAssertEqual(entries.filter { $0.recipient == "first" }.count, 1000)
        // Every pair keeps the registry's minimum distance: no two transactions read the same state.
        var closest = Int.max
        for i in entries.indices {
            for j in (i + 1)..<entries.count {
                closest = min(closest, entries[i].fingerprint.hammingDistance(to: entries[j].fingerprint))
            }
        }
        XCTAssertGreaterThanOrEqual(closest, registry.minimumDistance)
        let switches = zip(entries, entries.dropFirst()).filter { $0.recipient != $1.recipient }.count
        print("two processes issued 2,000 fingerprints, closest pair at distance \(closest), "
              + "\(switches) alternations between the processes in id order")
        // Each process printed its own entries, and they agree with the database.
        let printed = try String(contentsOf: first.stdout, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(printed.count, 1000)
        let firstLine = printed[0].split(separator: "\t")
        XCTAssertEqual(try registry.entry(id: Int64(firstLine[0])!)?.fingerprint.description, String(firstLine[1]))
    }

    func testRegistryCommandsAndExitStatuses() throws {
        let database = directory.appendingPathComponent("registry.sqlite").path
        let created = try gfp("registry", "create", "--database", database, "--bits", "64", "--minimum-distance", "16", "--json")
        XCTAssertEqual(created.status, 0)
        XCTAssert(created.stdout.contains("\"bitCount\":\"64\""), created.stdout)
        XCTAssertEqual(try gfp("registry", "create", "--database", database).status, 2, "exists already")

        let issued = try gfp("registry", "issue", "--database", database, "--recipient", "alice", "--model-id", "gan-1",
                             "--count", "3", "--seed", "7", "--json")
        XCTAssertEqual(issued.status, 0, issued.stderr)
        let entries = try JSONDecoder().decode([RegistryEntry].self, from: Data(issued.stdout.utf8))
        XCTAssertEqual(entries.map(\.recipient), ["alice", "alice", "alice"])
        let listed = try gfp("registry", "list", "--database", database, "--json")
        XCTAssertEqual(try JSONDecoder().decode([RegistryEntry].self, from: Data(listed.stdout.utf8)), entries)

        // A decoded copy with 4 flipped bits matches entry 2; zeros match nothing.
        var decoded = entries[1].fingerprint
        for bit in [1, 2, 3, 4] { decoded[bit].toggle() }
        let match = try gfp("registry", "match", "--database", database, decoded.description, "--json")
        XCTAssertEqual(match.status, 0, match.stderr)
        let result = try JSONDecoder().decode(RegistryMatch.self, from: Data(match.stdout.utf8))
        XCTAssertEqual(result.entry.id, entries[1].id)
        XCTAssertEqual(result.distance, 4)
        XCTAssertEqual(result.verdict.candidates, 3)
        let noMatch = try gfp("registry", "match", "--database", database, String(repeating: "0", count: 64))
        XCTAssertEqual(noMatch.status, 1)
        XCTAssert(noMatch.stdout.contains("no match"), noMatch.stdout)

        // Export, import into a fresh registry, and the same entries come back.
        let exportFile = directory.appendingPathComponent("export.json").path
        XCTAssertEqual(try gfp("registry", "export", "--database", database, "--output", exportFile).status, 0)
        let copy = directory.appendingPathComponent("copy.sqlite").path
        XCTAssertEqual(try gfp("registry", "create", "--database", copy, "--bits", "64", "--minimum-distance", "16").status, 0)
        XCTAssertEqual(try gfp("registry", "import", "--database", copy, exportFile).status, 0)
        XCTAssertEqual(try FingerprintRegistry(path: copy).entries(), entries)

        // Errors: one line on standard error and status 2; usage errors 64.
        let missing = try gfp("registry", "list", "--database", directory.appendingPathComponent("none.sqlite").path)
        XCTAssertEqual(missing.status, 2)
        XCTAssert(missing.stderr.hasPrefix("gfp: error: no fingerprint registry at"), missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1)
        let garbage = directory.appendingPathComponent("garbage.sqlite").path
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: garbage))
        let corrupt = try gfp("registry", "match", "--database", garbage, "0101")
        XCTAssertEqual(corrupt.status, 2)
        XCTAssert(corrupt.stderr.contains("corrupt or not an SQLite database"), corrupt.stderr)
        XCTAssertEqual(try gfp("registry", "match", "--database", database, "0101").status, 2, "wrong length")
        XCTAssertEqual(try gfp("registry", "issue", "--database", database).status, 64, "no --recipient")
    }

    func testVerifyPrintsVerdictsAndSeparatesNoMatchFromErrors() throws {
        let expected = String(repeating: "0110", count: 25)  // 100 bits
        var decoded = Array(expected)
        for i in 0..<25 { decoded[i * 4] = decoded[i * 4] == "0" ? "1" : "0" }  // 75 of 100 agree
        let text = try gfp("verify", String(decoded), expected, "--false-positive-rate", "1e-7")
        XCTAssertEqual(text.status, 1, "p ≈ 2.8e-7 is above α = 1e-7")
        XCTAssert(text.stdout.hasPrefix("no match: 75/100 bits agree, p = 2.8181410171"), text.stdout)

        let json = try gfp("verify", String(decoded), expected, "--json")
        XCTAssertEqual(json.status, 0)
        let verdict = try JSONDecoder().decode(Verdict.self, from: Data(json.stdout.utf8))
        XCTAssertTrue(verdict.matched)
        XCTAssertEqual(verdict.matchingBits, 75)
        XCTAssertEqual(verdict.pValue, 2.818141017102701e-07, accuracy: 1e-18)
        XCTAssertEqual(verdict.threshold, 74, "default α = 1e-6")

        let file = directory.appendingPathComponent("decoded.txt")
        try (expected + "\n" + String(decoded) + "\n").write(to: file, atomically: true, encoding: .utf8)
        let batch = try gfp("verify", "--decoded-file", file.path, expected, "--candidates", "1000")
        XCTAssertEqual(batch.status, 1, "the second line does not match among 1,000 candidates")
        XCTAssertEqual(batch.stdout.split(separator: "\n").count, 2)
        XCTAssert(batch.stdout.hasPrefix("match: 100/100"), batch.stdout)

        let mismatch = try gfp("verify", "0101", expected)
        XCTAssertEqual(mismatch.status, 2)
        XCTAssertEqual(mismatch.stderr, "gfp: error: fingerprint length mismatch: expected 100 bits, found 4\n")
        XCTAssertEqual(try gfp("verify", "01x1", "0101").status, 2)
        XCTAssertEqual(try gfp("verify", "0101").status, 64)
    }
}
