/// The fraction of bits of `decoded` that agree with `expected`, in [0, 1].
///
/// Both must have the same length (a precondition: check lengths of user data first, or use
/// `Verdict(decoded:expected:falsePositiveRate:)`, which throws).
public func bitAccuracy(decoded: Fingerprint, expected: Fingerprint) -> Double {
    precondition(expected.bitCount > 0, "bitAccuracy of empty fingerprints")
    return Double(decoded.matchingBitCount(with: expected)) / Double(expected.bitCount)
}

/// The bit accuracy of each decoded fingerprint against the one `expected` fingerprint (the images
/// of one fingerprinted model).
public func bitAccuracies(decoded: [Fingerprint], expected: Fingerprint) -> [Double] {
    decoded.map { bitAccuracy(decoded: $0, expected: expected) }
}

/// The bit accuracy of each decoded fingerprint against its own expected fingerprint
/// (`decoded[i]` against `expected[i]`).
public func bitAccuracies(decoded: [Fingerprint], expected: [Fingerprint]) -> [Double] {
    precondition(decoded.count == expected.count,
                 "bitAccuracies of \(decoded.count) decoded and \(expected.count) expected fingerprints")
    return zip(decoded, expected).map { bitAccuracy(decoded: $0, expected: $1) }
}

/// The mean bit accuracy over images decoded against the one `expected` fingerprint, as the
/// papers report it; 0 for no images.
public func meanBitAccuracy(decoded: [Fingerprint], expected: Fingerprint) -> Double {
    mean(bitAccuracies(decoded: decoded, expected: expected))
}

/// The mean bit accuracy over pairs `decoded[i]`, `expected[i]`; 0 for no pairs.
public func meanBitAccuracy(decoded: [Fingerprint], expected: [Fingerprint]) -> Double {
    mean(bitAccuracies(decoded: decoded, expected: expected))
}

private func mean(_ values: [Double]) -> Double {
    values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
}

extension Fingerprint {
    /// The bitwise majority of `fingerprints` (for example the bits decoded from many images of
    /// one model): bit i is set when more than half of the fingerprints set it.
    ///
    /// An even split (possible with an even count) gives 0, so the vote never invents a one; pass
    /// an odd number of fingerprints to avoid ties. All must have the same length and there must
    /// be at least one.
    public static func majorityVote(_ fingerprints: [Fingerprint]) -> Fingerprint {
        precondition(!fingerprints.isEmpty, "majorityVote of no fingerprints")
        let bitCount = fingerprints[0].bitCount
        var ones = [Int](repeating: 0, count: bitCount)
        for fingerprint in fingerprints {
            precondition(fingerprint.bitCount == bitCount,
                         "majorityVote of fingerprints of \(bitCount) and \(fingerprint.bitCount) bits")
            for (wordIndex, word) in fingerprint.words.enumerated() {
                var remaining = word
                while remaining != 0 {
                    ones[wordIndex << 6 + remaining.trailingZeroBitCount] += 1
                    remaining &= remaining &- 1
                }
            }
        }
        return Fingerprint(bits: ones.lazy.map { 2 * $0 > fingerprints.count })
    }
}
