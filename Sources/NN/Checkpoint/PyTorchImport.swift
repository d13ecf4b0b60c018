import Foundation
import Tensor

/// A PyTorch `state_dict` exported to HDF5 by `Tools/torch_to_hdf5.py`, with its keys as PyTorch
/// names them (`secret_dense.weight`, `decoder.0.bias`).
///
/// The script writes a gfp checkpoint (see `Checkpoint`), so reading needs nothing beyond it;
/// what this type adds is PyTorch's naming. `Module.loadPyTorchStateDictionary(_:keyMap:strict:)`
/// translates the keys with a `KeyMap`, removes a DataParallel prefix, checks every key and
/// shape and loads.
///
/// PyTorch's tensor layouts are gfp's (convolution weights `[out, in/groups, kh, kw]`, linear
/// weights `[out, in]`), so tensors load unchanged. Float tensors of any precision arrive as
/// float32. Integer scalars, which the script writes for integer rank-0 tensors such as
/// BatchNorm's `num_batches_tracked`, are kept in `integers` but never loaded: gfp parameters
/// are float tensors, and a module with the float statistics that accompany such counters
/// would fail verification on those anyway.
///
/// The official PyTorch StegaStamp models (artificial-fingerprints spec §3.1) need no map
/// beyond the default snake_case → camelCase conversion: `secret_dense.weight` becomes
/// `secretDense.weight` of `StegaStampEncoder`, `conv1`…`conv10`, `up6`…`up9` and `residual`
/// keep their names, and `StegaStampDecoder`'s `Sequential`s are named by position as in
/// PyTorch (`decoder.0.weight`, `dense.2.bias`).
public struct PyTorchStateDictionary: Sendable {
    /// The prefix that `torch.nn.DataParallel` and `DistributedDataParallel` put before every key
    /// of a model saved through the wrapper (`module.conv1.weight`).
    public static let dataParallelPrefix = "module."

    /// Float tensors by PyTorch key.
    public var tensors: [String: Tensor]
    /// Integer scalars by PyTorch key (e.g. `bn.num_batches_tracked`); never loaded into modules.
    public var integers: [String: Int]
    /// The checkpoint's `kind` (the script's `--kind`).
    public var kind: String
    /// The checkpoint's configuration JSON (the script's `--config`).
    public var config: String

    /// A state dictionary of the given tensors and integer scalars.
    public init(tensors: [String: Tensor], integers: [String: Int] = [:], kind: String = "", config: String = "{}") {
        self.tensors = tensors
        self.integers = integers
        self.kind = kind
        self.config = config
    }

    /// The entries of `checkpoint` under `section` (the script's `--prefix`; empty for all),
    /// with the section and its dot removed from the keys. Real scalars, which the script never
    /// writes, are ignored.
    public init(_ checkpoint: Checkpoint, section: String = "") {
        var integers: [String: Int] = [:]
        if section.isEmpty {
            integers = checkpoint.integers
        } else {
            let start = section + "."
            for (key, value) in checkpoint.integers where key.hasPrefix(start) {
                integers[String(key.dropFirst(start.count))] = value
            }
        }
        self.init(tensors: checkpoint.tensors(under: section), integers: integers,
                  kind: checkpoint.kind, config: checkpoint.config)
    }

    /// Reads the file at `url` written by `Tools/torch_to_hdf5.py` and keeps the entries under
    /// `section` (the script's `--prefix`; empty, the default, for all).
    ///
    /// - Throws: the `CheckpointError`s of `Checkpoint.init(contentsOf:)`.
    public init(contentsOf url: URL, section: String = "") throws(CheckpointError) {
        self.init(try Checkpoint(contentsOf: url), section: section)
    }

    /// The tensor keys, sorted.
    public var keys: [String] { tensors.keys.sorted() }

    /// Whether there is at least one entry and every key (of tensors and integers) starts with
    /// `module.`, as in a model saved through DataParallel.
    public var hasDataParallelPrefix: Bool {
        let prefix = Self.dataParallelPrefix
        guard !tensors.isEmpty || !integers.isEmpty else { return false }
        return tensors.keys.allSatisfy { $0.hasPrefix(prefix) } && integers.keys.allSatisfy { $0.hasPrefix(prefix) }
    }

