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

    /// Which of a training checkpoint's two generators to load.
    public enum Weights: String, Sendable, CaseIterable {
        /// The moving average of the trained weights (StyleGAN2's G_ema): what sample grids,
        /// exports and shipped generators use.
        case movingAverage = "average"
        /// The weights the optimiser trains (StyleGAN2's G), noisier from step to step.
        case trained
    }

    /// The generator in a generator file, a GAN training checkpoint or a GAN run folder.
    /// - Parameter weights: which generator of a training checkpoint; a generator file holds
    ///   the moving average only.
    /// - Throws: `TrainingRunError` for a folder without a checkpoint, the `CheckpointError`s of
    ///   reading (missing, truncated or corrupt files, a wrong kind naming the file, missing or
    ///   misshapen weights, `.trained` asked of a generator file).
    public static func load(from url: URL, weights: Weights = .movingAverage) throws -> StyleGenerator {
        let file = try RunDirectory.checkpointFile(at: url)
        let checkpoint = try Checkpoint(contentsOf: file)
        switch checkpoint.kind {
        case GANTrainer.checkpointKind:
            let trainer = try GANTrainer(resumingFrom: checkpoint)
            guard weights == .trained else { return trainer.averageGenerator }
            trainer.generator.eval()
            return trainer.generator
        case kind where weights == .trained:
            throw CheckpointError.invalidAttribute(
                path: file.path, name: "kind",
                reason: "is \(kind): a generator file holds the moving-average weights only (the trained ones are in the run's training checkpoint)")
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
