/// A fixed-length string of bits packed into 64-bit words: an issued fingerprint, or the bits a
/// decoder read from an image.
///
/// Bit `i` lives in `words[i / 64]` at bit position `i % 64` (least significant bit first), and
/// the unused high bits of the last word are always zero, so equality, hashing and Hamming
/// distances work word by word with `popcount`. The text form lists bit 0 first: `"0110"` has
/// bit 1 and bit 2 set.
///
/// ```swift
/// let issued = try Fingerprint(parsing: "0110100111")
/// let decoded = try Fingerprint(parsing: "0110100101")
/// issued.hammingDistance(to: decoded)   // 1
/// ```
public struct Fingerprint: Hashable, Sendable {
    /// The number of bits.
    public let bitCount: Int
    /// The bits packed least significant bit first, `(bitCount + 63) / 64` words; the bits past
    /// `bitCount` in the last word are zero.
    public private(set) var words: [UInt64]

    /// The number of 64-bit words that hold `bitCount` bits.
    @inlinable
    public static func wordCount(forBitCount bitCount: Int) -> Int { (bitCount + 63) >> 6 }

    /// A fingerprint of `bitCount` zero bits.
    public init(bitCount: Int) {
        precondition(bitCount >= 0, "Fingerprint(bitCount: \(bitCount)): the bit count must not be negative")
        self.bitCount = bitCount
        self.words = Array(repeating: 0, count: Self.wordCount(forBitCount: bitCount))
    }

    /// A fingerprint of `bitCount` bits taken from packed `words` (least significant bit first).
    ///
    /// `words` must hold exactly `(bitCount + 63) / 64` words; bits past `bitCount` are cleared.
    public init(words: [UInt64], bitCount: Int) {
        precondition(bitCount >= 0 && words.count == Self.wordCount(forBitCount: bitCount),
                     "Fingerprint(words:bitCount: \(bitCount)) needs \(Self.wordCount(forBitCount: Swift.max(bitCount, 0))) words, got \(words.count)")
        self.bitCount = bitCount
        self.words = words
        clearUnusedBits()
    }

    /// A fingerprint holding `bits` in order.
    public init<Bits: Sequence>(bits: Bits) where Bits.Element == Bool {
        var words: [UInt64] = []
        var count = 0
        for bit in bits {
            if count & 63 == 0 { words.append(0) }
            if bit { words[count >> 6] |= 1 << UInt64(count & 63) }
            count += 1
        }
        self.bitCount = count
        self.words = words
    }

    /// The fingerprint whose bit `i` is set when `scores[i] > threshold`: the hard decision on a
    /// decoder's per-bit probabilities (threshold 0.5) or logits (threshold 0).
    public init<Scores: Sequence>(thresholding scores: Scores, at threshold: Scores.Element)
    where Scores.Element: BinaryFloatingPoint {
        self.init(bits: scores.lazy.map { $0 > threshold })
    }

    /// Parses a bit string such as `"0110"`, bit 0 first.
    ///
    /// - Throws: `VerifierError.emptyBitString`, or `VerifierError.invalidBitCharacter` naming the
    ///   first character that is neither `0` nor `1`.
    public init(parsing text: some StringProtocol) throws {
        // Bytes, not Characters: registries parse millions of these when they load their index.
        var words: [UInt64] = []
        words.reserveCapacity(Self.wordCount(forBitCount: text.utf8.count))
        var count = 0
        for byte in text.utf8 {
            guard byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") else {
                let offset = text.firstIndex { $0 != "0" && $0 != "1" }.map { text.distance(from: text.startIndex, to: $0) } ?? 0
                throw VerifierError.invalidBitCharacter(text[text.index(text.startIndex, offsetBy: offset)], offset: offset)
            }
            if count & 63 == 0 { words.append(0) }
            if byte == UInt8(ascii: "1") { words[count >> 6] |= 1 << UInt64(count & 63) }
            count += 1
        }
        if count == 0 { throw VerifierError.emptyBitString }
        self.bitCount = count
        self.words = words
    }

    /// A fingerprint of `bitCount` independent, uniformly random bits drawn from `generator`.
    public static func random<Generator: RandomNumberGenerator>(bitCount: Int, using generator: inout Generator) -> Fingerprint {
        precondition(bitCount >= 0, "Fingerprint.random(bitCount: \(bitCount)): the bit count must not be negative")
        var words: [UInt64] = []
        words.reserveCapacity(wordCount(forBitCount: bitCount))
        for _ in 0..<wordCount(forBitCount: bitCount) { words.append(generator.next()) }
        return Fingerprint(words: words, bitCount: bitCount)
    }

    /// The number of positions at which the two fingerprints differ.
    ///
    /// Both must have the same `bitCount` (a precondition; `Verdict(decoded:expected:)` checks
    /// lengths of user data and throws instead).
    public func hammingDistance(to other: Fingerprint) -> Int {
        precondition(bitCount == other.bitCount,
                     "hammingDistance between fingerprints of \(bitCount) and \(other.bitCount) bits")
        var distance = 0
        for i in words.indices { distance &+= (words[i] ^ other.words[i]).nonzeroBitCount }
        return distance
    }

    /// The number of positions at which the two fingerprints agree: `bitCount − hammingDistance`.
    public func matchingBitCount(with other: Fingerprint) -> Int { bitCount - hammingDistance(to: other) }

    /// The number of set bits.
    public var nonzeroBitCount: Int { words.reduce(0) { $0 &+ $1.nonzeroBitCount } }

    /// Zeroes the bits of the last word past `bitCount` (the type's invariant).
    private mutating func clearUnusedBits() {
        let used = bitCount & 63
        if used != 0 { words[words.count - 1] &= (1 << UInt64(used)) &- 1 }
    }
}

extension Fingerprint: RandomAccessCollection, MutableCollection {
    /// 0: bit positions count from zero.
    public var startIndex: Int { 0 }
    /// `bitCount`.
    public var endIndex: Int { bitCount }

    /// Bit `position`, `true` when set.
    public subscript(position: Int) -> Bool {
        get {
            precondition(position >= 0 && position < bitCount, "bit \(position) of a \(bitCount)-bit fingerprint")
            return words[position >> 6] >> UInt64(position & 63) & 1 == 1
        }
        set {
            precondition(position >= 0 && position < bitCount, "bit \(position) of a \(bitCount)-bit fingerprint")
            let mask: UInt64 = 1 << UInt64(position & 63)
            if newValue { words[position >> 6] |= mask } else { words[position >> 6] &= ~mask }
        }
    }
}

extension Fingerprint: LosslessStringConvertible {
    /// The bit string, bit 0 first, for example `"0110"`.
    public var description: String {
        String(decoding: lazy.map { $0 ? UInt8(ascii: "1") : UInt8(ascii: "0") }, as: UTF8.self)
    }

    /// Parses a bit string; `nil` when it is empty or holds characters other than `0` and `1`.
    public init?(_ description: String) {
        guard let parsed = try? Fingerprint(parsing: description) else { return nil }
        self = parsed
    }
}

extension Fingerprint: Codable {
    /// Encodes the fingerprint as its bit string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Decodes a fingerprint from its bit string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }
}