    /// The dictionary with `module.` removed from every key when `hasDataParallelPrefix`, else
    /// unchanged.
    public func removingDataParallelPrefix() -> PyTorchStateDictionary {
        guard hasDataParallelPrefix else { return self }
        let count = Self.dataParallelPrefix.count
        var result = self
        result.tensors = Dictionary(uniqueKeysWithValues: tensors.map { (String($0.key.dropFirst(count)), $0.value) })
        result.integers = Dictionary(uniqueKeysWithValues: integers.map { (String($0.key.dropFirst(count)), $0.value) })
        return result
    }

    /// The tensors with every key translated by `keyMap` (e.g. into a gfp module's parameter
    /// keys, for `Module.loadStateDictionary(_:strict:)`).
    ///
    /// - Throws: `CheckpointError.invalidKey` naming the translated key and every PyTorch key
    ///   sent to it, when the map sends two keys to one (e.g. `secret_dense.weight` and
    ///   `secretDense.weight` under the default map).
    public func tensors(mappedBy keyMap: KeyMap) throws(CheckpointError) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        var sources: [String: [String]] = [:]
        for key in keys {
            let mapped = keyMap(key)
            sources[mapped, default: []].append(key)
            result[mapped] = tensors[key]
        }
        if let clash = sources.filter({ $0.value.count > 1 }).min(by: { $0.key < $1.key }) {
            throw .invalidKey(key: clash.key, reason: "the key map sends several PyTorch keys to it: "
                                  + clash.value.joined(separator: ", "))
        }
        return result
    }
}

extension Module {
    /// Loads a PyTorch state dict that `Tools/torch_to_hdf5.py` wrote to `url`.
    ///
    /// See `loadPyTorchStateDictionary(_:keyMap:strict:)`; `section` selects the entries under
    /// the script's `--prefix` (empty, the default, for a file written without one).
    ///
    /// - Throws: the `CheckpointError`s of `Checkpoint.init(contentsOf:)` for an unreadable file,
    ///   and those of `loadPyTorchStateDictionary(_:keyMap:strict:)`.
    public func loadPyTorchStateDictionary(
        from url: URL, keyMap: KeyMap = KeyMap(), section: String = "", strict: Bool = true
    ) throws(CheckpointError) {
        try loadPyTorchStateDictionary(PyTorchStateDictionary(contentsOf: url, section: section),
                                       keyMap: keyMap, strict: strict)
    }

    /// Sets this module's parameters from a PyTorch state dict.
    ///
    /// 1. **DataParallel prefix.** If every key starts with `module.` (a model saved through
    ///    `DataParallel` or `DistributedDataParallel`) and no parameter of this module has a key
    ///    starting with `module.`, the prefix is removed from every key. A module that really has
    ///    a child property named `module` therefore keeps the keys as they are.
    /// 2. **Names.** Every key is translated by `keyMap`; the default converts snake_case
    ///    components to camelCase (`secret_dense.weight` → `secretDense.weight`) and keeps
    ///    positional ones (`decoder.0.weight`).
    /// 3. **Verification**, as `loadStateDictionary(_:strict:)`: with `strict` (the default) every
    ///    parameter must be present and nothing else; in every mode a shape mismatch is an error.
    ///    Integer scalars (`num_batches_tracked`) are not parameters and are ignored.
    ///
    /// Nothing is changed when an error is thrown.
    ///
    /// - Throws: `CheckpointError.mismatchedKeys` naming every missing, unexpected and wrongly
    ///   shaped key at once, by this module's names (after the prefix removal and the key map),
    ///   each list sorted; `.invalidKey` when the key map sends two PyTorch keys to one.
    public func loadPyTorchStateDictionary(
        _ dictionary: PyTorchStateDictionary, keyMap: KeyMap = KeyMap(), strict: Bool = true
    ) throws(CheckpointError) {
        let prefix = PyTorchStateDictionary.dataParallelPrefix
        var dictionary = dictionary
        if dictionary.hasDataParallelPrefix && !namedParameters().contains(where: { $0.key.hasPrefix(prefix) }) {
            dictionary = dictionary.removingDataParallelPrefix()
        }
        let values = try dictionary.tensors(mappedBy: keyMap)
        do throws(ParameterLoadError) {
            try loadStateDictionary(values, strict: strict)
        } catch {
            throw .mismatchedKeys(error)
        }
    }
}
