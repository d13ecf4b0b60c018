import CHammingKernels
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

    /// Each kernel this CPU can run (portable always; POPCNT and AVX-512 VPOPCNTDQ where present)
    /// gives the brute-force answer, including ties, the vector loop's remainder and empty ranges.
    func testEveryKernelAgreesWithBruteForce() {
        var generator = SeededGenerator(seed: 8)
        var kernelsRun: Set<String> = []
        for (bitCount, count) in [(128, 1_003), (64, 500), (192, 301), (128, 7)] {
            let index = FingerprintIndex.random(count: count, bitCount: bitCount, using: &generator)
            var fingerprints = (0..<count).map { index.fingerprint(at: $0) }
            // Duplicates make ties: the first position must win.
            var tied = FingerprintIndex(bitCount: bitCount)
            fingerprints += fingerprints.prefix(3)
            for (i, fingerprint) in fingerprints.enumerated() { tied.append(fingerprint, identifier: Int64(i)) }
            for trial in 0..<6 {
                let query = trial < 3 ? fingerprints[count - 1 - trial] : Fingerprint.random(bitCount: bitCount, using: &generator)
                for range in [0..<fingerprints.count, 1..<fingerprints.count - 2, 5..<5] {
                    let distances = range.map { fingerprints[$0].hammingDistance(to: query) }
                    let expectedDistance = distances.min() ?? Int(Int64.max)
                    let expectedPosition = distances.firstIndex(of: expectedDistance).map { range.lowerBound + $0 } ?? range.lowerBound
                    for kernel in ["portable", "popcnt", "avx512-vpopcntdq"] {
                        var distance: Int64 = -1, position: Int64 = -1
                        let ran = tied.words.withUnsafeBufferPointer { words in
                            query.words.withUnsafeBufferPointer { q in
                                gfp_hamming_nearest_with_kernel(kernel, words.baseAddress, tied.wordsPerEntry, range.lowerBound,
                                                                range.upperBound, q.baseAddress, &distance, &position)
                            }
                        }
                        guard ran == 1 else { continue }
                        kernelsRun.insert(kernel)
                        XCTAssertEqual(Int(distance), expectedDistance, "\(kernel), \(bitCount) bits, range \(range)")
                        XCTAssertEqual(Int(position), expectedPosition, "\(kernel), \(bitCount) bits, range \(range)")
                    }
                }
            }
        }
        XCTAssert(kernelsRun.contains("portable"))
        print("Hamming kernels checked on this CPU: \(kernelsRun.sorted()); searches use \(FingerprintIndex(bitCount: 128).searchKernel)")
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
