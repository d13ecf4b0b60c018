import Foundation
import XCTest
import Tensor
@testable import NN

/// Loading PyTorch state dicts exported by Tools/torch_to_hdf5.py.
///
/// Without torch in CI, the official StegaStamp models are stood in for by Swift ones whose
/// parameters are exported under the official PyTorch names (artificial-fingerprints spec §3.1)
/// and written by the script's own code (`find_state_dict`, `rename_keys`, `write_checkpoint`),
/// run on NumPy arrays by Debian's system Python as in CheckpointTests (`GFP_PYTHON3` overrides
/// it; the tests fail, rather than skip, without python3-h5py).
final class PyTorchImportTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("gfp-pytorch-import-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: The official key names

    /// The keys of the official PyTorch `StegaStampEncoder` state dict (spec §3.1).
    static let officialEncoderKeys: [String] = (["secret_dense"] + (1...10).map { "conv\($0)" } + (6...9).map { "up\($0)" }
        + ["residual"]).flatMap { ["\($0).weight", "\($0).bias"] }
    /// The keys of the official PyTorch `StegaStampDecoder` state dict (spec §3.1).
    static let officialDecoderKeys: [String] = (stride(from: 0, through: 12, by: 2).map { "decoder.\($0)" } + ["dense.0", "dense.2"])
        .flatMap { ["\($0).weight", "\($0).bias"] }

    /// `secretDense.weight` → `secret_dense.weight`: the PyTorch name of a gfp key, written
    /// independently of `KeyMap` so that exporting and importing do not share the code under test.
    static func snakeCase(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    static func makeEncoder(seed: UInt64) -> StegaStampEncoder {
        var generator = SeededGenerator(seed: seed)
        return StegaStampEncoder(resolution: 32, imageChannels: 3, fingerprintLength: 100, generator: &generator)
    }

    static func makeDecoder(seed: UInt64) -> StegaStampDecoder {
        var generator = SeededGenerator(seed: seed)
        return StegaStampDecoder(resolution: 32, imageChannels: 3, fingerprintLength: 100, generator: &generator)
    }

    /// The module's parameters under their PyTorch names.
    static func pyTorchStateDictionary(of module: Module) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: module.namedParameters().map { (snakeCase($0.key), $0.parameter.value) })
    }

    func testOfficialStegaStampKeysNeedOnlyTheDefaultKeyMap() {
        let encoder = Self.makeEncoder(seed: 1), decoder = Self.makeDecoder(seed: 2)
        XCTAssertEqual(Set(Self.officialEncoderKeys.map { KeyMap()($0) }), Set(encoder.namedParameters().map(\.key)))
        XCTAssertEqual(Set(Self.officialDecoderKeys.map { KeyMap()($0) }), Set(decoder.namedParameters().map(\.key)))
        // The export below names parameters as PyTorch does.
        XCTAssertEqual(Set(Self.pyTorchStateDictionary(of: encoder).keys), Set(Self.officialEncoderKeys))
        XCTAssertEqual(Set(Self.pyTorchStateDictionary(of: decoder).keys), Set(Self.officialDecoderKeys))
        XCTAssertEqual(KeyMap()("secret_dense.weight"), "secretDense.weight")
        XCTAssertEqual(KeyMap()("decoder.12.bias"), "decoder.12.bias")
    }

    // MARK: Loading files written by the script

    func testStegaStampEncoderAndDecoderExportedUnderOfficialNamesGiveIdenticalOutputs() throws {
        var random = SeededGenerator(seed: 99)
        let fingerprints = Tensor.bernoulli([2, 100], using: &random)
        let images = Tensor.uniform([2, 3, 32, 32], using: &random)

        let encoder = Self.makeEncoder(seed: 1)
        let encoderURL = directory.appendingPathComponent("encoder.h5")
        try export(Self.pyTorchStateDictionary(of: encoder), to: encoderURL, kind: "stego-encoder",
                   config: #"{"resolution": 32, "bits": 100}"#)
        let dictionary = try PyTorchStateDictionary(contentsOf: encoderURL)
        XCTAssertEqual(dictionary.keys, Self.officialEncoderKeys.sorted())
        XCTAssertEqual(dictionary.kind, "stego-encoder")
        XCTAssertEqual(dictionary.config, #"{"resolution": 32, "bits": 100}"#)
        XCTAssertEqual(dictionary.tensors["secret_dense.weight"]?.shape, [768, 100])

        let loadedEncoder = Self.makeEncoder(seed: 7)
        let expectedImages = encoder(fingerprints: fingerprints, images: images)
        XCTAssertNotEqual(Self.bits(loadedEncoder(fingerprints: fingerprints, images: images)), Self.bits(expectedImages),
                          "a differently seeded encoder must differ before loading")
        try loadedEncoder.loadPyTorchStateDictionary(from: encoderURL)
        assertSameParameters(loadedEncoder, encoder)
        XCTAssertEqual(Self.bits(loadedEncoder(fingerprints: fingerprints, images: images)), Self.bits(expectedImages),
                       "encoder output after loading")

        let decoder = Self.makeDecoder(seed: 2)
        let decoderURL = directory.appendingPathComponent("decoder.h5")
        try export(Self.pyTorchStateDictionary(of: decoder), to: decoderURL, kind: "stego-decoder")
        XCTAssertEqual(try PyTorchStateDictionary(contentsOf: decoderURL).keys, Self.officialDecoderKeys.sorted())
        let loadedDecoder = Self.makeDecoder(seed: 8)
        let expectedLogits = decoder(expectedImages)
        XCTAssertNotEqual(Self.bits(loadedDecoder(expectedImages)), Self.bits(expectedLogits))
        try loadedDecoder.loadPyTorchStateDictionary(from: decoderURL)
        assertSameParameters(loadedDecoder, decoder)
        XCTAssertEqual(Self.bits(loadedDecoder(expectedImages)), Self.bits(expectedLogits), "decoder logits after loading")
    }

    func testMissingExtraAndMisshapedKeysGiveOneErrorNamingAllThree() throws {
        var state = Self.pyTorchStateDictionary(of: Self.makeEncoder(seed: 1))
        XCTAssertNotNil(state.removeValue(forKey: "secret_dense.bias"))
        state["extra_dense.weight"] = Tensor(repeating: 0.5, shape: [4, 4])
        state["conv10.weight"] = Tensor(repeating: 0.25, shape: [32, 32, 1, 1])
        let url = directory.appendingPathComponent("bad.h5")
        try export(state, to: url, kind: "stego-encoder")

        let encoder = Self.makeEncoder(seed: 7)
        let before = encoder.stateDictionary().mapValues(Self.bits)
        let error = thrownError { () throws(CheckpointError) in try encoder.loadPyTorchStateDictionary(from: url) }
        XCTAssertEqual(error, .mismatchedKeys(
            missing: ["secretDense.bias"], unexpected: ["extraDense.weight"],
            wrongShapes: [.init(key: "conv10.weight", expected: [32, 32, 3, 3], found: [32, 32, 1, 1])]))
        let message = error.map { "\($0)" } ?? ""
        for name in ["secretDense.bias", "extraDense.weight", "conv10.weight"] {
            XCTAssertTrue(message.contains(name), "\(message) names \(name)")
        }
        XCTAssertEqual(encoder.stateDictionary().mapValues(Self.bits), before, "nothing changes when loading fails")

        // Not strict: missing and extra keys are allowed, a wrong shape still is not.
        let lenient = thrownError { () throws(CheckpointError) in
            try encoder.loadPyTorchStateDictionary(from: url, strict: false)
        }
        XCTAssertEqual(lenient, .mismatchedKeys(
            missing: [], unexpected: [],
            wrongShapes: [.init(key: "conv10.weight", expected: [32, 32, 3, 3], found: [32, 32, 1, 1])]))
        XCTAssertEqual(encoder.stateDictionary().mapValues(Self.bits), before)

        var dictionary = try PyTorchStateDictionary(contentsOf: url)
        dictionary.tensors["conv10.weight"] = nil
        try encoder.loadPyTorchStateDictionary(dictionary, strict: false)
        let after = encoder.stateDictionary().mapValues(Self.bits)
        XCTAssertEqual(after["secretDense.bias"], before["secretDense.bias"], "absent keys keep their values")
        XCTAssertEqual(after["conv10.weight"], before["conv10.weight"])
        XCTAssertEqual(after["secretDense.weight"], state["secret_dense.weight"].map(Self.bits))
        XCTAssertNotEqual(after["secretDense.weight"], before["secretDense.weight"])
    }

    func testDataParallelPrefixIsRemovedWithAndWithoutASection() throws {
        let decoder = Self.makeDecoder(seed: 2)
        var random = SeededGenerator(seed: 5)
        let images = Tensor.uniform([3, 3, 32, 32], using: &random)
        let expected = Self.bits(decoder(images))
        var state = Dictionary(uniqueKeysWithValues: Self.pyTorchStateDictionary(of: decoder).map { ("module." + $0.key, $0.value) })

        // As `torch.save(model.state_dict())` of a DataParallel model, with BatchNorm-style counter.
        let plain = directory.appendingPathComponent("parallel.h5")
        try export(state, integers: ["module.norm.num_batches_tracked": 5], to: plain, kind: "stego-decoder")
        let dictionary = try PyTorchStateDictionary(contentsOf: plain)
        XCTAssertTrue(dictionary.hasDataParallelPrefix)
        XCTAssertEqual(dictionary.integers, ["module.norm.num_batches_tracked": 5])
        XCTAssertEqual(dictionary.removingDataParallelPrefix().keys, Self.officialDecoderKeys.sorted())
        let loaded = Self.makeDecoder(seed: 8)
        XCTAssertNotEqual(Self.bits(loaded(images)), expected)
        try loaded.loadPyTorchStateDictionary(from: plain)
        XCTAssertEqual(Self.bits(loaded(images)), expected, "DataParallel file")

        // Written with the script's `--prefix model` and no `--strip-prefix`.
        let sectioned = directory.appendingPathComponent("parallel-section.h5")
        try export(state, prefix: "model", to: sectioned, kind: "stego-decoder")
        XCTAssertEqual(try PyTorchStateDictionary(contentsOf: sectioned).keys, state.keys.map { "model." + $0 }.sorted())
        let loadedFromSection = Self.makeDecoder(seed: 9)
        try loadedFromSection.loadPyTorchStateDictionary(from: sectioned, section: "model")
        XCTAssertEqual(Self.bits(loadedFromSection(images)), expected, "DataParallel file under a section")

        // Only a prefix on every key is DataParallel's; a mixed file keeps its keys and fails.
        state["dense.2.bias"] = state.removeValue(forKey: "module.dense.2.bias")
        let mixed = PyTorchStateDictionary(tensors: state)
        XCTAssertFalse(mixed.hasDataParallelPrefix)
        let error = thrownError { () throws(CheckpointError) in try Self.makeDecoder(seed: 3).loadPyTorchStateDictionary(mixed) }
        guard case .mismatchedKeys(let missing, let unexpected, let wrongShapes)? = error else {
            return XCTFail("expected mismatched keys, got \(String(describing: error))")
        }
        XCTAssertEqual(missing, Self.officialDecoderKeys.filter { $0 != "dense.2.bias" }.sorted())
        XCTAssertEqual(unexpected, Self.officialDecoderKeys.filter { $0 != "dense.2.bias" }.map { "module." + $0 }.sorted())
        XCTAssertEqual(wrongShapes, [])
    }

    // MARK: Without files

    /// A model with a child that is really called `module`.
    final class Wrapper: Module {
        let module: Linear
        init(seed: UInt64) {
            var generator = SeededGenerator(seed: seed)
            module = Linear(inputCount: 3, outputCount: 2, generator: &generator)
        }
    }

    func testAModuleWithAChildNamedModuleKeepsThePrefix() throws {
        let source = Wrapper(seed: 1), target = Wrapper(seed: 2)
        XCTAssertEqual(Set(source.stateDictionary().keys), ["module.weight", "module.bias"])
        let dictionary = PyTorchStateDictionary(tensors: source.stateDictionary())
        XCTAssertTrue(dictionary.hasDataParallelPrefix)
        try target.loadPyTorchStateDictionary(dictionary)
        XCTAssertEqual(target.stateDictionary().mapValues(Self.bits), source.stateDictionary().mapValues(Self.bits))
    }

    func testKeysThatTheMapSendsToOneKeyAreATypedError() {
        let dictionary = PyTorchStateDictionary(tensors: [
            "secret_dense.weight": Tensor(repeating: 1, shape: [2]), "secretDense.weight": Tensor(repeating: 2, shape: [2]),
            "conv1.bias": Tensor(repeating: 3, shape: [2]),
        ])
        let error = thrownError { () throws(CheckpointError) in _ = try dictionary.tensors(mappedBy: KeyMap()) }
        guard case .invalidKey(let key, let reason)? = error else {
            return XCTFail("expected an invalid key, got \(String(describing: error))")
        }
        XCTAssertEqual(key, "secretDense.weight")
        XCTAssertTrue(reason.contains("secret_dense.weight") && reason.contains("secretDense.weight"), reason)
        let encoder = Self.makeEncoder(seed: 1)
        XCTAssertEqual(thrownError { () throws(CheckpointError) in try encoder.loadPyTorchStateDictionary(dictionary) }, error)
        // The identity map keeps them apart.
        XCTAssertEqual(Set((try? dictionary.tensors(mappedBy: .identity))?.keys.map { $0 } ?? []),
                       ["secret_dense.weight", "secretDense.weight", "conv1.bias"])
    }

    func testUnreadableFilesGiveCheckpointErrors() throws {
        let missing = directory.appendingPathComponent("absent.h5")
        XCTAssertEqual(thrownError { () throws(CheckpointError) in try Self.makeDecoder(seed: 1).loadPyTorchStateDictionary(from: missing) },
                       .fileNotFound(path: missing.path))
        let text = directory.appendingPathComponent("text.h5")
        try Data("not hdf5".utf8).write(to: text)
        XCTAssertEqual(thrownError { () throws(CheckpointError) in _ = try PyTorchStateDictionary(contentsOf: text) },
                       .notHDF5(path: text.path))
    }

    // MARK: Helpers

    /// Writes `tensors` and `integers` (keys as in PyTorch) as the script does: the arrays are
    /// handed to system Python as raw little-endian float32 files, nested in a saved object as a
    /// training script would, and written by `find_state_dict`, `rename_keys` and
    /// `write_checkpoint` of Tools/torch_to_hdf5.py (`prefix` is its `--prefix`).
    func export(_ tensors: [String: Tensor], integers: [String: Int] = [:], prefix: String = "", to url: URL,
                kind: String, config: String = "{}") throws {
        let staging = directory.appendingPathComponent("staging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        var entries: [String: Any] = [:]
        for (index, key) in tensors.keys.sorted().enumerated() {
            let tensor = tensors[key]!
            let words = tensor.scalars.map { $0.bitPattern.littleEndian }
            try words.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: staging.appendingPathComponent("\(index).bin"))
            entries[key] = ["file": "\(index).bin", "shape": tensor.shape]
        }
        let manifest: [String: Any] = ["tensors": entries, "integers": integers, "kind": kind, "config": config]
        try JSONSerialization.data(withJSONObject: manifest).write(to: staging.appendingPathComponent("manifest.json"))
        let script = """
        import sys, os, json, numpy as np
        tools, staging, output, prefix = sys.argv[1:5]
        sys.path.insert(0, tools)
        import torch_to_hdf5 as t
        with open(os.path.join(staging, "manifest.json")) as handle:
            manifest = json.load(handle)
        state = {}
        for key, entry in manifest["tensors"].items():
            array = np.fromfile(os.path.join(staging, entry["file"]), dtype="<f4")
            state[key] = array.reshape(entry["shape"])
        for key, value in manifest["integers"].items():
            state[key] = np.array(value, dtype=np.int64)
        saved = {"epoch": 3, "state_dict": state}
        arrays = t.rename_keys(t.find_state_dict(saved), [], prefix)
        t.write_checkpoint(output, arrays, kind=manifest["kind"], config=manifest["config"])
        """
        _ = try CheckpointTests.runSystemPython(script, arguments: [
            CheckpointTests.repositoryRoot.appendingPathComponent("Tools").path, staging.path, url.path, prefix,
        ])
    }

    static func bits(_ tensor: Tensor) -> [UInt32] { tensor.scalars.map(\.bitPattern) }

    func assertSameParameters(_ actual: Module, _ expected: Module, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.stateDictionary().mapValues(Self.bits), expected.stateDictionary().mapValues(Self.bits),
                       "parameters", file: file, line: line)
    }

    func thrownError(_ body: () throws(CheckpointError) -> Void) -> CheckpointError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }
}
