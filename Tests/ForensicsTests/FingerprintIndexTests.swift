import Forensics
import Tensor
import XCTest

final class FingerprintIndexTests: XCTestCase {
    /// Nearest matches against a brute-force search, for 1-, 2- and 3-word fingerprints, on the
    /// one-thread path (small indexes) and the parallel one (≥ 65,536 entries).
    func testNearestAgreesWithBruteForce() {
        var generator = SeededGenerator(seed: 42)
        for (bitCount, count) in [(48, 3_000), (128, 5_000), (128, 4_099), (130, 2_000), (128, 70_001), (64, 70_001)] {
            let index = FingerprintIndex.random(count: count, bitCount: bitCount, using: &generator)
            XCTAssertEqual(index.count, count)
            XCTAssertEqual(index.words.count, count * Fingerprint.wordCount(forBitCount: bitCount))
            let fingerprints = (0..<count).map { index.fingerprint(at: $0) }
            for trial in 0..<4 {
                var query = Fingerprint.random(bitCount: bitCount, using: &generator)
                if trial < 2 {
                    // Near a stored entry (one in the middle, then the last): a planted close match.
                    query = fingerprints[trial == 0 ? count / 3 : count - 1]
                    for bit in 0..<5 { query[bit * 7].toggle() }
                }
                let distances = fingerprints.map { $0.hammingDistance(to: query) }
                let best = distances.min()!
                let expected = distances.firstIndex(of: best)!
                let found = index.nearest(to: query)!
                XCTAssertEqual(found.distance, best, "\(bitCount) bits, \(count) entries")
                XCTAssertEqual(found.position, expected, "the first among equals")
                XCTAssertEqual(found.identifier, Int64(expected))
                if trial < 2 { XCTAssertLessThanOrEqual(found.distance, 5) }
                XCTAssertEqual(index.containsEntry(closerThan: best + 1, to: query), true)
                XCTAssertEqual(index.containsEntry(closerThan: best, to: query), false)
            }
        }
    }

    func testRandomIndexMasksUnusedBitsAndAppendKeepsOrder() {
        var generator = SeededGenerator(seed: 9)
        let index = FingerprintIndex.random(count: 100, bitCount: 70, using: &generator)
        XCTAssert(index.words.enumerated().allSatisfy { $0.offset % 2 == 0 || $0.element >> 6 == 0 })
        var built = FingerprintIndex(bitCount: 70)
        XCTAssertNil(built.nearest(to: Fingerprint(bitCount: 70)))
        for i in 0..<100 { built.append(index.fingerprint(at: i), identifier: Int64(1000 + i)) }
        XCTAssertEqual(built.words, index.words)
        XCTAssertEqual(built.nearest(to: index.fingerprint(at: 37))?.identifier, 1037)
    }
}
