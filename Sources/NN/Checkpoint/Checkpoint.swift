import Foundation
import Tensor

/// The contents of a gfp checkpoint: named float32 tensors, named integer and real scalars, and
/// what kind of model they belong to, stored as an HDF5 file that h5py opens without help.
///
/// Keys are dotted paths such as `model.encoder.conv1.weight` or `model.blocks.2.conv.bias`.
/// A checkpoint holds several sections side by side, each under its own first component, which
/// the caller chooses; the convention in gfp is
///
/// - `model.…` for the parameters (`tensors(under: "model")` gives them back without the prefix),
/// - `ema.…` for an exponential moving average of the parameters,
/// - `optimizer.…` for optimiser state, e.g. `optimizer.adam.m.encoder.conv1.weight` and the
///   integer `optimizer.adam.step`,
/// - `training.…` for the trainer's scalars, e.g. the integer `training.step` or the real
///   `training.pathLengthMean`.
///
/// ## File format, version 1
///
/// - Every tensor is a float32 (little-endian, contiguous) dataset at its key with the dots turned
///   into slashes: `model.blocks.2.conv.bias` is the dataset `/model/blocks/2/conv/bias` inside the
///   groups `/model`, `/model/blocks`, … . A rank-0 tensor has a scalar dataspace.
/// - Every integer is a scalar int64 attribute and every real a scalar float64 attribute, named by
///   the key's last component and attached to the group its other components name:
///   `optimizer.adam.step` is the attribute `step` of the group `/optimizer/adam`; a key without a
///   dot is an attribute of the root group.
/// - The root group has four more attributes: `format` (the string `gfp-checkpoint`), `version`
///   (an integer, currently 1), `kind` (a string naming the model, e.g. `stego-encoder`) and
///   `config` (the model's configuration as JSON text). The strings are fixed-length, NUL-padded
///   UTF-8, which h5py reads as `bytes` (`f.attrs["config"].decode()`).
/// - The file uses the object formats of HDF5 1.8, whose metadata carries checksums: truncation
///   and damaged metadata are reported as `.corrupt`. Variable-length strings are avoided because
///   they live in the global heap, which has no checksum (HDF5 1.10 crashes on a damaged one).
///   Tensor values themselves have no checksum, as in any HDF5 file.
///
/// Reading accepts what h5py writes in the same layout: variable-length strings, float64 datasets
/// (rounded to float32), chunked and compressed datasets, and group or dataset names that
/// themselves contain dots (joined into the key as they are). Anything else (integer datasets,
/// attributes on datasets, strings outside the root attributes) is a `CheckpointError`.
///
/// Writing goes to a hidden temporary file in the target's directory, which is flushed to disk
/// and then renamed over the target, so a reader sees either the old or the new checkpoint and a
/// failed write leaves the old one in place.
///
/// All HDF5 calls in the process are serialised by one lock (HDF5 is not thread-safe); reading
/// and writing checkpoints from several threads is safe but does not run in parallel.
public struct Checkpoint: Sendable {
    /// The value of the root attribute `format`.
    public static let format = "gfp-checkpoint"
    /// The format version that `write(to:)` writes.
    public static let version = 1
    /// The format versions that `init(contentsOf:)` reads.
    public static let supportedVersions: ClosedRange<Int> = 1...1
    /// The root attribute names that carry the format's metadata, unavailable as scalar keys.
    public static let reservedRootNames: Set<String> = ["format", "version", "kind", "config"]

    /// What the checkpoint holds, e.g. `stego-encoder` or `scalable-gan`.
    public var kind: String
    /// The model's configuration as JSON text; `write(to:)` checks that it parses.
    public var config: String
    /// Float32 tensors by dotted key.
    public var tensors: [String: Tensor]
    /// Integer scalars (step counts) by dotted key, stored exactly as int64.
    public var integers: [String: Int]
    /// Real scalars (running means, learning rates) by dotted key, stored exactly as float64.
    public var reals: [String: Double]
    /// The file this checkpoint was read from, for error messages (nil when made in memory;
    /// never written).
    public internal(set) var sourcePath: String?

    /// Creates a checkpoint of `kind` with the given configuration JSON, tensors and scalars.
    public init(
        kind: String, config: String = "{}", tensors: [String: Tensor] = [:],
        integers: [String: Int] = [:], reals: [String: Double] = [:]
    ) {
        self.kind = kind
        self.config = config
        self.tensors = tensors
        self.integers = integers
        self.reals = reals
    }

    // MARK: Sections and configuration

