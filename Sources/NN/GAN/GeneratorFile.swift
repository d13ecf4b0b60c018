import Foundation
import Tensor

/// A trained generator on its own: the moving-average weights of a GAN run and their
/// architecture, without the discriminator and optimiser state of a training checkpoint (a few
/// MB instead of a few tens), as models are shipped and used.
///
/// `load(from:)` reads three things, so commands that need a generator take whichever the user has:
/// a generator file (`kind` style-generator), a GAN training checkpoint (`kind` gan-training; its
/// moving-average generator) or a GAN run folder (its `checkpoints/latest.h5`).
public enum GeneratorFile {
    public static let kind = "style-generator"

    /// Writes `generator` (`kind` style-generator, its configuration as the config) atomically.
    public static func write(_ generator: StyleGenerator, to url: URL) throws {
        var checkpoint = Checkpoint(kind: kind)
        try checkpoint.encodeConfig(generator.configuration)
        checkpoint.setTensors(generator.stateDictionary(), under: "model")
        try checkpoint.write(to: url)
    }

    /// The generator in a generator file, a GAN training checkpoint or a GAN run folder.
    /// - Throws: `TrainingRunError` for a folder without a checkpoint, the `CheckpointError`s of
    ///   reading (missing, truncated or corrupt files, a wrong kind naming the file, missing or
    ///   misshapen weights).
    public static func load(from url: URL) throws -> StyleGenerator {
        let file = try RunDirectory.checkpointFile(at: url)
        let checkpoint = try Checkpoint(contentsOf: file)
        switch checkpoint.kind {
        case GANTrainer.checkpointKind:
            return try GANTrainer(resumingFrom: checkpoint).averageGenerator
        case kind:
            let configuration = try checkpoint.decodeConfig(StyleGenerator.Configuration.self)
            var unused = SeededGenerator(seed: 0)
            let generator = StyleGenerator(configuration, generator: &unused)
            do throws(ParameterLoadError) {
                try generator.loadStateDictionary(checkpoint.tensors(under: "model"))
            } catch {
                throw CheckpointError.mismatchedKeys(error)
            }
            generator.eval()
            return generator
        default:
            throw CheckpointError.invalidAttribute(
                path: file.path, name: "kind",
                reason: "expected \(kind) or \(GANTrainer.checkpointKind), found \(checkpoint.kind)")
        }
    }
}
