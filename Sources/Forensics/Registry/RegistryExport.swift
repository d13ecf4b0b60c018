import Foundation

/// A registry's settings and entries, as written to and read from JSON by `gfp registry export`
/// and `import`:
///
/// ```json
/// {"format": "gfp-fingerprint-registry", "version": 1, "bitCount": 128, "minimumDistance": 32,
///  "entries": [{"id": 1, "bits": "0110…", "recipient": "alice", "modelID": "stylegan2-ffhq",
///               "createdAt": "2026-11-23T16:40:08.123Z", "note": ""}]}
/// ```
public struct RegistryExport: Hashable, Codable, Sendable {
    /// Always `FingerprintRegistry.formatName`.
    public let format: String
    /// The format version, `FingerprintRegistry.formatVersion` when written.
    public let version: Int
    /// The length of every fingerprint, in bits.
    public let bitCount: Int
    /// The registry's minimum distance between entries.
    public let minimumDistance: Int
    /// The entries in order of issue.
    public let entries: [RegistryEntry]

    /// An export of `entries` with the current format and version.
    public init(bitCount: Int, minimumDistance: Int, entries: [RegistryEntry]) {
        self.format = FingerprintRegistry.formatName
        self.version = FingerprintRegistry.formatVersion
        self.bitCount = bitCount
        self.minimumDistance = minimumDistance
        self.entries = entries
    }

    /// Reads an export from JSON.
    ///
    /// - Throws: `RegistryError.invalidExport` when the data is not such an export, of this
    ///   format, of a version this code reads, with fingerprints of `bitCount` bits.
    public init(jsonData: Data) throws {
        let decoded: RegistryExport
        do {
            decoded = try JSONDecoder().decode(RegistryExport.self, from: jsonData)
        } catch {
            throw RegistryError.invalidExport(reason: Self.explain(error))
        }
        guard decoded.format == FingerprintRegistry.formatName else {
            throw RegistryError.invalidExport(reason: "format is \"\(decoded.format)\", not \"\(FingerprintRegistry.formatName)\"")
        }
        guard decoded.version <= FingerprintRegistry.formatVersion else {
            throw RegistryError.invalidExport(reason: "version \(decoded.version) is newer than \(FingerprintRegistry.formatVersion)")
        }
        if let entry = decoded.entries.first(where: { $0.fingerprint.bitCount != decoded.bitCount }) {
            throw RegistryError.invalidExport(reason: "entry \(entry.id) has \(entry.fingerprint.bitCount) bits, not \(decoded.bitCount)")
        }
        self = decoded
    }

    /// The export as pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    private static func explain(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return context.debugDescription + (context.underlyingError.map { " (\($0))" } ?? "")
        case DecodingError.keyNotFound(let key, _):
            return "missing key \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong value at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