    /// The tensors whose keys start with `prefix` followed by a dot, with that part removed:
    /// `tensors(under: "model")` maps `model.conv1.weight` to `conv1.weight`. An empty prefix
    /// gives all tensors.
    public func tensors(under prefix: String) -> [String: Tensor] {
        guard !prefix.isEmpty else { return tensors }
        let start = prefix + "."
        var section: [String: Tensor] = [:]
        for (key, tensor) in tensors where key.hasPrefix(start) {
            section[String(key.dropFirst(start.count))] = tensor
        }
        return section
    }

    /// Replaces every tensor under `prefix` (see `tensors(under:)`) by `section`, whose keys get
    /// `prefix` and a dot put in front. An empty prefix replaces all tensors.
    public mutating func setTensors(_ section: [String: Tensor], under prefix: String) {
        guard !prefix.isEmpty else {
            tensors = section
            return
        }
        let start = prefix + "."
        tensors = tensors.filter { !$0.key.hasPrefix(start) }
        for (key, tensor) in section { tensors[start + key] = tensor }
    }

    /// Sets `config` to `value` encoded as JSON with sorted keys.
    public mutating func encodeConfig(_ value: some Encodable) throws(CheckpointError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            config = String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw .invalidConfig(reason: "\(error)")
        }
    }

    /// Decodes `config` as a value of `type`.
    public func decodeConfig<Config: Decodable>(_ type: Config.Type) throws(CheckpointError) -> Config {
        do {
            return try JSONDecoder().decode(type, from: Data(config.utf8))
        } catch {
            throw .invalidConfig(reason: "\(error)")
        }
    }

    // MARK: Verification

    /// Checks that `tensors` has exactly the keys of `expected`, each with the expected shape.
    ///
    /// - Throws: `CheckpointError.mismatchedKeys` naming every missing, unexpected and wrongly
    ///   shaped key at once, each list sorted by key.
    public static func verify(_ tensors: [String: Tensor], against expected: [String: [Int]]) throws(CheckpointError) {
        let missing = expected.keys.filter { tensors[$0] == nil }.sorted()
        let unexpected = tensors.keys.filter { expected[$0] == nil }.sorted()
        let wrongShapes = expected.compactMap { key, shape -> CheckpointError.ShapeMismatch? in
            guard let found = tensors[key]?.shape, found != shape else { return nil }
            return CheckpointError.ShapeMismatch(key: key, expected: shape, found: found)
        }.sorted { $0.key < $1.key }
        if !missing.isEmpty || !unexpected.isEmpty || !wrongShapes.isEmpty {
            throw .mismatchedKeys(missing: missing, unexpected: unexpected, wrongShapes: wrongShapes)
        }
    }
}

// MARK: - Reading

extension Checkpoint {
    /// Reads the checkpoint file at `url`.
    ///
    /// - Throws: `CheckpointError.fileNotFound`, `.unreadable`, `.notHDF5`, `.corrupt` (truncated or
    ///   damaged), `.wrongFormat`, `.unsupportedVersion`, `.invalidAttribute`,
    ///   `.unsupportedDatatype` or `.unsupportedEntry`.
    public init(contentsOf url: URL) throws(CheckpointError) {
        let path = url.path
        var status = stat()
        if stat(path, &status) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        if status.st_mode & S_IFMT == S_IFDIR { throw .unreadable(path: path, reason: "it is a directory") }
        let descriptor = open(path, O_RDONLY)
        if descriptor < 0 { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        close(descriptor)

        self = try HDF5Library.withLock { () throws(CheckpointError) -> Checkpoint in
            guard HDF5File.hasSignature(path: path) == true else { throw .notHDF5(path: path) }
            let file: HDF5File
            do throws(HDF5Error) {
                file = try HDF5File.open(readingFrom: path)
            } catch {
                throw .corrupt(path: path, reason: error.description)
            }
            var reader = CheckpointReader(path: path)
            let checkpoint = try reader.read(file)
            do throws(HDF5Error) {
                try file.close()
            } catch {
                throw .corrupt(path: path, reason: error.description)
            }
            return checkpoint
        }
        sourcePath = path
    }
}

/// Walks an open HDF5 file and collects its tensors and scalars by key.
private struct CheckpointReader {
    /// Deeper nesting than this is taken for a cycle of hard links.
    static let maximumDepth = 64

    let path: String
    var tensors: [String: Tensor] = [:]
    var integers: [String: Int] = [:]
    var reals: [String: Double] = [:]

    init(path: String) { self.path = path }

    /// Runs an HDF5 call, turning its failure into `.corrupt`.
    func hdf5<Value>(_ body: () throws(HDF5Error) -> Value) throws(CheckpointError) -> Value {
        do {
            return try body()
        } catch {
            throw .corrupt(path: path, reason: error.description)
        }
    }

