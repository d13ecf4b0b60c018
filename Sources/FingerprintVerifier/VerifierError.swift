/// Errors of the `FingerprintVerifier` module: malformed bit strings and fingerprints that cannot be
/// compared.
///
/// Passing values that break a documented precondition (a negative bit count, a probability outside
/// [0, 1]) is a programming error and stops with a precondition failure, as array indexing does;
/// these errors are for data that comes from users, files and decoders.
public enum VerifierError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A bit string holds a character other than `0` and `1` (`offset` counts characters).
    case invalidBitCharacter(Character, offset: Int)
    /// A bit string holds no bits.
    case emptyBitString
    /// Two fingerprints that must have the same length do not.
    case lengthMismatch(expected: Int, found: Int)

    /// A one-line explanation for users.
    public var description: String {
        switch self {
        case let .invalidBitCharacter(character, offset):
            return "invalid character \"\(character)\" at offset \(offset) of a bit string (only 0 and 1 are allowed)"
        case .emptyBitString:
            return "empty bit string"
        case let .lengthMismatch(expected, found):
            return "fingerprint length mismatch: expected \(expected) bits, found \(found)"
        }
    }
}
