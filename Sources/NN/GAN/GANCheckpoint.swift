import Foundation
import Tensor

/// The networks of a GAN, stored with checkpoints so that a run can be rebuilt and resumed.
public struct GANArchitecture: Codable, Hashable, Sendable {
    public var generator: StyleGenerator.Configuration
    public var discriminatorChannels: ChannelSchedule
    /// Minibatch standard-deviation group size (`nil` disables the layer).
    public var minibatchGroupSize: Int?

    public init(generator: StyleGenerator.Configuration, discriminatorChannels: ChannelSchedule? = nil,
                minibatchGroupSize: Int? = 4) {
        self.generator = generator
        self.discriminatorChannels = discriminatorChannels ?? generator.channels
        self.minibatchGroupSize = minibatchGroupSize
    }
}

extension GANTrainer {
    /// What a GAN checkpoint's `config` holds.
    struct StoredConfiguration: Codable {
        var architecture: GANArchitecture
        var training: GANTrainingConfiguration
    }

    /// The checkpoint kind of GAN training runs.
    public static let checkpointKind = "gan-training"

    /// A trainer for fresh networks built from `architecture`, initialised from the configuration's seed.
    public convenience init(architecture: GANArchitecture, configuration: GANTrainingConfiguration) {
        var random = SeededGenerator(seed: configuration.seed ^ 0x6761_6E5F_696E_6974)   // "gan_init"
        let generator = StyleGenerator(architecture.generator, generator: &random)
        let discriminator = ResNetDiscriminator(
            resolution: architecture.generator.resolution, imageChannels: architecture.generator.imageChannels,
            channels: architecture.discriminatorChannels, minibatchGroupSize: architecture.minibatchGroupSize,
            generator: &random)
        self.init(generator: generator, discriminator: discriminator, configuration: configuration)
        self.architecture = architecture
    }

    /// Everything needed to continue training exactly: networks, moving average, both optimisers,
    /// the step, the path-length mean and the random stream.
    public func checkpoint() throws(CheckpointError) -> Checkpoint {
        guard let architecture else {
            throw .invalidConfig(reason: "a trainer made from networks without an architecture cannot be checkpointed")
        }
        var checkpoint = Checkpoint(kind: Self.checkpointKind)
        try checkpoint.encodeConfig(StoredConfiguration(architecture: architecture, training: configuration))
        checkpoint.setTensors(generator.stateDictionary(), under: "generator")
        checkpoint.setTensors(discriminator.stateDictionary(), under: "discriminator")
        checkpoint.setTensors(averageGenerator.stateDictionary(), under: "ema")
        checkpoint.setTensors(generatorOptimizer.stateDictionary(), under: "optimizer.generator")
        checkpoint.setTensors(discriminatorOptimizer.stateDictionary(), under: "optimizer.discriminator")
        checkpoint.integers["training.step"] = step
        checkpoint.setRandomState(random, under: "training.random")
        checkpoint.reals["training.pathLengthMean"] = Double(pathLengthMean)
        return checkpoint
    }

    /// A trainer continuing the run saved in `checkpoint`.
    public convenience init(resumingFrom checkpoint: Checkpoint) throws {
        try self.init(continuing: checkpoint, with: Self.storedConfiguration(of: checkpoint).training)
    }

    /// A trainer that continues the networks, moving average, optimiser moments, step, path-length
    /// mean and random stream of `checkpoint` under another training configuration: fine-tuning
    /// with a lower learning rate, another R1 weight or a longer moving average, say. The
    /// architecture is the checkpoint's; the batch size may not change (the step count and the
    /// data stream's position stay tied to it).
    public convenience init(continuing checkpoint: Checkpoint, with configuration: GANTrainingConfiguration) throws {
        let stored = try Self.storedConfiguration(of: checkpoint)
        guard stored.training.batchSize == configuration.batchSize else {
            throw CheckpointError.invalidConfig(
                reason: "\(checkpoint.sourcePath ?? "the checkpoint") was trained with batches of \(stored.training.batchSize), "
                    + "not \(configuration.batchSize): the batch size cannot change when continuing a run")
        }
        self.init(architecture: stored.architecture, configuration: configuration)
        try generator.loadStateDictionary(checkpoint.tensors(under: "generator"))
        try discriminator.loadStateDictionary(checkpoint.tensors(under: "discriminator"))
        try averageGenerator.loadStateDictionary(checkpoint.tensors(under: "ema"))
        try generatorOptimizer.loadStateDictionary(checkpoint.tensors(under: "optimizer.generator"))
        try discriminatorOptimizer.loadStateDictionary(checkpoint.tensors(under: "optimizer.discriminator"))
        guard let step = checkpoint.integers["training.step"], let pathLengthMean = checkpoint.reals["training.pathLengthMean"] else {
            throw CheckpointError.mismatchedKeys(missing: ["training.pathLengthMean", "training.step"], unexpected: [], wrongShapes: [])
        }
        self.step = step
        random = try checkpoint.randomState(under: "training.random")
        self.pathLengthMean = Float(pathLengthMean)
    }