    mutating func read(_ file: HDF5File) throws(CheckpointError) -> Checkpoint {
        var root: [String: HDF5AttributeValue] = [:]
        for name in try hdf5({ () throws(HDF5Error) in try file.attributeNames() }) {
            root[name] = try hdf5 { () throws(HDF5Error) in try file.readAttribute(name) }
        }
        switch root["format"] {
        case .string(Checkpoint.format): break
        case .string(let other): throw .wrongFormat(path: path, found: other)
        case nil: throw .wrongFormat(path: path, found: nil)
        case let value?: throw .wrongFormat(path: path, found: Self.describe(value))
        }
        let version: Int
        switch root["version"] {
        case .integer(let number): version = Int(number)
        case nil: throw .invalidAttribute(path: path, name: "version", reason: "is missing")
        case let value?: throw .invalidAttribute(path: path, name: "version", reason: "is \(Self.describe(value)), not an integer")
        }
        guard Checkpoint.supportedVersions.contains(version) else {
            throw .unsupportedVersion(path: path, found: version, supported: Checkpoint.supportedVersions)
        }
        let kind = try rootString("kind", in: root)
        let config = try rootString("config", in: root)
        for (name, value) in root.sorted(by: { $0.key < $1.key }) where !Checkpoint.reservedRootNames.contains(name) {
            try addScalar(value, key: name, location: "attribute \"\(name)\" of /")
        }
        try readMembers(of: file, components: [])
        return Checkpoint(kind: kind, config: config, tensors: tensors, integers: integers, reals: reals)
    }

    private func rootString(_ name: String, in root: [String: HDF5AttributeValue]) throws(CheckpointError) -> String {
        switch root[name] {
        case .string(let text): return text
        case nil: throw .invalidAttribute(path: path, name: name, reason: "is missing")
        case let value?: throw .invalidAttribute(path: path, name: name, reason: "is \(Self.describe(value)), not a string")
        }
    }

    private mutating func readMembers(of group: HDF5Group, components: [String]) throws(CheckpointError) {
        let groupPath = "/" + components.joined(separator: "/")
        guard components.count <= Self.maximumDepth else {
            throw .unsupportedEntry(path: path, location: groupPath,
                                    reason: "groups nested more than \(Self.maximumDepth) deep (a cycle of links?)")
        }
        // The root group's attributes were read with the metadata.
        for name in components.isEmpty ? [] : try hdf5({ () throws(HDF5Error) in try group.attributeNames() }) {
            let value = try hdf5 { () throws(HDF5Error) in try group.readAttribute(name) }
            try addScalar(value, key: (components + [name]).joined(separator: "."),
                          location: "attribute \"\(name)\" of \(groupPath)")
        }
        for name in try hdf5({ () throws(HDF5Error) in try group.memberNames() }) {
            let memberComponents = components + [name]
            let memberPath = "/" + memberComponents.joined(separator: "/")
            switch try hdf5({ () throws(HDF5Error) in try group.openMember(name) }) {
            case .group(let child):
                try readMembers(of: child, components: memberComponents)
                try hdf5 { () throws(HDF5Error) in try child.close() }
            case .dataset(let dataset):
                let key = memberComponents.joined(separator: ".")
                try insertKey(key, location: memberPath)
                tensors[key] = try readTensor(dataset, key: key, location: memberPath)
                try hdf5 { () throws(HDF5Error) in try dataset.close() }
            case .other(let description):
                throw .unsupportedEntry(path: path, location: memberPath, reason: "a \(description) has no place in a checkpoint")
            }
        }
    }

    private func readTensor(_ dataset: HDF5Dataset, key: String, location: String) throws(CheckpointError) -> Tensor {
        let attributes = try hdf5 { () throws(HDF5Error) in try dataset.attributeNames() }
        if !attributes.isEmpty {
            throw .unsupportedEntry(path: path, location: location,
                                    reason: "attributes on datasets are not part of the format (found \(attributes.joined(separator: ", ")))")
        }
        guard dataset.elementType == .float(bits: 32) || dataset.elementType == .float(bits: 64) else {
            throw .unsupportedDatatype(path: path, key: key, datatype: dataset.elementType.description)
        }
        guard let shape = dataset.shape else {
            throw .unsupportedEntry(path: path, location: location, reason: "a dataset with a null dataspace holds no tensor")
        }
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= Int.max / MemoryLayout<Float>.stride else {
                throw .corrupt(path: path, reason: "dataset \(location) has an impossible shape \(shape)")
            }
            count = product
        }
        var failure: HDF5Error? = nil
        let tensor = Tensor(shape: shape) { buffer in
            do throws(HDF5Error) {
                try dataset.readFloats(into: buffer)
            } catch {
                buffer.initialize(repeating: 0)
                failure = error
            }
        }
        if let failure { throw .corrupt(path: path, reason: "reading \(location): \(failure.description)") }
        return tensor
    }

