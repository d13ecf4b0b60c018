import Foundation
import XCTest
@testable import FingerprintVerifier

/// Binomial tails and thresholds against exact sums and SciPy (`Tools/make_forensics_fixtures.py`).
final class BinomialTailTests: XCTestCase {
    struct Tail: Decodable {
        let n: Int, k: Int, p: Double
        let scipySF: Double?, exactSF: Double?, exactLogSF: Double
        enum CodingKeys: String, CodingKey {
            case n, k, p, scipySF = "scipy_sf", exactSF = "exact_sf", exactLogSF = "exact_log_sf"
        }
    }
    struct ThresholdCase: Decodable { let n: Int, alpha: Double, candidates: Int, p: Double, k: Int }
    struct Fixture: Decodable { let tails: [Tail]; let thresholds: [ThresholdCase] }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "binomial", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    func relativeError(_ value: Double, _ reference: Double) -> Double {
        abs(value - reference) / abs(reference)
    }

    func testTailsMatchSciPyWithin1e12Relative() {
        var checked = 0, worst = 0.0
        for c in Self.fixture.tails {
            guard let reference = c.scipySF else { continue }
            let value = binomialTail(atLeast: c.k, trials: c.n, probability: c.p)
            let error = relativeError(value, reference)
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(error, 1e-12, "P(X ≥ \(c.k) | n = \(c.n), p = \(c.p)) = \(value), SciPy \(reference)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 850)
        print("binomial tails vs SciPy: \(checked) cases, worst relative error \(worst)")
    }

    func testTailsMatchExactSumsWithin1e12Relative() {
        var worst = 0.0
        for c in Self.fixture.tails {
            guard let reference = c.exactSF else { continue }
            let value = binomialTail(atLeast: c.k, trials: c.n, probability: c.p)
            worst = max(worst, relativeError(value, reference))
            XCTAssertLessThanOrEqual(relativeError(value, reference), 1e-12,
                                     "P(X ≥ \(c.k) | n = \(c.n), p = \(c.p)) = \(value), exact \(reference)")
        }
        print("binomial tails vs exact sums: worst relative error \(worst)")
    }

    /// The logarithm everywhere, including tails far below the smallest Double (n = 4096, k = 4000:
    /// about e^-2387): absolute error 1e-12 in the logarithm is 1e-12 relative in the probability.
    func testLogTailsMatchExactSumsIncludingDeepTails() {
        var deep = 0
        for c in Self.fixture.tails {
            let value = logBinomialTail(atLeast: c.k, trials: c.n, probability: c.p)
            XCTAssertEqual(value, c.exactLogSF, accuracy: 1e-12 * max(1, abs(c.exactLogSF)),
                           "log P(X ≥ \(c.k) | n = \(c.n), p = \(c.p))")
            if c.exactLogSF < log(1e-300) { deep += 1 }
        }
        XCTAssertGreaterThan(deep, 20, "the fixture should hold tails below 1e-300")
        let deepest = logBinomialTail(atLeast: 4000, trials: 4096, probability: 0.5)
        XCTAssertEqual(deepest, -2387.10246228124, accuracy: 1e-9)
        XCTAssertEqual(binomialTail(atLeast: 4000, trials: 4096, probability: 0.5), 0, "underflows as documented")
    }

    func testPaperExamples() {
        // ICCV'21: 75 of 100 bits, p ≈ 2.8e-7; ICLR'22: 121 of 128 bits.
        XCTAssertEqual(pValue(matchingBits: 75, of: 100), 2.818141017102701e-07, accuracy: 1e-12 * 2.8e-7)
        XCTAssertEqual(pValue(matchingBits: 121, of: 128), 2.945347751630233e-28, accuracy: 1e-12 * 2.9e-28)
    }

    func testEdgesAndSymmetry() {
        XCTAssertEqual(binomialTail(atLeast: 0, trials: 10, probability: 0.3), 1)
        XCTAssertEqual(binomialTail(atLeast: -3, trials: 10, probability: 0.3), 1)
        XCTAssertEqual(binomialTail(atLeast: 11, trials: 10, probability: 0.3), 0)
        XCTAssertEqual(logBinomialTail(atLeast: 11, trials: 10, probability: 0.3), -.infinity)
        XCTAssertEqual(binomialTail(atLeast: 1, trials: 10, probability: 0), 0)
        XCTAssertEqual(binomialTail(atLeast: 10, trials: 10, probability: 1), 1)
        XCTAssertEqual(binomialTail(atLeast: 0, trials: 0, probability: 0.5), 1)
        XCTAssertEqual(binomialTail(atLeast: 10, trials: 10, probability: 0.5), 0x1p-10)
        // With p = 1/2, P(X ≥ k) = P(X ≤ n − k) = 1 − P(X ≥ n − k + 1).
        for n in [7, 64, 129] {
            for k in 0...n + 1 {
                let upper = binomialTail(atLeast: k, trials: n, probability: 0.5)
                let complement = 1 - binomialTail(atLeast: n - k + 1, trials: n, probability: 0.5)
                XCTAssertEqual(upper, complement, accuracy: 1e-14, "n = \(n), k = \(k)")
            }
        }
    }

    func testTailsSumToOneAcrossTheSupport() {
        // Σ_k P(X = k) = 1, with P(X = k) = P(X ≥ k) − P(X ≥ k + 1).
        for (n, p) in [(100, 0.5), (333, 0.2), (4096, 0.5), (50, 0.97)] {
            var total = 0.0
            for k in 0...n {
                total += binomialTail(atLeast: k, trials: n, probability: p) - binomialTail(atLeast: k + 1, trials: n, probability: p)
            }
            XCTAssertEqual(total, 1, accuracy: 1e-12, "n = \(n), p = \(p)")
        }
    }

    func testThresholdsMatchExactSums() {
        for c in Self.fixture.thresholds {
            XCTAssertEqual(threshold(forFalsePositiveRate: c.alpha, bits: c.n, candidates: c.candidates, chanceAgreement: c.p), c.k,
                           "threshold(α = \(c.alpha), n = \(c.n), N = \(c.candidates), p = \(c.p))")
        }
    }

    /// The threshold is the least k whose corrected p-value is at most α: k passes, k − 1 fails.
    func testThresholdsInvertPValues() {
        for n in [1, 16, 48, 100, 128, 1000, 4096] {
            for alpha in [0.9, 0.05, 1e-3, 1e-6, 1e-12, 1e-30, 1e-100, 1e-250] {
                for candidates in [1, 7, 1_000_000] {
                    let k = threshold(forFalsePositiveRate: alpha, bits: n, candidates: candidates)
                    XCTAssert((0...n + 1).contains(k))
                    if k <= n {
                        XCTAssertLessThanOrEqual(logPValue(matchingBits: k, of: n, candidates: candidates), log(alpha),
                                                 "n = \(n), α = \(alpha), N = \(candidates): k = \(k) must be significant")
                    }
                    if k > 0 {
                        XCTAssertGreaterThan(logPValue(matchingBits: k - 1, of: n, candidates: candidates), log(alpha),
                                             "n = \(n), α = \(alpha), N = \(candidates): k − 1 = \(k - 1) must not be")
                    }
                }
            }
        }
        XCTAssertEqual(threshold(forFalsePositiveRate: 1e-6, bits: 10), 11, "10 bits never reach 1e-6")
        XCTAssertEqual(threshold(forFalsePositiveRate: 1, bits: 10), 0)
        XCTAssertEqual(threshold(forFalsePositiveRate: 1e-6, bits: 128), 92)
        XCTAssertEqual(threshold(forFalsePositiveRate: 1e-6, bits: 128, candidates: 1000), 98)
    }

    func testBonferroniCorrection() {
        let single = pValue(matchingBits: 100, of: 128)
        XCTAssertEqual(pValue(matchingBits: 100, of: 128, candidates: 1000), 1000 * single, accuracy: 1e-12 * 1000 * single)
        XCTAssertEqual(pValue(matchingBits: 64, of: 128, candidates: 1000), 1, "capped at 1")
        XCTAssertEqual(logPValue(matchingBits: 64, of: 128, candidates: 1000), 0)
        XCTAssertEqual(logPValue(matchingBits: 4000, of: 4096, candidates: 10_000_000),
                       log(1e7) + logBinomialTail(atLeast: 4000, trials: 4096, probability: 0.5), accuracy: 1e-9)
    }
}
