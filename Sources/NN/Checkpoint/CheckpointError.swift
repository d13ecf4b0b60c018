/// A checkpoint that could not be read, written or matched to a model.
///
/// Every case names the file (or the keys) it is about, and its `description` is a sentence
/// fit for a user.
public enum CheckpointError: Error, Equatable, Sendable {
    /// A parameter whose shape in the checkpoint differs from the shape the model expects.
    public struct ShapeMismatch: Hashable, Sendable, CustomStringConvertible {
        /// The dotted key, e.g. `encoder.conv1.weight`.
        public var key: String
        /// The shape the model expects.
        public var expected: [Int]
        /// The shape found in the checkpoint.
        public var found: [Int]

        /// Creates a mismatch record for `key`.
        public init(key: String, expected: [Int], found: [Int]) {
            self.key = key
            self.expected = expected
            self.found = found
        }

        /// `key (expected [3, 3], found [3])`.
        public var description: String { "\(key) (expected \(expected), found \(found))" }
    }

    /// There is no file at `path`.
    case fileNotFound(path: String)
    /// The file exists but cannot be read as a file (a directory, or no permission).
    case unreadable(path: String, reason: String)
    /// The file does not carry the HDF5 signature: an empty, text or other non-HDF5 file.
    case notHDF5(path: String)
    /// The file starts like an HDF5 file, but HDF5 cannot open or read it: truncated or corrupt.
    case corrupt(path: String, reason: String)
    /// The root attribute `format` is missing (`found` is nil) or names another format.
    case wrongFormat(path: String, found: String?)
    /// The root attribute `version` names a version this code cannot read.
    case unsupportedVersion(path: String, found: Int, supported: ClosedRange<Int>)
    /// A required root attribute (`version`, `kind`, `config`) is missing or has the wrong type,
    /// or, when writing, `kind` contains a NUL character.
    case invalidAttribute(path: String, name: String, reason: String)
    /// A dataset holds elements other than float32 or float64 (which is converted to float32).
    case unsupportedDatatype(path: String, key: String, datatype: String)
    /// Something in the file that has no place in a checkpoint: a named datatype, an attribute
    /// on a dataset, a non-numeric attribute on a group, two entries that map to the same key…
    case unsupportedEntry(path: String, location: String, reason: String)
    /// A key that cannot be written: an empty component, a `/`, a clash with another key, or a
    /// reserved root attribute name.
    case invalidKey(key: String, reason: String)
    /// The configuration is not valid JSON, or could not be encoded or decoded.
    case invalidConfig(reason: String)
    /// A set of tensors does not match the shapes a model expects. Every list is sorted by key.
    case mismatchedKeys(missing: [String], unexpected: [String], wrongShapes: [ShapeMismatch])
    /// Writing the file at `path` failed; any previous file at `path` is unchanged.
    case writeFailed(path: String, reason: String)
}

extension CheckpointError: CustomStringConvertible {
    /// A one-sentence explanation naming the file or keys concerned.
    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "no checkpoint file at \(path)"
        case .unreadable(let path, let reason):
            return "cannot read checkpoint \(path): \(reason)"
        case .notHDF5(let path):
            return "\(path) is not an HDF5 file"
        case .corrupt(let path, let reason):
            return "checkpoint \(path) is truncated or corrupt: \(reason)"
        case .wrongFormat(let path, let found):
            let what = found.map { "format \"\($0)\"" } ?? "no format attribute"
            return "\(path) is an HDF5 file but not a gfp checkpoint (\(what), expected \"\(Checkpoint.format)\")"
        case .unsupportedVersion(let path, let found, let supported):
            let range = supported.count == 1 ? "\(supported.lowerBound)" : "\(supported.lowerBound)…\(supported.upperBound)"
            return "checkpoint \(path) has format version \(found); this build reads version \(range)"
        case .invalidAttribute(let path, let name, let reason):
            return "checkpoint \(path): root attribute \"\(name)\" \(reason)"
        case .unsupportedDatatype(let path, let key, let datatype):
            return "checkpoint \(path): \(key) holds \(datatype) elements; only float32 and float64 are supported"
        case .unsupportedEntry(let path, let location, let reason):
            return "checkpoint \(path): \(location): \(reason)"
        case .invalidKey(let key, let reason):
            return "invalid checkpoint key \"\(key)\": \(reason)"
        case .invalidConfig(let reason):
            return "invalid checkpoint configuration: \(reason)"
        case .mismatchedKeys(let missing, let unexpected, let wrongShapes):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.joined(separator: ", "))") }
            if !wrongShapes.isEmpty {
                parts.append("wrong shape \(wrongShapes.map(\.description).joined(separator: ", "))")
            }
            return "checkpoint does not match the model: " + parts.joined(separator: "; ")
        case .writeFailed(let path, let reason):
            return "could not write checkpoint \(path): \(reason)"
        }
    }
}

extension CheckpointError {
    /// The checkpoint-level form of a failed `Module.loadStateDictionary(_:strict:)`: every
    /// missing, unexpected and wrongly shaped key, each list sorted.
    public static func mismatchedKeys(_ error: ParameterLoadError) -> CheckpointError {
        .mismatchedKeys(missing: error.missing.sorted(), unexpected: error.unexpected.sorted(),
                        wrongShapes: error.mismatched.map { ShapeMismatch(key: $0.key, expected: $0.expected, found: $0.found) }
                            .sorted { $0.key < $1.key })
    }
}
