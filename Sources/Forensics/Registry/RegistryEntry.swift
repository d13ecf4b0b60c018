import Foundation
import GRDB

/// One issued fingerprint of a registry: its bits and to whom and for which model it was issued.
public struct RegistryEntry: Hashable, Sendable, Identifiable {
    /// The registry's identifier of the entry, increasing in order of issue and never reused.
    public let id: Int64
    /// The fingerprint's bits.
    public let fingerprint: Fingerprint
    /// Who received the fingerprinted model (a user, a customer, an API key).
    public let recipient: String
    /// Which model was fingerprinted (a name, a checkpoint hash).
    public let modelID: String
    /// When the fingerprint was issued, to the millisecond.
    public let createdAt: Date
    /// Free text.
    public let note: String

    /// An entry with the given fields; `createdAt` is rounded to the millisecond, the precision
    /// the registry and its JSON export keep.
    public init(id: Int64, fingerprint: Fingerprint, recipient: String, modelID: String, createdAt: Date, note: String) {
        self.id = id
        self.fingerprint = fingerprint
        self.recipient = recipient
        self.modelID = modelID
        self.createdAt = Self.millisecondPrecision(createdAt)
        self.note = note
    }

    /// `date` rounded to the nearest millisecond.
    static func millisecondPrecision(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// Reads the columns `id`, `bits`, `recipient`, `modelID`, `createdAt` (seconds since 1970,
    /// REAL) and `note`.
    init(row: Row) throws {
        let bits: String = row["bits"]
        self.init(id: row["id"], fingerprint: try Fingerprint(parsing: bits), recipient: row["recipient"],
                  modelID: row["modelID"], createdAt: Date(timeIntervalSince1970: row["createdAt"]), note: row["note"])
    }
}

extension RegistryEntry: Codable {
    enum CodingKeys: String, CodingKey { case id, bits, recipient, modelID, createdAt, note }

    /// Encodes `createdAt` as ISO 8601 text with milliseconds and the fingerprint as its bit string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(fingerprint, forKey: .bits)
        try container.encode(recipient, forKey: .recipient)
        try container.encode(modelID, forKey: .modelID)
        try container.encode(Self.timestamp(createdAt), forKey: .createdAt)
        try container.encode(note, forKey: .note)
    }

    /// Decodes the form `encode(to:)` writes; a missing `note` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let timestamp = try container.decode(String.self, forKey: .createdAt)
        guard let createdAt = Self.date(fromTimestamp: timestamp) else {
            throw DecodingError.dataCorruptedError(forKey: .createdAt, in: container,
                                                   debugDescription: "not an ISO 8601 time: \(timestamp)")
        }
        self.init(id: try container.decode(Int64.self, forKey: .id),
                  fingerprint: try container.decode(Fingerprint.self, forKey: .bits),
                  recipient: try container.decode(String.self, forKey: .recipient),
                  modelID: try container.decode(String.self, forKey: .modelID),
                  createdAt: createdAt, note: try container.decodeIfPresent(String.self, forKey: .note) ?? "")
    }

    /// `date` as ISO 8601 text in UTC with milliseconds, `2026-11-23T16:40:08.123Z`, rounded to
    /// the nearest millisecond (Foundation's formatter truncates, which would not round-trip).
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let fraction = (milliseconds % 1000 + 1000) % 1000            // 0...999, also before 1970
        let seconds = (milliseconds - fraction) / 1000
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)  // "…:08Z"
        let digits = String(fraction)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Parses ISO 8601 text with or without fractional seconds, to the millisecond.
    static func date(fromTimestamp text: String) -> Date? {
        let parsed = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
        return parsed.map(millisecondPrecision)
    }
}

/// The nearest registered fingerprint to some decoded bits, and the decision on it.
public struct RegistryMatch: Hashable, Codable, Sendable {
    /// The registry entry nearest to the decoded bits (the lowest id among equals).
    public let entry: RegistryEntry
    /// The Hamming distance between the decoded bits and the entry's fingerprint.
    public let distance: Int
    /// The verdict for `bitCount − distance` matching bits, its p-value and threshold corrected
    /// for the number of entries the bits were compared with (Bonferroni).
    public let verdict: Verdict
}
