import Foundation
import GRDB
import Synchronization

/// A persistent registry of issued fingerprints in an SQLite file (through GRDB): who received
/// which fingerprint for which model, and which issued fingerprint some decoded bits come from.
///
/// Every fingerprint of a registry has the same length, is unique, and lies at Hamming distance at
/// least `minimumDistance` from every other. Issuing draws random fingerprints until one keeps that
/// distance and inserts it in the same IMMEDIATE transaction, which holds SQLite's write lock from
/// the first read: processes that issue from one file at the same time take turns (waiting up to
/// a minute for the lock) and can never both insert fingerprints that are too close, or equal.
/// Entries are only ever added; ids increase and are never reused.
///
/// ```swift
/// let registry = try FingerprintRegistry.create(at: "registry.sqlite", bitCount: 128, minimumDistance: 32)
/// var generator = SystemRandomNumberGenerator()
/// let entry = try registry.issue(recipient: "alice", modelID: "stylegan2-ffhq", using: &generator)
/// if let match = try registry.nearestMatch(to: decodedBits, falsePositiveRate: 1e-6), match.verdict.matched {
///     print("issued to \(match.entry.recipient), p = \(match.verdict.pValue)")
/// }
/// ```
///
/// Fingerprints are secrets of a kind: issue them from an unpredictable generator
/// (`SystemRandomNumberGenerator`) unless reproducibility matters more, as in tests.
public final class FingerprintRegistry: Sendable {
    /// The `format` stored in every registry file and export.
    public static let formatName = "gfp-fingerprint-registry"
    /// The newest format version this code reads and the one it writes.
    public static let formatVersion = 1
    /// Random draws per issued fingerprint before giving up with `RegistryError.registryFull`.
    public static let maximumAttempts = 10_000

    /// The database file, or `:memory:`.
    public let path: String
    /// The length of every fingerprint, in bits.
    public let bitCount: Int
    /// The least Hamming distance between any two entries.
    public let minimumDistance: Int

    private let database: DatabaseQueue
    /// The fingerprints known to this process, brought up to date inside each issuing
    /// transaction by reading only the rows added since (entries are never changed).
    private let issuingState: Mutex<IssuingState>

    private struct IssuingState: Sendable {
        var index: FingerprintIndex
        var lastIdentifier: Int64 = 0
    }

    /// A default minimum distance: a quarter of the bits (32 of 128). Two random 128-bit
    /// fingerprints are closer than that with probability about 1e-9, so issuing rarely redraws,
    /// while fingerprints that differ in a few bits, which one decoding error could confuse, are
    /// excluded.
    public static func defaultMinimumDistance(bitCount: Int) -> Int { bitCount / 4 }

    // MARK: Opening and creating

