import Foundation
import Forensics
import GRDB
import Tensor
import XCTest

final class FingerprintRegistryTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gfp-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testIssuingKeepsUniqueSpacedFingerprintsAndAReopenedRegistryAnswersTheSame() throws {
        let file = path("registry.sqlite")
        let registry = try FingerprintRegistry.create(at: file, bitCount: 64, minimumDistance: 20)
        var generator = SeededGenerator(seed: 1)
        let start = Date(timeIntervalSince1970: 1_800_000_000.123_4)
        var issued: [RegistryEntry] = []
        for i in 0..<200 {
            issued.append(try registry.issue(recipient: "user\(i % 7)", modelID: "model-\(i % 3)", note: i == 5 ? "vip" : "",
                                             createdAt: start.addingTimeInterval(Double(i)), using: &generator))
        }
        XCTAssertEqual(issued.map(\.id), Array(1...200))
        XCTAssertEqual(issued[0].createdAt.timeIntervalSince1970, 1_800_000_000.123, "kept to the millisecond")
        XCTAssertEqual(Set(issued.map(\.fingerprint)).count, 200)
        for i in issued.indices {
            for j in issued.indices where j > i {
                XCTAssertGreaterThanOrEqual(issued[i].fingerprint.hammingDistance(to: issued[j].fingerprint), 20)
            }
        }
        XCTAssertEqual(try registry.count(), 200)
        XCTAssertEqual(try registry.entries(), issued)

        // A second handle (as another process would open it) sees the same entries and matches.
        let reopened = try FingerprintRegistry(path: file)
        XCTAssertEqual(reopened.bitCount, 64)
        XCTAssertEqual(reopened.minimumDistance, 20)
        XCTAssertEqual(try reopened.entries(), issued)
        XCTAssertEqual(try reopened.entry(id: 6)?.note, "vip")
        var query = issued[41].fingerprint
        for bit in [0, 10, 20] { query[bit].toggle() }
        let match = try XCTUnwrap(reopened.nearestMatch(to: query, falsePositiveRate: 1e-3))
        XCTAssertEqual(match.entry, issued[41])
        XCTAssertEqual(match.distance, 3)
        XCTAssertTrue(match.verdict.matched)
        XCTAssertEqual(match.verdict.candidates, 200)
        XCTAssertEqual(match.verdict.pValue, pValue(matchingBits: 61, of: 64, candidates: 200))
        XCTAssertEqual(try registry.nearestMatch(to: query, falsePositiveRate: 1e-3), match)