    private mutating func addScalar(_ value: HDF5AttributeValue, key: String, location: String) throws(CheckpointError) {
        switch value {
        case .integer(let number):
            try insertKey(key, location: location)
            integers[key] = Int(number)
        case .float(let number):
            try insertKey(key, location: location)
            reals[key] = number
        case .string, .unsupported:
            throw .unsupportedEntry(path: path, location: location,
                                    reason: "\(Self.describe(value)) is not an integer or float scalar")
        }
    }

    /// Checks that no other entry has produced `key` (possible when names contain dots).
    private func insertKey(_ key: String, location: String) throws(CheckpointError) {
        if tensors[key] != nil || integers[key] != nil || reals[key] != nil {
            throw .unsupportedEntry(path: path, location: location,
                                    reason: "maps to the key \"\(key)\", which another entry already has")
        }
    }

    private static func describe(_ value: HDF5AttributeValue) -> String {
        switch value {
        case .string(let text): "the string \"\(text)\""
        case .integer(let number): "the integer \(number)"
        case .float(let number): "the float \(number)"
        case .unsupported(let description): "a \(description) value"
        }
    }
}

// MARK: - Writing

extension Checkpoint {
    /// Writes the checkpoint to `url` atomically, replacing any file there.
    ///
    /// The file is written as `.<name>.tmp-<pid>` in the same directory, flushed to disk and
    /// renamed to `url`. On failure the temporary file is removed and an existing file at `url`
    /// is left as it was.
    ///
    /// - Throws: `CheckpointError.invalidKey` (before touching the disk) for an empty key
    ///   component, a `/` or NUL in a key, a key used twice, a tensor key that is also a prefix of
    ///   another key, or a scalar key without a dot named like a reserved root attribute;
    ///   `.invalidConfig` if `config` is not JSON; `.writeFailed` if HDF5 or the file system fails.
    public func write(to url: URL) throws(CheckpointError) {
        try write(to: url, failingAfterDatasets: nil)
    }

    /// `write(to:)`, with a simulated HDF5 failure after `failingAfterDatasets` datasets for tests.
    func write(to url: URL, failingAfterDatasets limit: Int?) throws(CheckpointError) {
        let layout = try CheckpointLayout(self)
        if kind.utf8.contains(0) {
            throw .invalidAttribute(path: url.path, name: "kind", reason: "contains a NUL character")
        }
        do {
            _ = try JSONSerialization.jsonObject(with: Data(config.utf8), options: [.fragmentsAllowed])
        } catch {
            throw .invalidConfig(reason: "config is not valid JSON: \(error.localizedDescription)")
        }
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path

        try HDF5Library.withLock { () throws(CheckpointError) in
            do throws(HDF5Error) {
                try writeContents(layout, to: temporaryPath, failingAfterDatasets: limit)
            } catch {
                unlink(temporaryPath)
                throw .writeFailed(path: path, reason: error.description)
            }
            if let reason = Self.synchronise(path: temporaryPath) {
                unlink(temporaryPath)
                throw .writeFailed(path: path, reason: "flushing the temporary file failed: \(reason)")
            }
            if rename(temporaryPath, path) != 0 {
                let reason = String(cString: strerror(errno))
                unlink(temporaryPath)
                throw .writeFailed(path: path, reason: "renaming the temporary file into place failed: \(reason)")
            }
            // Make the rename itself durable; a failure here does not undo the write.
            _ = Self.synchronise(path: directory)
        }
    }

