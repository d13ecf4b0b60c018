/// Errors of the fingerprint registry: missing, foreign or damaged database files, fingerprints
/// that do not fit the registry, and failures of the database itself.
public enum RegistryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No registry exists at the path (create one first).
    case notFound(path: String)
    /// `create` was asked for a path that already holds a file.
    case alreadyExists(path: String)
    /// The file is not an SQLite database, or its pages are damaged.
    case corruptDatabase(path: String, reason: String)
    /// The file is an SQLite database but not a gfp fingerprint registry.
    case notARegistry(path: String)
    /// The registry was written by a newer version of gfp.
    case unsupportedVersion(path: String, found: Int, supported: Int)
    /// A fingerprint's length differs from the registry's.
    case bitCountMismatch(expected: Int, found: Int)
    /// A fingerprint lies closer than the registry's minimum distance to an entry (`existing`, the
    /// nearest one; for an import, possibly an entry of the same import).
    case tooClose(distance: Int, minimumDistance: Int, existing: Int64)
    /// The exact bits are registered already, under id `existing`.
    case duplicateFingerprint(existing: Int64)
    /// An imported entry's id is taken.
    case duplicateIdentifier(Int64)
    /// No random fingerprint kept the minimum distance within `attempts` draws: the registry is
    /// too full for its minimum distance.
    case registryFull(minimumDistance: Int, attempts: Int)
    /// A registry was created with impossible parameters.
    case invalidParameters(String)
    /// An export file could not be read as a registry export.
    case invalidExport(reason: String)
    /// Any other failure reported by SQLite.
    case database(path: String, reason: String)

    /// A one-line explanation for users, naming the file where there is one.
    public var description: String {
        switch self {
        case let .notFound(path):
            return "no fingerprint registry at \(path) (create one with `gfp registry create`)"
        case let .alreadyExists(path):
            return "a file already exists at \(path); refusing to create a registry over it"
        case let .corruptDatabase(path, reason):
            return "\(path) is corrupt or not an SQLite database: \(reason)"
        case let .notARegistry(path):
            return "\(path) is an SQLite database but not a gfp fingerprint registry"
        case let .unsupportedVersion(path, found, supported):
            return "\(path) is a registry of format version \(found); this gfp reads up to version \(supported)"
        case let .bitCountMismatch(expected, found):
            return "fingerprint of \(found) bits for a registry of \(expected)-bit fingerprints"
        case let .tooClose(distance, minimumDistance, existing):
            return "fingerprint at Hamming distance \(distance) from entry \(existing); the registry keeps at least \(minimumDistance)"
        case let .duplicateFingerprint(existing):
            return "fingerprint already registered as entry \(existing)"
        case let .duplicateIdentifier(id):
            return "entry id \(id) is already taken"
        case let .registryFull(minimumDistance, attempts):
            return "no random fingerprint kept distance \(minimumDistance) from every entry in \(attempts) draws"
        case let .invalidParameters(reason):
            return "invalid registry parameters: \(reason)"
        case let .invalidExport(reason):
            return "invalid registry export: \(reason)"
        case let .database(path, reason):
            return "registry \(path): \(reason)"
        }
    }
}
