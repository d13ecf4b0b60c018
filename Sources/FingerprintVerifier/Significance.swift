#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

// Deciding whether decoded bits match a fingerprint.
//
// Null hypothesis: the image does not carry the fingerprint, so each decoded bit agrees with the
// fingerprint's bit by chance, independently, with probability p (0.5 for unbiased bits). The
// number of agreeing bits is then Binomial(n, p), and seeing k or more agreements has probability
// P(X ≥ k): the p-value. A claim "this image carries fingerprint F" is made when the p-value is at
// most the false-positive rate α the owner accepts.
//
// Matching against a registry of N fingerprints (taking the nearest) makes N comparisons, and the
// chance that any one of them reaches k agreements by chance is what a false positive now means.
// The correction used here is Bonferroni's, N·P(X ≥ k) capped at 1, rather than Šidák's
// 1 − (1 − P)^N:
// - Šidák's formula is exact for independent comparisons, but the N comparisons share one
//   decoded string and are not independent. The event "some fingerprint within distance d" is
//   the union of N Hamming balls, whose probability is at most the sum of their probabilities
//   whatever their overlap: Bonferroni's bound holds without any independence assumption.
// - The bound is tight exactly when the balls are disjoint, which is what a registry that keeps
//   its fingerprints at least 2(n − k) + 1 bits apart guarantees; then N·P is the exact
//   false-positive probability of the nearest-match decision.
// - Where a claim is made at all (N·P ≤ α ≪ 1) the two agree to first order: Šidák is smaller
//   by a factor 1 − (N−1)P/2 + …, a relative difference below α/2.

/// The p-value of `k` matching bits out of `n`: P(X ≥ k) for X ~ Binomial(n, p), corrected for
/// `candidates` comparisons by Bonferroni's bound, min(1, N·P(X ≥ k)).
///
/// `pValue(matchingBits: 75, of: 100)` ≈ 2.8e-7, the ICCV'21 paper's example. For long
/// fingerprints whose p-values fall below 1e-308, use `logPValue(matchingBits:of:candidates:chanceAgreement:)`.
///
/// - Parameters:
///   - k: the number of decoded bits that agree with the fingerprint.
///   - n: the fingerprint length in bits.
///   - candidates: the number of fingerprints the bits were compared with (the registry size
///     when taking the nearest of N); 1 for a single known fingerprint.
///   - p: the chance that one bit agrees under the null hypothesis, 0.5 for unbiased bits.
public func pValue(matchingBits k: Int, of n: Int, candidates: Int = 1, chanceAgreement p: Double = 0.5) -> Double {
    precondition(candidates >= 1, "pValue for \(candidates) candidates: at least one is needed")
    let tail = binomialUpperTail(atLeast: k, trials: n, probability: p)
    if candidates == 1 { return tail.value }
    // N·P can overflow to ∞ only when the product exceeds 1 anyway.
    return min(1, Double(candidates) * tail.value)
}

/// The natural logarithm of `pValue(matchingBits:of:candidates:chanceAgreement:)`, which never
/// underflows: min(0, log N + log P(X ≥ k)).
public func logPValue(matchingBits k: Int, of n: Int, candidates: Int = 1, chanceAgreement p: Double = 0.5) -> Double {
    precondition(candidates >= 1, "logPValue for \(candidates) candidates: at least one is needed")
    let logTail = logBinomialTail(atLeast: k, trials: n, probability: p)
    return min(0, log(Double(candidates)) + logTail)
}

/// The smallest number of matching bits whose p-value is at most `falsePositiveRate`, corrected
/// for `candidates` comparisons: the least k with min(1, N·P(X ≥ k)) ≤ α.
///
/// Bits that agree in at least this many positions are declared a match; with unbiased bits an
/// unrelated image then matches with probability at most α. The result lies in `0...n + 1`;
/// `n + 1` means no outcome is significant at that rate (too few bits or too many candidates).
/// `threshold(forFalsePositiveRate: 1e-6, bits: 128)` is 92, and 98 among 1,000 candidates. The
/// decision rule is exactly `logPValue(matchingBits: k, of: n, candidates: N) <= log(α)`, found by
/// bisection.
///
/// - Parameters:
///   - falsePositiveRate: the accepted probability α ∈ (0, 1] of declaring an unrelated image a match.
///   - n: the fingerprint length in bits.
///   - candidates: the number of fingerprints compared with (the registry size), at least 1.
///   - p: the chance that one bit agrees under the null hypothesis.
public func threshold(forFalsePositiveRate falsePositiveRate: Double, bits n: Int, candidates: Int = 1,
                      chanceAgreement p: Double = 0.5) -> Int {
    precondition(falsePositiveRate > 0 && falsePositiveRate <= 1,
                 "threshold(forFalsePositiveRate: \(falsePositiveRate)): the rate must lie in (0, 1]")
    precondition(n >= 0, "threshold for \(n) bits")
    let logRate = log(falsePositiveRate)
    // logPValue is non-increasing in k; find its first value at or below log α in 0...n + 1.
    var low = 0, high = n + 1
    while low < high {
        let middle = (low + high) / 2
        if logPValue(matchingBits: middle, of: n, candidates: candidates, chanceAgreement: p) <= logRate {
            high = middle
        } else {
            low = middle + 1
        }
    }
    return low
}