    /// Writes the whole file with HDF5 and closes it; the caller holds the HDF5 lock.
    private func writeContents(_ layout: CheckpointLayout, to path: String, failingAfterDatasets limit: Int?) throws(HDF5Error) {
        let file = try HDF5File.create(path: path)
        try file.writeAttribute("format", .string(Checkpoint.format))
        try file.writeAttribute("version", .integer(Int64(Checkpoint.version)))
        try file.writeAttribute("kind", .string(kind))
        try file.writeAttribute("config", .string(config))

        // Groups by slash-joined path; parents sort before their children.
        var groups: [String: HDF5Group] = ["": file]
        for components in layout.groups {
            let parent = groups[components.dropLast().joined(separator: "/")]!
            groups[components.joined(separator: "/")] = try parent.createGroup(components.last!)
        }
        for (index, (key, components)) in layout.tensors.enumerated() {
            if let limit, index >= limit {
                throw HDF5Error(function: "write(to:failingAfterDatasets:)", message: "simulated failure after \(limit) datasets")
            }
            let parent = groups[components.dropLast().joined(separator: "/")]!
            let tensor = tensors[key]!
            let failure = tensor.withUnsafeBufferPointer { scalars -> HDF5Error? in
                do throws(HDF5Error) {
                    try parent.writeFloatDataset(components.last!, shape: tensor.shape, scalars: scalars)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        }
        for (key, components) in layout.scalars {
            let parent = groups[components.dropLast().joined(separator: "/")]!
            let value: HDF5AttributeValue = if let integer = integers[key] { .integer(Int64(integer)) } else { .float(reals[key]!) }
            try parent.writeAttribute(components.last!, value)
        }
        groups[""] = nil
        for group in groups.values { try group.close() }
        groups.removeAll()
        try file.flush()
        try file.close()
    }

    /// `fsync` on the file or directory at `path`; the error message on failure, else nil.
    private static func synchronise(path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        defer { close(descriptor) }
        return fsync(descriptor) == 0 ? nil : String(cString: strerror(errno))
    }
}

/// The validated plan of a file: its groups and where each tensor and scalar goes.
private struct CheckpointLayout {
    /// Every group to create, as components, parents before children.
    var groups: [[String]] = []
    /// Every tensor key with its components, sorted by key.
    var tensors: [(key: String, components: [String])] = []
    /// Every integer and real key with its components, sorted by key.
    var scalars: [(key: String, components: [String])] = []

    init(_ checkpoint: Checkpoint) throws(CheckpointError) {
        var seen = Set<String>()
        for key in checkpoint.tensors.keys.sorted() {
            tensors.append((key, try Self.components(of: key)))
            seen.insert(key)
        }
        for key in (Array(checkpoint.integers.keys) + Array(checkpoint.reals.keys)).sorted() {
            guard seen.insert(key).inserted else {
                throw .invalidKey(key: key, reason: "it is used by more than one of tensors, integers and reals")
            }
            let components = try Self.components(of: key)
            if components.count == 1 && Checkpoint.reservedRootNames.contains(key) {
                throw .invalidKey(key: key, reason: "the root attribute \"\(key)\" is reserved for the format's metadata")
            }
            scalars.append((key, components))
        }
        // A group is every proper prefix of a tensor key and every parent of a scalar key.
        var groupPaths = Set<[String]>()
        for (_, components) in tensors where components.count > 1 {
            for length in 1..<components.count { groupPaths.insert(Array(components[..<length])) }
        }
        for (_, components) in scalars where components.count > 1 {
            for length in 1..<components.count { groupPaths.insert(Array(components[..<length])) }
        }
        for (key, components) in tensors where groupPaths.contains(components) {
            throw .invalidKey(key: key, reason: "it names a tensor and is also the prefix of other keys")
        }
        groups = groupPaths.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func components(of key: String) throws(CheckpointError) -> [String] {
        let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if components.contains(where: \.isEmpty) {
            throw .invalidKey(key: key, reason: "empty component (keys are dot-separated names, e.g. encoder.conv1.weight)")
        }
        if key.contains("/") { throw .invalidKey(key: key, reason: "it contains \"/\"") }
        if key.utf8.contains(0) { throw .invalidKey(key: key, reason: "it contains a NUL character") }
        return components
    }
}

// MARK: - Random streams

extension Checkpoint {
    /// Stores a random stream's state as four integers `<prefix>.0` … `<prefix>.3`.
    public mutating func setRandomState(_ generator: SeededGenerator, under prefix: String) {
        for (i, word) in generator.stateWords.enumerated() { integers["\(prefix).\(i)"] = Int(bitPattern: UInt(word)) }
    }

    /// The random stream stored by `setRandomState(_:under:)`.
    /// - Throws: `CheckpointError.mismatchedKeys` when the integers are missing or hold no valid state.
    public func randomState(under prefix: String) throws(CheckpointError) -> SeededGenerator {
        let keys = (0..<4).map { "\(prefix).\($0)" }
        let words = keys.compactMap { integers[$0] }.map { UInt64(UInt(bitPattern: $0)) }
        guard words.count == 4, let generator = SeededGenerator(stateWords: words) else {
            throw .mismatchedKeys(missing: keys.filter { integers[$0] == nil }.sorted(), unexpected: [], wrongShapes: [])
        }
        return generator
    }
}