        // Issuing through the reopened handle continues the sequence and keeps the spacing.
        let next = try reopened.issue(recipient: "late", modelID: "m", using: &generator)
        XCTAssertEqual(next.id, 201)
        XCTAssert(issued.allSatisfy { $0.fingerprint.hammingDistance(to: next.fingerprint) >= 20 })
        // And the first handle learns of it inside its next transaction.
        let after = try registry.issue(recipient: "later", modelID: "m", using: &generator)
        XCTAssertEqual(after.id, 202)
        XCTAssertGreaterThanOrEqual(after.fingerprint.hammingDistance(to: next.fingerprint), 20)
    }

    func testUnrelatedBitsDoNotMatch() throws {
        let registry = try FingerprintRegistry.inMemory(bitCount: 128, minimumDistance: 32)
        XCTAssertNil(try registry.nearestMatch(to: Fingerprint(bitCount: 128), falsePositiveRate: 1e-6), "empty registry")
        var generator = SeededGenerator(seed: 2)
        for _ in 0..<300 { _ = try registry.issue(recipient: "r", modelID: "m", using: &generator) }
        var unmatched = 0
        for _ in 0..<50 {
            let match = try XCTUnwrap(registry.nearestMatch(to: .random(bitCount: 128, using: &generator), falsePositiveRate: 1e-6))
            if !match.verdict.matched { unmatched += 1 }
            XCTAssertEqual(match.verdict.threshold, threshold(forFalsePositiveRate: 1e-6, bits: 128, candidates: 300))
        }
        XCTAssertEqual(unmatched, 50)
        XCTAssertThrowsError(try registry.nearestMatch(to: Fingerprint(bitCount: 64), falsePositiveRate: 0.01)) {
            XCTAssertEqual($0 as? RegistryError, .bitCountMismatch(expected: 128, found: 64))
        }
    }

    func testRegisteringKnownFingerprintsChecksDuplicatesAndDistance() throws {
        let registry = try FingerprintRegistry.inMemory(bitCount: 16, minimumDistance: 4)
        let first = try registry.register(Fingerprint(parsing: "0000000000000000"), recipient: "a", modelID: "m")
        XCTAssertThrowsError(try registry.register(Fingerprint(parsing: "0000000000000000"), recipient: "b", modelID: "m")) {
            XCTAssertEqual($0 as? RegistryError, .duplicateFingerprint(existing: first.id))
        }
        XCTAssertThrowsError(try registry.register(Fingerprint(parsing: "1110000000000000"), recipient: "b", modelID: "m")) {
            XCTAssertEqual($0 as? RegistryError, .tooClose(distance: 3, minimumDistance: 4, existing: first.id))
        }
        XCTAssertEqual(try registry.register(Fingerprint(parsing: "1111000000000000"), recipient: "b", modelID: "m").id, 2)
        XCTAssertThrowsError(try registry.register(Fingerprint(bitCount: 8), recipient: "c", modelID: "m")) {
            XCTAssertEqual($0 as? RegistryError, .bitCountMismatch(expected: 16, found: 8))
        }
        XCTAssertEqual(try registry.count(), 2)
    }

    func testAFullRegistryReportsIt() throws {
        // Four bits at distance ≥ 3 admit at most two fingerprints (a code of length 4, distance 3).
        let registry = try FingerprintRegistry.inMemory(bitCount: 4, minimumDistance: 3)
        var generator = SeededGenerator(seed: 3)
        var issued = 0
        do {
            for _ in 0..<10 { _ = try registry.issue(recipient: "r", modelID: "m", using: &generator); issued += 1 }
            XCTFail("a 4-bit registry with distance 3 cannot hold 10 entries")
        } catch let error as RegistryError {
            XCTAssertEqual(error, .registryFull(minimumDistance: 3, attempts: FingerprintRegistry.maximumAttempts))
        }
        XCTAssertEqual(issued, 2)
    }

    func testExportImportRoundTripIsAllOrNothing() throws {
        let source = try FingerprintRegistry.create(at: path("source.sqlite"), bitCount: 32, minimumDistance: 6)
        var generator = SeededGenerator(seed: 4)
        for i in 0..<25 { _ = try source.issue(recipient: "r\(i)", modelID: "m", note: "n\(i)", using: &generator) }
        let data = try source.export().jsonData()
        let decoded = try RegistryExport(jsonData: data)
        XCTAssertEqual(decoded, try source.export())
        let text = String(decoding: data, as: UTF8.self)
        XCTAssert(text.contains("\"format\" : \"gfp-fingerprint-registry\""))
        XCTAssertEqual(text.components(separatedBy: "\"createdAt\" : \"2").count, 26, "25 ISO 8601 times")

        let copy = try FingerprintRegistry.create(at: path("copy.sqlite"), bitCount: 32, minimumDistance: 6)
        XCTAssertEqual(try copy.importEntries(decoded), 25)
        XCTAssertEqual(try copy.entries(), try source.entries())
        // The copy issues after the imported ids and keeps its distance to them.
        let next = try copy.issue(recipient: "new", modelID: "m", using: &generator)
        XCTAssertEqual(next.id, 26)
        XCTAssert(try copy.entries().dropLast().allSatisfy { $0.fingerprint.hammingDistance(to: next.fingerprint) >= 6 })

        // Importing again conflicts on the first id, and nothing is added.
        XCTAssertThrowsError(try copy.importEntries(decoded)) {
            XCTAssertEqual($0 as? RegistryError, .duplicateIdentifier(1))
        }
        XCTAssertEqual(try copy.count(), 26)
        // Entries closer than a stricter registry allows are refused as a whole.
        let strict = try FingerprintRegistry.inMemory(bitCount: 32, minimumDistance: 30)
        XCTAssertThrowsError(try strict.importEntries(decoded))
        XCTAssertEqual(try strict.count(), 0)
        XCTAssertThrowsError(try FingerprintRegistry.inMemory(bitCount: 16, minimumDistance: 2).importEntries(decoded)) {
            XCTAssertEqual($0 as? RegistryError, .bitCountMismatch(expected: 16, found: 32))
        }
        XCTAssertThrowsError(try RegistryExport(jsonData: Data("{\"format\": \"other\"}".utf8))) {
            guard case .invalidExport? = $0 as? RegistryError else { return XCTFail("\($0)") }
        }
    }

    func testEntriesEncodeTimesToTheMillisecond() throws {
        for (seconds, text) in [(1.5, "1970-01-01T00:00:01.500Z"), (-0.25, "1969-12-31T23:59:59.750Z"),
                                (1_795_452_251.574, "2026-11-23T16:44:11.574Z")] {
            let entry = RegistryEntry(id: 1, fingerprint: try Fingerprint(parsing: "01"), recipient: "r", modelID: "m",
                                      createdAt: Date(timeIntervalSince1970: seconds), note: "")
            let json = String(decoding: try JSONEncoder().encode(entry), as: UTF8.self)
            XCTAssert(json.contains("\"createdAt\":\"\(text)\""), json)
            XCTAssertEqual(try JSONDecoder().decode(RegistryEntry.self, from: Data(json.utf8)), entry)
        }
    }

    func testMissingForeignAndCorruptFilesGiveClearErrors() throws {
        XCTAssertThrowsError(try FingerprintRegistry(path: path("missing.sqlite"))) {
            XCTAssertEqual($0 as? RegistryError, .notFound(path: self.path("missing.sqlite")))
        }
        // Random bytes: not an SQLite file at all.
        var generator = SeededGenerator(seed: 5)
        let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try garbage.write(to: URL(fileURLWithPath: path("garbage.sqlite")))
        XCTAssertThrowsError(try FingerprintRegistry(path: path("garbage.sqlite"))) { error in
            guard case .corruptDatabase(let file, let reason)? = error as? RegistryError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, self.path("garbage.sqlite"))
            XCTAssert(reason.contains("not a database"), reason)
            XCTAssert("\(error)".contains("corrupt"))
        }
        // A registry whose pages after the header were overwritten.
        let damaged = path("damaged.sqlite")
        do {
            let registry = try FingerprintRegistry.create(at: damaged, bitCount: 128, minimumDistance: 32)
            for _ in 0..<200 { _ = try registry.issue(recipient: "r", modelID: "m", using: &generator) }
        }
        try? FileManager.default.removeItem(atPath: damaged + "-wal")
        try? FileManager.default.removeItem(atPath: damaged + "-shm")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: damaged))
        for i in 4096..<bytes.count where i % 3 == 0 { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        try bytes.write(to: URL(fileURLWithPath: damaged))
        XCTAssertThrowsError(try FingerprintRegistry(path: damaged).entries()) { error in
            guard case .corruptDatabase? = error as? RegistryError else { return XCTFail("\(error)") }
        }
        // A valid SQLite database of something else.
        let foreign = path("foreign.sqlite")
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE photos (id INTEGER PRIMARY KEY)") }
        XCTAssertThrowsError(try FingerprintRegistry(path: foreign)) {
            XCTAssertEqual($0 as? RegistryError, .notARegistry(path: foreign))
        }
        XCTAssertThrowsError(try FingerprintRegistry.create(at: foreign, bitCount: 8, minimumDistance: 1)) {
            XCTAssertEqual($0 as? RegistryError, .alreadyExists(path: foreign))
        }
        XCTAssertThrowsError(try FingerprintRegistry.create(at: path("x.sqlite"), bitCount: 8, minimumDistance: 9)) {
            guard case .invalidParameters? = $0 as? RegistryError else { return XCTFail("\($0)") }
        }
    }
}
