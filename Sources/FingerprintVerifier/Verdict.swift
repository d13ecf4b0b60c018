/// The decision on whether decoded bits carry a fingerprint, with the numbers behind it.
///
/// A verdict compares k matching bits out of n against the threshold for a false-positive rate α
/// (corrected for the number of candidate fingerprints compared, see
/// `threshold(forFalsePositiveRate:bits:candidates:chanceAgreement:)`): `matched` is k ≥ threshold,
/// which is the same as `pValue ≤ α`.
///
/// ```swift
/// let verdict = try Verdict(decoded: decodedBits, expected: issuedFingerprint, falsePositiveRate: 1e-6)
/// if verdict.matched { print("carries the fingerprint, p = \(verdict.pValue)") }
/// ```
public struct Verdict: Hashable, Codable, Sendable {
    /// Whether the bits are declared a match: `matchingBits >= threshold`.
    public let matched: Bool
    /// k, the number of bits that agree.
    public let matchingBits: Int
    /// n, the number of bits compared.
    public let bitCount: Int
    /// The p-value of `matchingBits` under the null hypothesis, corrected for `candidates`
    /// (Bonferroni); zero when it underflows, see `logPValue`.
    public let pValue: Double
    /// The natural logarithm of `pValue`, which never underflows.
    public let logPValue: Double
    /// The least number of matching bits declared a match; `bitCount + 1` when none can be.
    public let threshold: Int
    /// The accepted false-positive rate α.
    public let falsePositiveRate: Double
    /// The number of fingerprints compared (1 for a single known fingerprint).
    public let candidates: Int

    /// The fraction of matching bits, k / n.
    public var bitAccuracy: Double { bitCount == 0 ? 0 : Double(matchingBits) / Double(bitCount) }

    /// The verdict for `matchingBits` agreements out of `bitCount`, at false-positive rate
    /// `falsePositiveRate` among `candidates` fingerprints, each bit agreeing by chance with
    /// probability `chanceAgreement` under the null hypothesis.
    public init(matchingBits: Int, bitCount: Int, falsePositiveRate: Double, candidates: Int = 1,
                chanceAgreement: Double = 0.5) {
        precondition(bitCount >= 0 && matchingBits >= 0 && matchingBits <= bitCount,
                     "Verdict for \(matchingBits) matching bits out of \(bitCount)")
        let threshold = FingerprintVerifier.threshold(
            forFalsePositiveRate: falsePositiveRate, bits: bitCount, candidates: candidates,
            chanceAgreement: chanceAgreement)
        self.matched = matchingBits >= threshold
        self.matchingBits = matchingBits
        self.bitCount = bitCount
        self.pValue = FingerprintVerifier.pValue(
            matchingBits: matchingBits, of: bitCount, candidates: candidates, chanceAgreement: chanceAgreement)
        self.logPValue = FingerprintVerifier.logPValue(
            matchingBits: matchingBits, of: bitCount, candidates: candidates, chanceAgreement: chanceAgreement)
        self.threshold = threshold
        self.falsePositiveRate = falsePositiveRate
        self.candidates = candidates
    }

    /// The verdict on `decoded` bits against the `expected` fingerprint.
    ///
    /// - Throws: `VerifierError.lengthMismatch` when the two differ in length.
    public init(decoded: Fingerprint, expected: Fingerprint, falsePositiveRate: Double, candidates: Int = 1,
                chanceAgreement: Double = 0.5) throws {
        guard decoded.bitCount == expected.bitCount else {
            throw VerifierError.lengthMismatch(expected: expected.bitCount, found: decoded.bitCount)
        }
        self.init(matchingBits: decoded.matchingBitCount(with: expected), bitCount: expected.bitCount,
                  falsePositiveRate: falsePositiveRate, candidates: candidates, chanceAgreement: chanceAgreement)
    }
}

extension Verdict: CustomStringConvertible {
    /// One line, for example `match: 121/128 bits agree, p = 2.3e-29 (threshold 97 at α = 1e-06)`.
    public var description: String {
        let candidatesNote = candidates > 1 ? " among \(candidates) candidates" : ""
        let thresholdText = threshold > bitCount ? "no k is significant" : "threshold \(threshold)"
        return "\(matched ? "match" : "no match"): \(matchingBits)/\(bitCount) bits agree, "
            + "p = \(pValue) (\(thresholdText) at α = \(falsePositiveRate)\(candidatesNote))"
    }
}
