import Foundation
import Imaging
import NN
import Tensor

/// Running steganography training in a run folder: `log.csv`, progress lines, sample grids,
/// checkpoints and resumption, and the final `encoder.h5` / `decoder.h5`.
public enum StegoTraining {
    /// The columns of `log.csv`.
    public static let logColumns = ["loss", "bce", "mse", "bitAccuracy", "l2Weight"]

    /// Trains until `schedule.totalSteps`, resuming from the run's checkpoint when `resume`.
    ///
    /// - Parameters:
    ///   - makeSource: creates the image stream from the beginning (batches in [0, 1]); on resume
    ///     the batches already used are skipped.
    ///   - initializeFrom: another run to start this new one from (`startingTrainer(from:configuration:)`).
    ///   - warn: receives the chance-level warning (once) and other notices.
    /// - Returns: the trainer after the last step; `encoder.h5` and `decoder.h5` are in the folder.
    @discardableResult
    public static func run(
        architecture: StegoArchitecture, configuration: StegoTrainingConfiguration, schedule: TrainingSchedule,
        directory: RunDirectory, resume: Bool, initializeFrom: URL? = nil, makeSource: () throws -> any TrainingBatchSource,
        progressOutput: ((String) -> Void)? = nil, warn: @escaping (String) -> Void = { FileHandle.standardError.write(Data(("warning: " + $0 + "\n").utf8)) }
    ) throws -> StegoTrainer {
        let trainer: StegoTrainer
        if resume {
            trainer = try StegoTrainer(resumingFrom: Checkpoint(contentsOf: directory.latestCheckpointURL))
            guard trainer.networks.architecture == architecture, trainer.configuration == configuration else {
                throw TrainingRunError.incompatibleCheckpoint(
                    path: directory.latestCheckpointURL.path, reason: "its architecture or training settings differ from these")
            }
        } else {
            try architecture.validate()
            if let initializeFrom {
                trainer = try startingTrainer(from: initializeFrom, configuration: configuration)
                guard trainer.networks.architecture == architecture else {
                    throw TrainingRunError.incompatibleCheckpoint(
                        path: initializeFrom.path, reason: "its architecture \(trainer.networks.architecture) is not \(architecture)")
                }
            } else {
                trainer = try StegoTrainer(architecture: architecture, configuration: configuration)
            }
            struct Stored: Encodable {
                var architecture: StegoArchitecture; var training: StegoTrainingConfiguration; var schedule: TrainingSchedule
                var initializedFrom: String?
            }
            try directory.writeConfiguration(Stored(architecture: architecture, training: configuration, schedule: schedule,
                                                    initializedFrom: initializeFrom?.path))
        }
        var source = try makeSource()
        try source.skipBatches(trainer.step)
        let log = try CSVLog(url: directory.logURL, columns: logColumns, resumingAt: resume ? trainer.step : nil)
        var progress = ProgressReporter(schedule: schedule, output: progressOutput)
        var warned = false
        var lastImages: Tensor?
        try runTrainingLoop(
            from: trainer.step, schedule: schedule, log: log, progress: &progress,
            step: { _ in
                let images = try source.nextBatch()
                lastImages = images
                let m = try trainer.trainStep(images: images)
                if !warned, let warning = trainer.chanceWarning {
                    warned = true
                    warn(warning)
                }
                return ["loss": Double(m.loss), "bce": Double(m.bce), "mse": Double(m.mse),
                        "bitAccuracy": Double(m.bitAccuracy), "l2Weight": Double(m.l2Weight)]
            },
            checkpoint: { _ in try trainer.checkpoint().write(to: directory.latestCheckpointURL) },
            samples: { step in
                guard let images = lastImages else { return }
                try writeSampleGrid(encoder: trainer.networks.encoder, images: images, seed: configuration.seed,
                                    to: directory.sampleURL(step: step))
            })
        try StegoModelFile.writeEncoder(trainer.networks.encoder, to: directory.url.appendingPathComponent("encoder.h5"))
        try StegoModelFile.writeDecoder(trainer.networks.decoder, to: directory.url.appendingPathComponent("decoder.h5"))
        return trainer
    }

    /// The trainer a new run started from `url` begins with: a training checkpoint (a file, or a
    /// run folder's latest) continues its networks, optimiser, schedule and random stream under
    /// `configuration`; a folder holding a finished run's `encoder.h5` and `decoder.h5` but no
    /// checkpoint (as `Models/` ships them) gives those networks, a fresh optimiser and step 0, with
    /// the accuracy-gated λ already at its maximum (`L2ScheduleState.completed(_:)`).
    static func startingTrainer(from url: URL, configuration: StegoTrainingConfiguration) throws -> StegoTrainer {
        if let models = modelFiles(in: url) {
            let networks = try StegoNetworks(encoder: StegoModelFile.readEncoder(from: models.encoder),
                                             decoder: StegoModelFile.readDecoder(from: models.decoder))
            let trainer = try StegoTrainer(networks: networks, configuration: configuration)
            trainer.schedule = .completed(configuration.l2Schedule)
            return trainer
        }
        return try StegoTrainer(continuing: Checkpoint(contentsOf: RunDirectory.checkpointFile(at: url)), with: configuration)
    }

    /// The `encoder.h5` and `decoder.h5` of the folder `url` when it holds both and no training
    /// checkpoint; nil otherwise.
    public static func modelFiles(in url: URL) -> (encoder: URL, decoder: URL)? {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue,
              (try? RunDirectory.checkpointFile(at: url)) == nil else { return nil }
        let (encoder, decoder) = (url.appendingPathComponent("encoder.h5"), url.appendingPathComponent("decoder.h5"))
        guard manager.fileExists(atPath: encoder.path), manager.fileExists(atPath: decoder.path) else { return nil }
        return (encoder, decoder)
    }

    /// A grid of three rows of up to eight images: originals, fingerprinted, and the residual
    /// magnified ten times around mid-gray (as the paper's Figure 2).
    public static func writeSampleGrid(encoder: FingerprintEncoder, images: Tensor, seed: UInt64, to url: URL) throws {
        let n = min(8, images.shape[0])
        let originals = images.sliced(0..<n, alongAxis: 0)
        var random = SeededGenerator(seed: seed)
        let bits = Tensor.bernoulli([n, encoder.fingerprintLength], using: &random)
        let fingerprinted = withoutGradients { encoder(fingerprints: bits, images: originals) }
        try writeResidualGrid(originals: originals, fingerprinted: fingerprinted, to: url)
    }

    /// A grid of three rows: `originals`, `fingerprinted` (same shape `[N, C, R, R]`, N ≤ 8 is
    /// sensible) and the residual magnified ten times around mid-gray.
    public static func writeResidualGrid(originals: Tensor, fingerprinted: Tensor, to url: URL) throws {
        precondition(originals.shape == fingerprinted.shape, "residual grid of \(originals.shape) and \(fingerprinted.shape)")
        let residual = ((fingerprinted - originals) * 10 + 0.5).clamped(to: 0...1)
        try SampleGrid.write(Tensor.concatenate([originals, fingerprinted, residual], alongAxis: 0), rows: 3,
                             columns: originals.shape[0], to: url)
    }
}
