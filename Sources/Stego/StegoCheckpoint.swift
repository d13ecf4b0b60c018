import Foundation
import NN
import Tensor

/// Saving and restoring steganography models and training runs.
extension StegoTrainer {
    struct StoredConfiguration: Codable {
        var architecture: StegoArchitecture
        var training: StegoTrainingConfiguration
    }

    /// The checkpoint kind of steganography training runs.
    public static let checkpointKind = "stego-training"

    /// A trainer for fresh networks, initialised from the configuration's seed.
    public convenience init(architecture: StegoArchitecture, configuration: StegoTrainingConfiguration) throws {
        var random = SeededGenerator(seed: configuration.seed ^ 0x7374_6567_6F5F_696E)   // "stego_in"
        try self.init(networks: try StegoNetworks(architecture, generator: &random), configuration: configuration)
    }

    /// Networks, optimiser, λ-schedule state and random stream.
    public func checkpoint() throws(CheckpointError) -> Checkpoint {
        var checkpoint = Checkpoint(kind: Self.checkpointKind)
        try checkpoint.encodeConfig(StoredConfiguration(architecture: networks.architecture, training: configuration))
        checkpoint.setTensors(networks.stateDictionary(), under: "model")
        checkpoint.setTensors(optimizer.stateDictionary(), under: "optimizer")
        checkpoint.integers["training.step"] = schedule.step
        checkpoint.integers["training.stepsSinceTrigger"] = schedule.stepsSinceTrigger
        checkpoint.setRandomState(random, under: "training.random")
        return checkpoint
    }

    /// A trainer continuing the run saved in `checkpoint`.
    public convenience init(resumingFrom checkpoint: Checkpoint) throws {
        let stored = try Self.storedConfiguration(of: checkpoint)
        try self.init(continuing: checkpoint, with: stored.training)
    }

    /// A trainer that continues the networks, optimiser, λ-schedule state and random stream of
    /// `checkpoint` under another training configuration: fine-tuning with another λ maximum
    /// or an immunisation, say. The architecture is the checkpoint's.
    public convenience init(continuing checkpoint: Checkpoint, with configuration: StegoTrainingConfiguration) throws {
        let stored = try Self.storedConfiguration(of: checkpoint)
        try self.init(architecture: stored.architecture, configuration: configuration)
        try networks.loadStateDictionary(checkpoint.tensors(under: "model"))
        try optimizer.loadStateDictionary(checkpoint.tensors(under: "optimizer"))
        guard let step = checkpoint.integers["training.step"], let trigger = checkpoint.integers["training.stepsSinceTrigger"] else {
            throw CheckpointError.mismatchedKeys(missing: ["training.step", "training.stepsSinceTrigger"], unexpected: [], wrongShapes: [])
        }
        schedule.step = step
        schedule.stepsSinceTrigger = trigger
        random = try checkpoint.randomState(under: "training.random")
    }

    private static func storedConfiguration(of checkpoint: Checkpoint) throws -> StoredConfiguration {
        guard checkpoint.kind == Self.checkpointKind else {
            throw CheckpointError.invalidAttribute(path: checkpoint.sourcePath ?? "(in memory)", name: "kind",
                                                   reason: "expected \(Self.checkpointKind), found \(checkpoint.kind)")
        }
        return try checkpoint.decodeConfig(StoredConfiguration.self)
    }
}

/// Standalone encoder and decoder files, as `gfp stego embed` and `detect` read them.
public enum StegoModelFile {
    public static let encoderKind = "stego-encoder"
    public static let decoderKind = "stego-decoder"

    /// Writes the encoder (`kind` stego-encoder) with its architecture as the configuration.
    public static func writeEncoder(_ encoder: FingerprintEncoder, to url: URL) throws {
        try write(encoder, kind: encoderKind, architecture: StegoArchitecture(of: encoder), to: url)
    }

    /// Writes the decoder (`kind` stego-decoder) with its architecture as the configuration.
    public static func writeDecoder(_ decoder: FingerprintDecoder, to url: URL) throws {
        try write(decoder, kind: decoderKind, architecture: StegoArchitecture(of: decoder), to: url)
    }

    private static func write(_ module: Module, kind: String, architecture: StegoArchitecture, to url: URL) throws {
        var checkpoint = Checkpoint(kind: kind)
        try checkpoint.encodeConfig(architecture)
        checkpoint.setTensors(module.stateDictionary(), under: "model")
        try checkpoint.write(to: url)
    }

    /// Reads an encoder: an encoder file, a training checkpoint (`gfp stego train`'s
    /// `checkpoints/latest.h5`) or a training run folder.
    public static func readEncoder(from url: URL) throws -> FingerprintEncoder {
        try read(url, kind: encoderKind, fromTraining: \.encoder) { architecture, generator in
            architecture.makeEncoder(generator: &generator)
        }
    }

    /// Reads a decoder: a decoder file, a training checkpoint or a training run folder.
    public static func readDecoder(from url: URL) throws -> FingerprintDecoder {
        try read(url, kind: decoderKind, fromTraining: \.decoder) { architecture, generator in
            architecture.makeDecoder(generator: &generator)
        }
    }

    /// Reads a model file of `kind` (building the module for its architecture and loading its
    /// weights), or takes the network from a training checkpoint or run folder.
    private static func read<Model: Module>(_ url: URL, kind: String, fromTraining network: KeyPath<StegoNetworks, Model>,
                                            make: (StegoArchitecture, inout SeededGenerator) -> Model) throws -> Model {
        let file = try RunDirectory.checkpointFile(at: url)
        let checkpoint = try Checkpoint(contentsOf: file)
        if checkpoint.kind == StegoTrainer.checkpointKind {
            let model = try StegoTrainer(resumingFrom: checkpoint).networks[keyPath: network]
            model.eval()
            return model
        }
        let architecture = try architecture(of: checkpoint, kind: kind, path: file.path)
        var unused = SeededGenerator(seed: 0)
        let model = make(architecture, &unused)
        try model.loadStateDictionary(checkpoint.tensors(under: "model"))
        model.eval()
        return model
    }

    private static func architecture(of checkpoint: Checkpoint, kind: String, path: String) throws -> StegoArchitecture {
        guard checkpoint.kind == kind else {
            throw CheckpointError.invalidAttribute(path: path, name: "kind",
                                                   reason: "expected \(kind) or \(StegoTrainer.checkpointKind), found \(checkpoint.kind)")
        }
        let architecture = try checkpoint.decodeConfig(StegoArchitecture.self)
        try architecture.validate()
        return architecture
    }
}