    private static func storedConfiguration(of checkpoint: Checkpoint) throws -> StoredConfiguration {
        guard checkpoint.kind == Self.checkpointKind else {
            throw CheckpointError.invalidAttribute(path: checkpoint.sourcePath ?? "(in memory)", name: "kind",
                                                   reason: "expected \(Self.checkpointKind), found \(checkpoint.kind)")
        }
        return try checkpoint.decodeConfig(StoredConfiguration.self)
    }
}

/// Running a GAN training in a run folder, with logs, samples, checkpoints and resumption.
public enum GANTraining {
    /// The columns of `log.csv`.
    public static let logColumns = ["generatorLoss", "discriminatorLoss", "realScore", "fakeScore", "r1Penalty",
                                    "pathLengthPenalty"]

    /// Trains until `schedule.totalSteps`, resuming from the run's checkpoint when `resume`.
    ///
    /// - Parameters:
    ///   - initializeFrom: a training checkpoint of another run to start this new run from
    ///     (fine-tuning under `configuration`); its step count carries on.
    ///   - makeSource: creates the real-batch source from the beginning; on resume the batches
    ///     already used are skipped, so the run sees the same data as an uninterrupted one.
    ///   - writeSamples: writes a grid of `[N, C, R, R]` images in [−1, 1] to a URL (the caller
    ///     supplies PNG writing; NN does not encode images).
    /// - Returns: the trainer after the last step.
    @discardableResult
    public static func run(
        architecture: GANArchitecture, configuration: GANTrainingConfiguration, schedule: TrainingSchedule,
        directory: RunDirectory, resume: Bool, initializeFrom: URL? = nil, makeSource: () throws -> any TrainingBatchSource,
        writeSamples: ((Tensor, URL) throws -> Void)? = nil, progressOutput: ((String) -> Void)? = nil
    ) throws -> GANTrainer {
        let trainer: GANTrainer
        if resume {
            trainer = try GANTrainer(resumingFrom: Checkpoint(contentsOf: directory.latestCheckpointURL))
            guard trainer.architecture == architecture, trainer.configuration == configuration else {
                throw TrainingRunError.incompatibleCheckpoint(
                    path: directory.latestCheckpointURL.path, reason: "its architecture or training settings differ from these")
            }
        } else {
            if let initializeFrom {
                trainer = try GANTrainer(continuing: Checkpoint(contentsOf: initializeFrom), with: configuration)
                guard trainer.architecture == architecture else {
                    throw TrainingRunError.incompatibleCheckpoint(
                        path: initializeFrom.path, reason: "its architecture differs from this run's")
                }
            } else {
                trainer = GANTrainer(architecture: architecture, configuration: configuration)
            }
            struct Stored: Encodable {
                var architecture: GANArchitecture; var training: GANTrainingConfiguration; var initializedFrom: String?
            }
            try directory.writeConfiguration(Stored(architecture: architecture, training: configuration,
                                                    initializedFrom: initializeFrom?.path))
        }
        var source = try makeSource()
        try source.skipBatches(trainer.step)
        let log = try CSVLog(url: directory.logURL, columns: logColumns, resumingAt: resume ? trainer.step : nil)
        var progress = ProgressReporter(schedule: schedule, output: progressOutput)
        // Fixed latents and noise for the sample grids, independent of the training stream.
        var sampleRandom = SeededGenerator(seed: configuration.seed ^ 0x5341_4D50)
        let latents = trainer.generator.sampleLatents(64, generator: &sampleRandom)
        let noise = trainer.generator.synthesis.randomNoise(batchSize: 64, generator: &sampleRandom)
        try runTrainingLoop(
            from: trainer.step, schedule: schedule, log: log, progress: &progress,
            step: { _ in
                let m = try trainer.trainStep(reals: try source.nextBatch())
                var values: [String: Double] = ["generatorLoss": Double(m.generatorLoss),
                                                "discriminatorLoss": Double(m.discriminatorLoss),
                                                "realScore": Double(m.realScore), "fakeScore": Double(m.fakeScore)]
                values["r1Penalty"] = m.r1Penalty.map(Double.init)
                values["pathLengthPenalty"] = m.pathLengthPenalty.map(Double.init)
                return values
            },
            checkpoint: { _ in try trainer.checkpoint().write(to: directory.latestCheckpointURL) },
            samples: writeSamples.map { write in
                { step in try write(trainer.samples(latents: latents, noise: noise), directory.sampleURL(step: step)) }
            })
        return trainer
    }
}
