import Foundation
import XCTest
import Tensor
@testable import NN

/// HDF5 checkpoints: exact round trips, interchange with h5py in both directions, typed errors
/// for every kind of bad file, key verification and atomic replacement.
///
/// The h5py tests run Debian's system Python (`/usr/bin/python3` with python3-h5py, installed by
/// `make deps`; override with `GFP_PYTHON3`) and fail, rather than skip, when it is missing.
final class CheckpointTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("gfp-checkpoint-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Round trips

    func testRoundTripKeepsEveryTensorScalarAndAttributeExactly() throws {
        let original = Self.sampleCheckpoint()
        let url = directory.appendingPathComponent("model.h5")
        try original.write(to: url)
        let loaded = try Checkpoint(contentsOf: url)

        XCTAssertEqual(loaded.kind, original.kind)
        XCTAssertEqual(loaded.config, original.config)
        XCTAssertEqual(Set(loaded.tensors.keys), Set(original.tensors.keys))
        for (key, tensor) in original.tensors {
            XCTAssertEqual(loaded.tensors[key]?.shape, tensor.shape, key)
            XCTAssertEqual(loaded.tensors[key].map(Self.bitPatterns), Self.bitPatterns(tensor), key)
        }
        XCTAssertEqual(loaded.integers, original.integers)
        XCTAssertEqual(loaded.reals.mapValues(\.bitPattern), original.reals.mapValues(\.bitPattern))
        XCTAssertEqual(loaded.tensors["model.big"]?.count, 1 << 20)
        XCTAssertEqual(loaded.tensors["training.scale"]?.shape, [], "rank 0 stays rank 0")
        XCTAssertEqual(loaded.tensors["model.empty"]?.shape, [0, 3])
        XCTAssertEqual(loaded.tensors(under: "model").keys.sorted().first, "big")
    }

    func testEqualCheckpointsGiveByteIdenticalFiles() throws {
        let first = directory.appendingPathComponent("a.h5"), second = directory.appendingPathComponent("b.h5")
        var checkpoint = Self.sampleCheckpoint()
        checkpoint.tensors["model.big"] = nil
        try checkpoint.write(to: first)
        try checkpoint.write(to: second)
        XCTAssertEqual(try Data(contentsOf: first), try Data(contentsOf: second), "no timestamps in the file")
    }

    func testConfigLargerThanAnObjectHeaderMessageRoundTrips() throws {
        let widths = (0..<40_000).map { "\($0 % 977)" }.joined(separator: ", ")
        let checkpoint = Checkpoint(kind: "large-config", config: #"{"widths": [\#(widths)]}"#)
        XCTAssertGreaterThan(checkpoint.config.utf8.count, 150_000)
        let url = directory.appendingPathComponent("large-config.h5")
        try checkpoint.write(to: url)
        XCTAssertEqual(try Checkpoint(contentsOf: url).config, checkpoint.config)
        let output = try Self.runSystemPython(
            "import sys, h5py; print(len(h5py.File(sys.argv[1], 'r').attrs['config'].decode()))", arguments: [url.path])
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "\(checkpoint.config.utf8.count)")
    }

    func testSectionsAndConfigHelpers() throws {
        var checkpoint = Checkpoint(kind: "test", tensors: ["model.a": Tensor([1]), "ema.a": Tensor([2])])
        checkpoint.setTensors(["b.c": Tensor([3]), "d": Tensor(4)], under: "model")
        XCTAssertEqual(checkpoint.tensors.keys.sorted(), ["ema.a", "model.b.c", "model.d"])
        XCTAssertEqual(checkpoint.tensors(under: "model").keys.sorted(), ["b.c", "d"])
        XCTAssertEqual(checkpoint.tensors(under: "ema")["a"]?.scalars, [2])
        XCTAssertEqual(checkpoint.tensors(under: "").count, 3)

        struct Config: Codable, Equatable { var resolution: Int; var bits: Int; var name: String }
        let config = Config(resolution: 128, bits: 100, name: "StegaStamp ✓")
        try checkpoint.encodeConfig(config)
        XCTAssertEqual(checkpoint.config, #"{"bits":100,"name":"StegaStamp ✓","resolution":128}"#)
        let url = directory.appendingPathComponent("config.h5")
        try checkpoint.write(to: url)
        XCTAssertEqual(try Checkpoint(contentsOf: url).decodeConfig(Config.self), config)
        XCTAssertThrowsError(try checkpoint.decodeConfig([Int].self)) { error in
            guard case .invalidConfig = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    func testConcurrentReadsAndWritesFromManyThreads() throws {
        let base = Self.smallCheckpoint()
        let failures = FailureLog()
        let directory: URL = directory
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            var checkpoint = base
            checkpoint.integers["index"] = index
            let url = directory.appendingPathComponent("thread-\(index).h5")
            do {
                for _ in 0..<5 {
                    try checkpoint.write(to: url)
                    let loaded = try Checkpoint(contentsOf: url)
                    if loaded.integers["index"] != index || loaded.tensors.count != base.tensors.count {
                        failures.append("thread \(index) read back \(loaded.integers)")
                    }
                }
            } catch {
                failures.append("thread \(index): \(error)")
            }
        }
        XCTAssertEqual(failures.messages, [])
    }

    // MARK: h5py interchange

    func testFileWrittenBySwiftReadsBackInH5py() throws {
        let checkpoint = Self.sampleCheckpoint()
        let url = directory.appendingPathComponent("for-h5py.h5")
        try checkpoint.write(to: url)
        let output = try Self.runSystemPython(Self.h5pyDumpScript, arguments: [url.path])
        let dump = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let datasets = try XCTUnwrap(dump["datasets"] as? [String: [String: Any]])
        let attributes = try XCTUnwrap(dump["attributes"] as? [String: [String: [String: Any]]])

        XCTAssertEqual(Set(datasets.keys), Set(checkpoint.tensors.keys.map { "/" + $0.replacingOccurrences(of: ".", with: "/") }))
        for (key, tensor) in checkpoint.tensors {
            let path = "/" + key.replacingOccurrences(of: ".", with: "/")
            let entry = try XCTUnwrap(datasets[path], path)
            XCTAssertEqual(entry["dtype"] as? String, "<f4", path)
            XCTAssertEqual(entry["shape"] as? [Int], tensor.shape, path)
            XCTAssertEqual((entry["checksum"] as? NSNumber)?.uint64Value, Self.checksum(tensor), path)
            if let bits = entry["bits"] as? [NSNumber] {
                XCTAssertEqual(bits.map(\.uint32Value), Self.bitPatterns(tensor), path)
            } else {
                XCTAssertGreaterThan(tensor.count, 4096, "h5py sent the values of every small tensor")
            }
        }
        let root = try XCTUnwrap(attributes["/"])
        XCTAssertEqual(root["format"]?["type"] as? String, "bytes_", "fixed-length strings, which h5py reads as bytes")
        XCTAssertEqual(root["format"]?["value"] as? String, Checkpoint.format)
        XCTAssertEqual(root["kind"]?["type"] as? String, "bytes_")
        XCTAssertEqual(root["kind"]?["value"] as? String, checkpoint.kind)
        XCTAssertEqual(root["config"]?["type"] as? String, "bytes_")
        XCTAssertEqual(root["config"]?["value"] as? String, checkpoint.config)
        XCTAssertEqual(root["version"]?["type"] as? String, "int64")
        XCTAssertEqual((root["version"]?["value"] as? NSNumber)?.intValue, Checkpoint.version)

        var scalarsSeen = 0
        for (key, integer) in checkpoint.integers {
            let (group, name) = Self.attributeLocation(of: key)
            let entry = try XCTUnwrap(attributes[group]?[name], key)
            XCTAssertEqual(entry["type"] as? String, "int64", key)
            XCTAssertEqual((entry["value"] as? NSNumber)?.int64Value, Int64(integer), key)
            scalarsSeen += 1
        }
        for (key, real) in checkpoint.reals {
            let (group, name) = Self.attributeLocation(of: key)
            let entry = try XCTUnwrap(attributes[group]?[name], key)
            XCTAssertEqual(entry["type"] as? String, "float64", key)
            XCTAssertEqual((entry["bits"] as? NSNumber)?.uint64Value, real.bitPattern, key)
            scalarsSeen += 1
        }
        let attributeCount = attributes.values.map(\.count).reduce(0, +)
        XCTAssertEqual(attributeCount, scalarsSeen + 4, "no attributes beyond the scalars and the four root ones")
    }

    func testFileWrittenByTheTorchExportScriptReadsBack() throws {
        // Tools/torch_to_hdf5.py without torch: its key handling and writer on NumPy arrays.
        let url = directory.appendingPathComponent("exported.h5")
        let script = """
        import sys, numpy as np
        sys.path.insert(0, sys.argv[1])
        import torch_to_hdf5 as t
        def values(shape, dtype):
            n = int(np.prod(shape))
            return (np.arange(n, dtype=np.float64) * 0.25 - 3.0).reshape(shape).astype(dtype)
        saved = {"epoch": 7, "state_dict": {
            "module.encoder.conv1.weight": values((4, 3, 3, 3), np.float32),
            "module.encoder.conv1.bias": values((4,), np.float64),
            "module.blocks.2.conv.bias": values((5,), np.float16),
            "module.scale": np.array(0.5, dtype=np.float32),
            "module.bn.num_batches_tracked": np.array(12, dtype=np.int64),
        }}
        state = t.rename_keys(t.find_state_dict(saved), ["module."], "model")
        t.write_checkpoint(sys.argv[2], state, kind="stego-encoder", config='{"bits": 100}')
        """
        _ = try Self.runSystemPython(script, arguments: [Self.repositoryRoot.appendingPathComponent("Tools").path, url.path])
        let loaded = try Checkpoint(contentsOf: url)
        XCTAssertEqual(loaded.kind, "stego-encoder")
        XCTAssertEqual(loaded.config, #"{"bits": 100}"#)
        XCTAssertEqual(loaded.integers, ["model.bn.num_batches_tracked": 12])
        XCTAssertEqual(loaded.reals, [:])
        func values(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) * 0.25 - 3 })
        }
        let expected: [String: Tensor] = [
            "encoder.conv1.weight": values([4, 3, 3, 3]), "encoder.conv1.bias": values([4]),
            "blocks.2.conv.bias": values([5]), "scale": Tensor(0.5),
        ]
        let model = loaded.tensors(under: "model")
        XCTAssertNoThrow(try Checkpoint.verify(model, against: expected.mapValues(\.shape)))
        for (key, tensor) in expected {
            XCTAssertEqual(model[key].map(Self.bitPatterns), Self.bitPatterns(tensor), key)
        }
    }

    func testReadsChunkedCompressedBigEndianAndFloat64DatasetsFromH5py() throws {
        let url = directory.appendingPathComponent("h5py.h5")
        let script = """
        import sys, h5py, numpy as np
        with h5py.File(sys.argv[1], "w") as f:
            f.attrs["format"] = "gfp-checkpoint"
            f.attrs["version"] = 1
            f.attrs["kind"] = np.bytes_(b"fixed-length kind")
            f.attrs.create("config", "{ }", dtype=h5py.string_dtype("ascii", 4))
            f.create_dataset("model/chunked", data=np.arange(10000, dtype=np.float32).reshape(100, 100),
                             chunks=(10, 10), compression="gzip")
            f.create_dataset("model/big_endian", data=np.array([1.5, -2.25], dtype=">f4"))
            f.create_dataset("model/double", data=np.array([0.1, 1e300], dtype=np.float64))
            f.create_dataset("flat.name", data=np.float32(3))
            f["model"].attrs["step"] = np.int32(-5)
            f["model"].attrs["rate"] = np.float32(0.5)
        """
        _ = try Self.runSystemPython(script, arguments: [url.path])
        let loaded = try Checkpoint(contentsOf: url)
        XCTAssertEqual(loaded.kind, "fixed-length kind")
        XCTAssertEqual(loaded.config, "{ }")
        XCTAssertEqual(loaded.tensors["model.chunked"]?.scalars, (0..<10000).map(Float.init))
        XCTAssertEqual(loaded.tensors["model.big_endian"]?.scalars, [1.5, -2.25])
        XCTAssertEqual(loaded.tensors["model.double"]?.scalars, [Float(0.1), .infinity], "float64 rounds to float32")
        XCTAssertEqual(loaded.tensors["flat.name"]?.shape, [])
        XCTAssertEqual(loaded.integers, ["model.step": -5])
        XCTAssertEqual(loaded.reals, ["model.rate": 0.5])
    }

    // MARK: Bad files

    func testMissingEmptyTextGarbageAndDirectoryAreTypedErrors() throws {
        let missing = directory.appendingPathComponent("missing.h5")
        assertReadError(missing) { if case .fileNotFound(missing.path) = $0 { true } else { false } }

        let empty = directory.appendingPathComponent("empty.h5")
        try Data().write(to: empty)
        assertReadError(empty) { if case .notHDF5(empty.path) = $0 { true } else { false } }

        let text = directory.appendingPathComponent("text.h5")
        try Data("format = gfp-checkpoint\nversion = 1\n".utf8).write(to: text)
        assertReadError(text) { if case .notHDF5(text.path) = $0 { true } else { false } }

        var generator = SeededGenerator(seed: 5)
        let garbage = directory.appendingPathComponent("garbage.h5")
        try Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: garbage)
        assertReadError(garbage) { if case .notHDF5(garbage.path) = $0 { true } else { false } }

        assertReadError(directory) { if case .unreadable(self.directory.path, _) = $0 { true } else { false } }
    }

    func testTruncatedFilesAreCorruptAtEveryCut() throws {
        let url = directory.appendingPathComponent("whole.h5")
        try Self.smallCheckpoint().write(to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertGreaterThan(bytes.count, 2048)
        let cuts = [4, 8, 64, 96, 200, 512, 800, 1024, 1500, bytes.count / 2, bytes.count - 100, bytes.count - 1]
        for cut in cuts {
            let truncated = directory.appendingPathComponent("cut-\(cut).h5")
            try bytes.prefix(cut).write(to: truncated)
            assertReadError(truncated, "cut at \(cut) of \(bytes.count)") { error in
                if cut < 8, case .notHDF5 = error { return true }  // not even the whole signature
                if case .corrupt(truncated.path, let reason) = error { return !reason.isEmpty }
                return false
            }
        }
    }

    func testDamagedBytesGiveATypedErrorOrChangeOnlyTensorValues() throws {
        // Metadata carries checksums and is caught; raw tensor data has none, so a damaged value
        // may read back changed, but never with different keys, shapes, scalars or attributes.
        let url = directory.appendingPathComponent("intact.h5")
        let original = Checkpoint(
            kind: "damaged", config: #"{"widths": [8, 16], "name": "x"}"#,
            tensors: ["model.a.weight": Tensor(shape: [4, 4], scalars: (0..<16).map(Float.init)),
                      "model.b.2.bias": Tensor([1, 2, 3]), "ema.scale": Tensor(0.5)],
            integers: ["optimizer.step": 42], reals: ["training.mean": 0.25])
        try original.write(to: url)
        let bytes = try Data(contentsOf: url)
        let damaged = directory.appendingPathComponent("damaged.h5")
        var errors = 0, reads = 0
        for offset in stride(from: 0, to: bytes.count - 4, by: 5) {
            var copy = bytes
            for index in offset..<offset + 4 { copy[index] ^= 0x5A }
            try copy.write(to: damaged)
            do throws(CheckpointError) {
                let loaded = try Checkpoint(contentsOf: damaged)
                reads += 1
                XCTAssertEqual(loaded.kind, original.kind, "offset \(offset)")
                XCTAssertEqual(loaded.config, original.config, "offset \(offset)")
                XCTAssertEqual(loaded.integers, original.integers, "offset \(offset)")
                XCTAssertEqual(loaded.reals, original.reals, "offset \(offset)")
                XCTAssertEqual(loaded.tensors.mapValues(\.shape), original.tensors.mapValues(\.shape), "offset \(offset)")
            } catch {
                errors += 1
            }
        }
        XCTAssertGreaterThan(errors, reads, "most of a small file is checksummed metadata")
    }

    func testHDF5FilesThatAreNotCheckpointsNameTheProblem() throws {
        let script = """
        import sys, os, h5py, numpy as np
        d = sys.argv[1]
        def make(name, format="gfp-checkpoint", version=1, kind="k", config="{}"):
            f = h5py.File(os.path.join(d, name + ".h5"), "w")
            for key, value in [("format", format), ("version", version), ("kind", kind), ("config", config)]:
                if value is not None:
                    f.attrs[key] = value
            return f
        make("plain", format=None).create_dataset("x", data=np.zeros(3, np.float32))
        make("other-format", format="keras")
        make("future", version=2)
        make("string-version", version="1")
        make("no-kind", kind=None)
        make("no-config", config=None)
        make("int-dataset").create_dataset("model/count", data=np.arange(3, dtype=np.int32))
        make("half-dataset").create_dataset("model/half", data=np.ones(3, np.float16))
        make("dataset-attribute").create_dataset("model/w", data=np.ones(3, np.float32)).attrs["units"] = "m"
        make("group-string").create_group("model").attrs["note"] = "hello"
        make("vector-attribute").create_group("model").attrs["steps"] = np.array([1, 2])
        make("named-type")["model/t"] = np.dtype("<f4")
        f = make("clash"); f.create_dataset("a/b", data=np.ones(1, np.float32)); f.create_dataset("a.b", data=np.ones(1, np.float32))
        """
        _ = try Self.runSystemPython(script, arguments: [directory.path])
        func file(_ name: String) -> URL { directory.appendingPathComponent(name + ".h5") }

        assertReadError(file("plain")) { if case .wrongFormat(_, nil) = $0 { true } else { false } }
        assertReadError(file("other-format")) { if case .wrongFormat(_, "keras") = $0 { true } else { false } }
        assertReadError(file("future")) { if case .unsupportedVersion(_, 2, 1...1) = $0 { true } else { false } }
        assertReadError(file("string-version")) { if case .invalidAttribute(_, "version", _) = $0 { true } else { false } }
        assertReadError(file("no-kind")) { if case .invalidAttribute(_, "kind", _) = $0 { true } else { false } }
        assertReadError(file("no-config")) { if case .invalidAttribute(_, "config", _) = $0 { true } else { false } }
        assertReadError(file("int-dataset")) {
            if case .unsupportedDatatype(_, "model.count", "int32") = $0 { true } else { false }
        }
        assertReadError(file("half-dataset")) {
            if case .unsupportedDatatype(_, "model.half", "float16") = $0 { true } else { false }
        }
        assertReadError(file("dataset-attribute")) { if case .unsupportedEntry(_, "/model/w", _) = $0 { true } else { false } }
        assertReadError(file("group-string")) {
            if case .unsupportedEntry(_, let location, _) = $0 { location.contains("note") } else { false }
        }
        assertReadError(file("vector-attribute")) {
            if case .unsupportedEntry(_, let location, _) = $0 { location.contains("steps") } else { false }
        }
        assertReadError(file("named-type")) { if case .unsupportedEntry(_, "/model/t", _) = $0 { true } else { false } }
        assertReadError(file("clash")) {
            if case .unsupportedEntry(_, _, let reason) = $0 { reason.contains("\"a.b\"") } else { false }
        }
    }

    func testHDF5PrintsNothingWhenItFails() throws {
        let log = directory.appendingPathComponent("stderr.log")
        let truncated = directory.appendingPathComponent("truncated.h5")
        try Self.smallCheckpoint().write(to: truncated)
        try Data(try Data(contentsOf: truncated).prefix(300)).write(to: truncated)
        let descriptor = open(log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        let saved = dup(STDERR_FILENO)
        dup2(descriptor, STDERR_FILENO)
        XCTAssertThrowsError(try Checkpoint(contentsOf: truncated))
        XCTAssertThrowsError(try Self.smallCheckpoint().write(to: directory.appendingPathComponent("missing/x.h5")))
        fflush(nil)
        dup2(saved, STDERR_FILENO)
        close(saved)
        close(descriptor)
        XCTAssertEqual(String(decoding: try Data(contentsOf: log), as: UTF8.self), "")
    }

    // MARK: Verification

    func testVerificationNamesEveryMissingUnexpectedAndMisshapedKey() {
        let tensors: [String: Tensor] = [
            "conv1.weight": .zeros([8, 3, 3, 3]), "conv1.bias": .zeros([7]), "blocks.2.scale": Tensor(1),
            "extra.one": .zeros([1]), "extra.two": .zeros([2]), "fc.weight": .zeros([10, 4]),
        ]
        let expected: [String: [Int]] = [
            "conv1.weight": [8, 3, 3, 3], "conv1.bias": [8], "blocks.2.scale": [1],
            "fc.weight": [10, 4], "fc.bias": [10], "head.weight": [2, 10],
        ]
        XCTAssertThrowsError(try Checkpoint.verify(tensors, against: expected)) { error in
            XCTAssertEqual(error as? CheckpointError, .mismatchedKeys(
                missing: ["fc.bias", "head.weight"], unexpected: ["extra.one", "extra.two"],
                wrongShapes: [.init(key: "blocks.2.scale", expected: [1], found: []),
                              .init(key: "conv1.bias", expected: [8], found: [7])]))
            let message = "\(error)"
            for key in ["fc.bias", "head.weight", "extra.one", "extra.two", "blocks.2.scale", "conv1.bias", "[8]", "[7]"] {
                XCTAssertTrue(message.contains(key), "\(key) in \(message)")
            }
        }
        XCTAssertNoThrow(try Checkpoint.verify(tensors, against: tensors.mapValues(\.shape)))
        XCTAssertThrowsError(try Checkpoint.verify([:], against: ["a": [1]]))
        XCTAssertThrowsError(try Checkpoint.verify(["a": Tensor(1)], against: [:]))
    }

    // MARK: Writing

    func testInvalidKeysAndConfigAreRejectedBeforeTouchingTheDisk() throws {
        let url = directory.appendingPathComponent("invalid.h5")
        let cases: [(Checkpoint, String)] = [
            (Checkpoint(kind: "k", tensors: ["a..b": Tensor(1)]), "a..b"),
            (Checkpoint(kind: "k", tensors: [".a": Tensor(1)]), ".a"),
            (Checkpoint(kind: "k", tensors: ["a.": Tensor(1)]), "a."),
            (Checkpoint(kind: "k", tensors: ["": Tensor(1)]), ""),
            (Checkpoint(kind: "k", tensors: ["a/b": Tensor(1)]), "a/b"),
            (Checkpoint(kind: "k", tensors: ["a.b": Tensor(1), "a.b.c": Tensor(2)]), "a.b"),
            (Checkpoint(kind: "k", tensors: ["a.b": Tensor(1)], integers: ["a.b.step": 1]), "a.b"),
            (Checkpoint(kind: "k", tensors: ["a.b": Tensor(1)], integers: ["a.b": 1]), "a.b"),
            (Checkpoint(kind: "k", integers: ["a": 1], reals: ["a": 1]), "a"),
            (Checkpoint(kind: "k", integers: ["version": 2]), "version"),
        ]
        for (checkpoint, key) in cases {
            XCTAssertThrowsError(try checkpoint.write(to: url), key) { error in
                guard case .invalidKey(key, _) = error as? CheckpointError else { return XCTFail("\(key): \(error)") }
            }
        }
        XCTAssertNoThrow(try Checkpoint(kind: "k", integers: ["model.version": 2]).write(to: url),
                         "reserved names are only reserved at the root")
        try FileManager.default.removeItem(at: url)
        XCTAssertThrowsError(try Checkpoint(kind: "k", config: "{not json").write(to: url)) { error in
            guard case .invalidConfig = error as? CheckpointError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testWritingOverAnExistingCheckpointReplacesIt() throws {
        let url = directory.appendingPathComponent("replace.h5")
        try Checkpoint(kind: "old", tensors: ["w": Tensor([1, 2, 3]), "gone": Tensor(1)]).write(to: url)
        try Checkpoint(kind: "new", tensors: ["w": Tensor([4, 5])]).write(to: url)
        let loaded = try Checkpoint(contentsOf: url)
        XCTAssertEqual(loaded.kind, "new")
        XCTAssertEqual(loaded.tensors.keys.sorted(), ["w"])
        XCTAssertEqual(loaded.tensors["w"]?.scalars, [4, 5])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["replace.h5"])
    }

    func testFailedWriteLeavesTheOldCheckpointAndNoTemporaryFile() throws {
        let url = directory.appendingPathComponent("keep.h5")
        let old = Self.smallCheckpoint()
        try old.write(to: url)
        let oldBytes = try Data(contentsOf: url)

        var new = Self.sampleCheckpoint()
        new.kind = "new"
        XCTAssertThrowsError(try new.write(to: url, failingAfterDatasets: 3)) { error in
            guard case .writeFailed(url.path, let reason) = error as? CheckpointError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("simulated"), reason)
        }
        XCTAssertEqual(try Data(contentsOf: url), oldBytes)
        XCTAssertEqual(try Checkpoint(contentsOf: url).kind, old.kind)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["keep.h5"])

        // A directory in the way: HDF5 writes the temporary file, the rename fails.
        let blocked = directory.appendingPathComponent("blocked.h5")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        try Data("inside".utf8).write(to: blocked.appendingPathComponent("file"))
        XCTAssertThrowsError(try old.write(to: blocked)) { error in
            guard case .writeFailed(blocked.path, let reason) = error as? CheckpointError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("renam"), reason)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocked.path), ["file"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["blocked.h5", "keep.h5"])

        // A directory that does not exist: HDF5 cannot even create the temporary file.
        let nowhere = directory.appendingPathComponent("no-such-directory/model.h5")
        XCTAssertThrowsError(try old.write(to: nowhere)) { error in
            guard case .writeFailed(nowhere.path, _) = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    // MARK: Helpers

    private func assertReadError(
        _ url: URL, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
        _ matches: (CheckpointError) -> Bool
    ) {
        do throws(CheckpointError) {
            let checkpoint = try Checkpoint(contentsOf: url)
            XCTFail("\(url.lastPathComponent) read as a checkpoint of kind \(checkpoint.kind) \(message)", file: file, line: line)
        } catch {
            XCTAssertTrue(matches(error), "\(url.lastPathComponent): unexpected \(error) \(message)", file: file, line: line)
            XCTAssertTrue(error.description.contains(url.path) || error.description.contains(url.lastPathComponent),
                          "the message names the file: \(error)", file: file, line: line)
        }
    }

    /// Tensors of every kind the format must keep: nested and numeric keys, rank 0, empty, a
    /// million elements, special values; integer and real scalars at every level.
    static func sampleCheckpoint() -> Checkpoint {
        var generator = SeededGenerator(seed: 42)
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -2...2, using: &generator) })
        }
        let tensors: [String: Tensor] = [
            "model.unet.conv1.weight": random([32, 3, 3, 3]),
            "model.unet.conv1.bias": random([32]),
            "model.blocks.0.conv.weight": random([4, 4, 1, 1]),
            "model.blocks.2.conv.bias": random([4]),
            "model.blocks.10.conv.bias": random([4]),
            "model.big": random([1024, 1024]),
            "model.empty": Tensor(shape: [0, 3], scalars: []),
            "model.special": Tensor([0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude,
                                     .greatestFiniteMagnitude, -.leastNormalMagnitude, Float(bitPattern: 0x0000_1234)]),
            "ema.unet.conv1.weight": random([32, 3, 3, 3]),
            "optimizer.adam.m.unet.conv1.weight": random([32, 3, 3, 3]),
            "optimizer.adam.v.unet.conv1.weight": random([32, 3, 3, 3]),
            "training.scale": Tensor(0.75),
            "top": random([2, 3, 4, 5, 6]),
        ]
        return Checkpoint(
            kind: "stego-encoder",
            config: #"{"bits": 100, "name": "StegaStamp — ü", "widths": [32, 64]}"#,
            tensors: tensors,
            integers: ["optimizer.adam.step": 123_456_789_012, "training.step": 0, "epoch": -3,
                       "model.blocks.2.limit": Int.max, "model.blocks.2.floor": Int.min],
            reals: ["training.pathLengthMean": 0.1, "learningRate": 2e-4, "ema.beta": .pi,
                    "training.tiny": .leastNonzeroMagnitude, "training.negativeZero": -0.0,
                    "training.infinite": .infinity, "optimizer.adam.epsilon": 1e-8])
    }

    static func smallCheckpoint() -> Checkpoint {
        var checkpoint = Checkpoint(kind: "small", config: #"{"size": 1}"#)
        for index in 0..<12 {
            checkpoint.tensors["model.layers.\(index).weight"] = Tensor(shape: [8, 8], scalars: (0..<64).map { Float($0 + index) })
        }
        checkpoint.integers["training.step"] = 10
        checkpoint.reals["training.loss"] = 0.5
        return checkpoint
    }

    static func bitPatterns(_ tensor: Tensor) -> [UInt32] { tensor.scalars.map(\.bitPattern) }

    /// Σ bits[i] · (i mod 65521 + 1), wrapping at 2⁶⁴: the same sum the h5py dump computes.
    static func checksum(_ tensor: Tensor) -> UInt64 {
        var sum: UInt64 = 0
        for (index, value) in tensor.scalars.enumerated() {
            sum = sum &+ UInt64(value.bitPattern) &* UInt64(index % 65521 + 1)
        }
        return sum
    }

    static func attributeLocation(of key: String) -> (group: String, name: String) {
        let components = key.split(separator: ".").map(String.init)
        return ("/" + components.dropLast().joined(separator: "/"), components.last!)
    }

    /// Prints every dataset (dtype, shape, bit patterns of small ones, checksum) and every
    /// attribute (Python type name, value, or bit pattern for floats) of the file as JSON.
    static let h5pyDumpScript = """
    import sys, json, h5py, numpy as np
    datasets, attributes = {}, {}
    def attrs(name, obj):
        entries = {}
        for key, value in obj.attrs.items():
            entry = {"type": type(value).__name__}
            if isinstance(value, (str, bytes)):
                entry["value"] = value if isinstance(value, str) else value.decode()
            elif isinstance(value, np.floating):
                entry["bits"] = int(np.float64(value).view(np.uint64))
            else:
                entry["value"] = int(value)
            entries[key] = entry
        if entries:
            attributes[name] = entries
    def visit(name, obj):
        path = "/" + name
        attrs(path, obj)
        if isinstance(obj, h5py.Dataset):
            data = obj[()]
            bits = np.asarray(data).reshape(-1).view(np.uint32).astype(np.uint64)
            weights = (np.arange(bits.size, dtype=np.uint64) % np.uint64(65521)) + np.uint64(1)
            entry = {"dtype": obj.dtype.str, "shape": list(obj.shape),
                     "checksum": int(np.sum(bits * weights, dtype=np.uint64))}
            if bits.size <= 4096:
                entry["bits"] = [int(b) for b in bits]
            datasets[path] = entry
    with h5py.File(sys.argv[1], "r") as f:
        attrs("/", f)
        f.visititems(visit)
    print(json.dumps({"datasets": datasets, "attributes": attributes}))
    """

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs `script` with Debian's system Python and returns its standard output.
    static func runSystemPython(_ script: String, arguments: [String]) throws -> String {
        let python = ProcessInfo.processInfo.environment["GFP_PYTHON3"] ?? "/usr/bin/python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errorData = Data()
        DispatchQueue.global().async(group: group) { errorData = errors.fileHandleForReading.readDataToEndOfFile() }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PythonFailure(message: """
                \(python) exited with status \(process.terminationStatus) (it needs h5py: `make deps` installs \
                python3-h5py):
                \(String(decoding: errorData, as: UTF8.self))
                """)
        }
        return String(decoding: outputData, as: UTF8.self)
    }

    struct PythonFailure: Error, CustomStringConvertible { var message: String; var description: String { message } }

    /// Messages collected from several threads.
    final class FailureLog: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [String] = []
        func append(_ message: String) { lock.withLock { storage.append(message) } }
        var messages: [String] { lock.withLock { storage } }
    }
}