    /// Opens the registry at `path`.
    ///
    /// - Throws: `RegistryError.notFound` when there is no file, `.corruptDatabase` when it is
    ///   not an SQLite database or is damaged, `.notARegistry` when it is another SQLite database,
    ///   `.unsupportedVersion` when a newer gfp wrote it.
    public convenience init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw RegistryError.notFound(path: path) }
        let database = try Self.mapErrors(path: path) { try DatabaseQueue(path: path, configuration: Self.configuration()) }
        try self.init(database: database, path: path)
    }

    /// Creates an empty registry file at `path` for fingerprints of `bitCount` bits kept at least
    /// `minimumDistance` apart.
    ///
    /// - Throws: `RegistryError.alreadyExists` when a file is there, `.invalidParameters` for a
    ///   non-positive bit count or a minimum distance outside `0...bitCount`.
    public static func create(at path: String, bitCount: Int, minimumDistance: Int) throws -> FingerprintRegistry {
        try validate(bitCount: bitCount, minimumDistance: minimumDistance)
        guard !FileManager.default.fileExists(atPath: path) else { throw RegistryError.alreadyExists(path: path) }
        let database = try mapErrors(path: path) { try DatabaseQueue(path: path, configuration: configuration()) }
        try mapErrors(path: path) {
            try database.write { try createSchema($0, bitCount: bitCount, minimumDistance: minimumDistance) }
        }
        return try FingerprintRegistry(database: database, path: path)
    }

    /// A registry that lives in memory only, for tests and one-off matching.
    public static func inMemory(bitCount: Int, minimumDistance: Int) throws -> FingerprintRegistry {
        try validate(bitCount: bitCount, minimumDistance: minimumDistance)
        let path = ":memory:"
        let database = try mapErrors(path: path) { try DatabaseQueue() }
        try mapErrors(path: path) {
            try database.write { try createSchema($0, bitCount: bitCount, minimumDistance: minimumDistance) }
        }
        return try FingerprintRegistry(database: database, path: path)
    }

    private init(database: DatabaseQueue, path: String) throws {
        let settings = try Self.mapErrors(path: path) {
            try database.read { db -> [String: String]? in
                guard try db.tableExists("registry"), try db.tableExists("fingerprint") else { return nil }
                let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM registry")
                return Dictionary(rows.map { ($0["key"] as String, $0["value"] as String) }, uniquingKeysWith: { a, _ in a })
            }
        }
        guard let settings, settings["format"] == Self.formatName,
              let version = settings["version"].flatMap({ Int($0) }),
              let bitCount = settings["bitCount"].flatMap({ Int($0) }),
              let minimumDistance = settings["minimumDistance"].flatMap({ Int($0) })
        else { throw RegistryError.notARegistry(path: path) }
        guard version <= Self.formatVersion else {
            throw RegistryError.unsupportedVersion(path: path, found: version, supported: Self.formatVersion)
        }
        self.path = path
        self.database = database
        self.bitCount = bitCount
        self.minimumDistance = minimumDistance
        self.issuingState = Mutex(IssuingState(index: FingerprintIndex(bitCount: bitCount)))
    }

    private static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.journalMode = .wal          // readers never wait for writers
        configuration.busyMode = .timeout(60)     // writers wait their turn for up to a minute
        return configuration
    }

    private static func validate(bitCount: Int, minimumDistance: Int) throws {
        guard bitCount > 0 else { throw RegistryError.invalidParameters("bit count \(bitCount) must be positive") }
        guard (0...bitCount).contains(minimumDistance) else {
            throw RegistryError.invalidParameters("minimum distance \(minimumDistance) must lie in 0...\(bitCount)")
        }
    }

    private static func createSchema(_ db: Database, bitCount: Int, minimumDistance: Int) throws {
        try db.execute(sql: """
            CREATE TABLE registry (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
            CREATE TABLE fingerprint (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                bits TEXT NOT NULL UNIQUE CHECK (length(bits) = \(bitCount) AND bits NOT GLOB '*[^01]*'),
                recipient TEXT NOT NULL,
                modelID TEXT NOT NULL,
                createdAt REAL NOT NULL,
                note TEXT NOT NULL DEFAULT ''
            );
            """)
        for (key, value) in [("format", formatName), ("version", String(formatVersion)),
                             ("bitCount", String(bitCount)), ("minimumDistance", String(minimumDistance))] {
            try db.execute(sql: "INSERT INTO registry (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    // MARK: Reading

    /// The number of entries.
    public func count() throws -> Int {
        try read { try Int.fetchOne($0, sql: "SELECT count(*) FROM fingerprint") ?? 0 }
    }

    /// All entries in order of issue.
    public func entries() throws -> [RegistryEntry] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM fingerprint ORDER BY id").map(RegistryEntry.init(row:)) }
    }

    /// The entry with identifier `id`, if any.
    public func entry(id: Int64) throws -> RegistryEntry? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM fingerprint WHERE id = ?", arguments: [id]).map(RegistryEntry.init(row:))
        }
    }

    /// The entries' fingerprints packed for nearest-match search, identified by entry id.
    public func index() throws -> FingerprintIndex {
        try read { db in
            var index = FingerprintIndex(bitCount: bitCount)
            _ = try Self.appendRows(db, after: 0, to: &index)
            return index
        }
    }

    // MARK: Issuing

    /// Issues a new random fingerprint to `recipient` for `modelID`: draws from `generator` until a
    /// fingerprint lies at least `minimumDistance` from every entry, and stores it.
    ///
    /// - Throws: `RegistryError.registryFull` after `maximumAttempts` unsuccessful draws, and
    ///   database errors.
    public func issue<Generator: RandomNumberGenerator>(
        recipient: String, modelID: String, note: String = "", createdAt: Date = Date(), using generator: inout Generator
    ) throws -> RegistryEntry {
        try insert(recipient: recipient, modelID: modelID, note: note, createdAt: createdAt) { index in
            for _ in 0..<Self.maximumAttempts {
                let candidate = Fingerprint.random(bitCount: bitCount, using: &generator)
                if !index.containsEntry(closerThan: max(1, minimumDistance), to: candidate) { return candidate }
            }
            throw RegistryError.registryFull(minimumDistance: minimumDistance, attempts: Self.maximumAttempts)
        }
    }

    /// Registers a fingerprint chosen elsewhere (for example one already embedded in a model).
    ///
    /// - Throws: `RegistryError.bitCountMismatch`, `.duplicateFingerprint` when the bits are
    ///   registered already, `.tooClose` when they lie closer than `minimumDistance` to an entry.
    public func register(_ fingerprint: Fingerprint, recipient: String, modelID: String, note: String = "",
                         createdAt: Date = Date()) throws -> RegistryEntry {
        guard fingerprint.bitCount == bitCount else {
            throw RegistryError.bitCountMismatch(expected: bitCount, found: fingerprint.bitCount)
        }
        return try insert(recipient: recipient, modelID: modelID, note: note, createdAt: createdAt) { index in
            try checkSpacing(of: fingerprint, against: index)
            return fingerprint
        }
    }

    /// Checks, without storing anything, that `register(_:recipient:modelID:note:createdAt:)`
    /// would accept `fingerprint` now, so that a long job can fail before it starts rather than
    /// after (another writer may still take the place in between; `register` checks again).
    ///
    /// - Throws: `RegistryError.bitCountMismatch`, `.duplicateFingerprint` or `.tooClose`.
    public func validateRegistration(of fingerprint: Fingerprint) throws {
        guard fingerprint.bitCount == bitCount else {
            throw RegistryError.bitCountMismatch(expected: bitCount, found: fingerprint.bitCount)
        }
        try checkSpacing(of: fingerprint, against: index())
    }

    /// Throws unless `fingerprint` is new and at least `minimumDistance` from every entry of `index`.
    private func checkSpacing(of fingerprint: Fingerprint, against index: FingerprintIndex) throws {
        guard let near = index.nearest(to: fingerprint), near.distance < max(1, minimumDistance) else { return }
        if near.distance == 0 { throw RegistryError.duplicateFingerprint(existing: near.identifier) }
        throw RegistryError.tooClose(distance: near.distance, minimumDistance: minimumDistance, existing: near.identifier)
    }

    /// Runs `choose` on the up-to-date entries and inserts its fingerprint, all in one IMMEDIATE
    /// transaction (the write lock is taken before the entries are read).
    private func insert(recipient: String, modelID: String, note: String, createdAt: Date,
                        choose: (FingerprintIndex) throws -> Fingerprint) throws -> RegistryEntry {
        let createdAt = RegistryEntry.millisecondPrecision(createdAt)
        return try Self.mapErrors(path: path) {
            try database.writeWithoutTransaction { db in
                var inserted: RegistryEntry?
                try db.inTransaction(.immediate) {
                    try issuingState.withLock { state in
                        try synchronise(&state, db)
                        let fingerprint = try choose(state.index)
                        try db.execute(sql: """
                            INSERT INTO fingerprint (bits, recipient, modelID, createdAt, note) VALUES (?, ?, ?, ?, ?)
                            """, arguments: [fingerprint.description, recipient, modelID, createdAt.timeIntervalSince1970, note])
                        inserted = RegistryEntry(id: db.lastInsertedRowID, fingerprint: fingerprint, recipient: recipient,
                                                 modelID: modelID, createdAt: createdAt, note: note)
                    }
                    return .commit
                }
                // Committed: only now does this process's copy learn of the new entry.
                let entry = inserted!
                issuingState.withLock { state in
                    if state.lastIdentifier < entry.id {
                        state.index.append(entry.fingerprint, identifier: entry.id)
                        state.lastIdentifier = entry.id
                    }
                }
                return entry
            }
        }
    }

    /// Brings `state` up to date with the database inside the current transaction: appends the
    /// rows added since it was last read (by any process), and reloads everything if the counts
    /// then disagree (entries deleted by hand).
    private func synchronise(_ state: inout IssuingState, _ db: Database) throws {
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM fingerprint") ?? 0
        state.lastIdentifier = try Self.appendRows(db, after: state.lastIdentifier, to: &state.index)
        if state.index.count != total {
            state.index = FingerprintIndex(bitCount: bitCount)
            state.lastIdentifier = try Self.appendRows(db, after: 0, to: &state.index)
        }
    }

    /// Appends the fingerprints of rows with id above `identifier` to `index`; returns the last id.
    private static func appendRows(_ db: Database, after identifier: Int64, to index: inout FingerprintIndex) throws -> Int64 {
        var last = identifier
        let rows = try Row.fetchCursor(db, sql: "SELECT id, bits FROM fingerprint WHERE id > ? ORDER BY id",
                                       arguments: [identifier])
        while let row = try rows.next() {
            let id: Int64 = row["id"], bits: String = row["bits"]
            index.append(try Fingerprint(parsing: bits), identifier: id)
            last = id
        }
        return last
    }

    // MARK: Matching

    /// The entry nearest to `decoded` and the verdict on it at `falsePositiveRate`, corrected for
    /// the registry's size; nil when the registry is empty.
    ///
    /// Loads the index for this one query; for many queries use `nearestMatches(to:falsePositiveRate:)`.
    public func nearestMatch(to decoded: Fingerprint, falsePositiveRate: Double) throws -> RegistryMatch? {
        try nearestMatches(to: [decoded], falsePositiveRate: falsePositiveRate)[0]
    }

    /// `nearestMatch(to:falsePositiveRate:)` for each of `decoded`, loading the index once.
    public func nearestMatches(to decoded: [Fingerprint], falsePositiveRate: Double) throws -> [RegistryMatch?] {
        for fingerprint in decoded where fingerprint.bitCount != bitCount {
            throw RegistryError.bitCountMismatch(expected: bitCount, found: fingerprint.bitCount)
        }
        let index = try index()
        return try decoded.map { fingerprint in
            guard let neighbour = index.nearest(to: fingerprint),
                  let entry = try entry(id: neighbour.identifier) else { return nil }
            let verdict = Verdict(matchingBits: bitCount - neighbour.distance, bitCount: bitCount,
                                  falsePositiveRate: falsePositiveRate, candidates: index.count)
            return RegistryMatch(entry: entry, distance: neighbour.distance, verdict: verdict)
        }
    }

    // MARK: Export and import

    /// Every entry and the registry's settings, ready to encode as JSON.
    public func export() throws -> RegistryExport {
        RegistryExport(bitCount: bitCount, minimumDistance: minimumDistance, entries: try entries())
    }

    /// Adds the entries of `export` with their ids, bits, recipients, models, times and notes, in
    /// one transaction: either all of them or, on any error, none.
    ///
    /// - Returns: the number of entries added.
    /// - Throws: `RegistryError.bitCountMismatch` for another fingerprint length,
    ///   `.duplicateIdentifier` or `.duplicateFingerprint` when an id or bits are taken, `.tooClose`
    ///   when an entry breaks this registry's minimum distance.
    @discardableResult
    public func importEntries(_ export: RegistryExport) throws -> Int {
        guard export.bitCount == bitCount else {
            throw RegistryError.bitCountMismatch(expected: bitCount, found: export.bitCount)
        }
        return try Self.mapErrors(path: path) {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try issuingState.withLock { state in
                        try synchronise(&state, db)
                        var index = state.index
                        for entry in export.entries {
                            guard entry.fingerprint.bitCount == bitCount else {
                                throw RegistryError.bitCountMismatch(expected: bitCount, found: entry.fingerprint.bitCount)
                            }
                            if try Int.fetchOne(db, sql: "SELECT 1 FROM fingerprint WHERE id = ?", arguments: [entry.id]) != nil {
                                throw RegistryError.duplicateIdentifier(entry.id)
                            }
                            try checkSpacing(of: entry.fingerprint, against: index)
                            try db.execute(sql: """
                                INSERT INTO fingerprint (id, bits, recipient, modelID, createdAt, note) VALUES (?, ?, ?, ?, ?, ?)
                                """, arguments: [entry.id, entry.fingerprint.description, entry.recipient, entry.modelID,
                                                 entry.createdAt.timeIntervalSince1970, entry.note])
                            index.append(entry.fingerprint, identifier: entry.id)
                        }
                    }
                    return .commit
                }
                // Imported ids may lie below ones this process has seen: re-read on the next issue.
                issuingState.withLock { $0 = IssuingState(index: FingerprintIndex(bitCount: bitCount)) }
                return export.entries.count
            }
        }
    }

    // MARK: Errors

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        try Self.mapErrors(path: path) { try database.read(body) }
    }

    /// Runs `body`, turning SQLite's errors into `RegistryError`s that name the file.
    private static func mapErrors<T>(path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            let reason = error.message ?? error.description
            switch error.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT:
                throw RegistryError.corruptDatabase(path: path, reason: reason)
            default:
                throw RegistryError.database(path: path, reason: reason)
            }
        } catch let error as VerifierError {
            // Bits that do not parse can only come from a file edited by hand.
            throw RegistryError.corruptDatabase(path: path, reason: "\(error)")
        }
    }
}
