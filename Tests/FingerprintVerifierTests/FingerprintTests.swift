import Foundation
import XCTest
@testable import FingerprintVerifier

final class FingerprintTests: XCTestCase {
    func testParsingPrintingAndBitOrder() throws {
        let fingerprint = try Fingerprint(parsing: "0110")
        XCTAssertEqual(fingerprint.bitCount, 4)
        XCTAssertEqual(fingerprint.words, [0b0110])
        XCTAssertEqual(Array(fingerprint), [false, true, true, false])
        XCTAssertEqual(fingerprint.description, "0110")
        let long = String(repeating: "1", count: 64) + "0" + "1"
        let parsed = try Fingerprint(parsing: long)
        XCTAssertEqual(parsed.words, [UInt64.max, 0b10])
        XCTAssertEqual(parsed.description, long)
        XCTAssertEqual(Fingerprint(long), parsed)
        XCTAssertNil(Fingerprint("01x1"))
        XCTAssertNil(Fingerprint(""))
    }

    func testParsingErrorsAreTyped() {
        XCTAssertThrowsError(try Fingerprint(parsing: "0102")) { error in
            XCTAssertEqual(error as? VerifierError, .invalidBitCharacter("2", offset: 3))
        }
        XCTAssertThrowsError(try Fingerprint(parsing: "01é1")) { error in
            XCTAssertEqual(error as? VerifierError, .invalidBitCharacter("é", offset: 2), "offsets count characters")
        }
        XCTAssertThrowsError(try Fingerprint(parsing: "")) { error in
            XCTAssertEqual(error as? VerifierError, .emptyBitString)
        }
    }

    func testWordsInitialiserClearsUnusedBits() {
        let fingerprint = Fingerprint(words: [UInt64.max], bitCount: 3)
        XCTAssertEqual(fingerprint.words, [0b111])
        XCTAssertEqual(fingerprint, Fingerprint(bits: [true, true, true]))
        XCTAssertEqual(fingerprint.nonzeroBitCount, 3)
    }

    func testRandomFingerprintsAreSeededAndMasked() {
        var a = TestGenerator(seed: 7), b = TestGenerator(seed: 7)
        let x = Fingerprint.random(bitCount: 100, using: &a)
        XCTAssertEqual(x, Fingerprint.random(bitCount: 100, using: &b))
        XCTAssertEqual(x.words.count, 2)
        XCTAssertEqual(x.words[1] >> 36, 0, "bits past 100 are zero")
        XCTAssertNotEqual(x, Fingerprint.random(bitCount: 100, using: &a))
    }

    func testHammingDistanceAgainstBitByBitCount() {
        var generator = TestGenerator(seed: 1)
        for bitCount in [1, 63, 64, 65, 128, 200, 4096] {
            let a = Fingerprint.random(bitCount: bitCount, using: &generator)
            let b = Fingerprint.random(bitCount: bitCount, using: &generator)
            let naive = zip(a, b).filter { $0 != $1 }.count
            XCTAssertEqual(a.hammingDistance(to: b), naive)
            XCTAssertEqual(a.matchingBitCount(with: b), bitCount - naive)
            XCTAssertEqual(a.hammingDistance(to: a), 0)
        }
    }

    func testMutationAndThresholding() {
        var fingerprint = Fingerprint(bitCount: 70)
        fingerprint[69] = true
        fingerprint[3] = true
        fingerprint[3] = false
        XCTAssertEqual(fingerprint.words, [0, 1 << 5])
        let decided = Fingerprint(thresholding: [0.9, 0.1, 0.5, 0.51] as [Float], at: 0.5)
        XCTAssertEqual(decided.description, "1001")
    }

    func testCodableAsBitString() throws {
        let fingerprint = try Fingerprint(parsing: "10110")
        let data = try JSONEncoder().encode([fingerprint])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "[\"10110\"]")
        XCTAssertEqual(try JSONDecoder().decode([Fingerprint].self, from: data), [fingerprint])
        XCTAssertThrowsError(try JSONDecoder().decode([Fingerprint].self, from: Data("[\"10a\"]".utf8)))
    }

    func testBitAccuracyAndMajorityVote() throws {
        let expected = try Fingerprint(parsing: "11110000")
        let decoded = try ["11110000", "11110001", "01110011"].map { try Fingerprint(parsing: $0) }
        XCTAssertEqual(bitAccuracies(decoded: decoded, expected: expected), [1, 7.0 / 8, 5.0 / 8])
        XCTAssertEqual(meanBitAccuracy(decoded: decoded, expected: expected), (1 + 7.0 / 8 + 5.0 / 8) / 3, accuracy: 1e-15)
        XCTAssertEqual(meanBitAccuracy(decoded: decoded, expected: [expected, expected, decoded[2]]), (1 + 7.0 / 8 + 1) / 3,
                       accuracy: 1e-15)
        XCTAssertEqual(Fingerprint.majorityVote(decoded).description, "11110001")
        // An even split gives 0.
        XCTAssertEqual(Fingerprint.majorityVote(Array(decoded.prefix(2))).description, "11110000")
        // Majority voting over many noisy copies recovers the fingerprint.
        var generator = TestGenerator(seed: 3)
        let truth = Fingerprint.random(bitCount: 128, using: &generator)
        let noisy = (0..<51).map { _ in
            Fingerprint(bits: truth.map { bit in Double(generator.next() >> 11) * 0x1p-53 < 0.3 ? !bit : bit })
        }
        XCTAssertLessThan(meanBitAccuracy(decoded: noisy, expected: truth), 0.8)
        XCTAssertEqual(Fingerprint.majorityVote(noisy), truth)
    }

    func testVerdict() throws {
        let expected = try Fingerprint(parsing: String(repeating: "01", count: 64))
        var decoded = expected
        for i in 0..<7 { decoded[i * 9].toggle() }
        let verdict = try Verdict(decoded: decoded, expected: expected, falsePositiveRate: 1e-6)
        XCTAssertTrue(verdict.matched)
        XCTAssertEqual(verdict.matchingBits, 121)
        XCTAssertEqual(verdict.bitCount, 128)
        XCTAssertEqual(verdict.threshold, 92)
        XCTAssertEqual(verdict.pValue, pValue(matchingBits: 121, of: 128))
        XCTAssertEqual(verdict.bitAccuracy, 121.0 / 128)
        XCTAssert(verdict.description.hasPrefix("match: 121/128 bits agree"), verdict.description)

        let unrelated = Verdict(matchingBits: 70, bitCount: 128, falsePositiveRate: 1e-6, candidates: 1000)
        XCTAssertFalse(unrelated.matched)
        XCTAssertEqual(unrelated.threshold, 98)
        XCTAssertEqual(unrelated.pValue, 1)
        XCTAssert(unrelated.description.hasPrefix("no match"))

        XCTAssertThrowsError(try Verdict(decoded: Fingerprint(bitCount: 127), expected: expected, falsePositiveRate: 0.01)) {
            XCTAssertEqual($0 as? VerifierError, .lengthMismatch(expected: 128, found: 127))
        }
        let roundTrip = try JSONDecoder().decode(Verdict.self, from: JSONEncoder().encode(verdict))
        XCTAssertEqual(roundTrip, verdict)
    }
}

/// SplitMix64: a small seeded generator for tests, so that the verifier's tests need no other module.
struct TestGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
