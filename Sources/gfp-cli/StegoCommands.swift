import ArgumentParser
import Foundation
import NN
import Stego
import Tensor

/// `gfp stego ...`: training-data fingerprinting (Yu et al., ICCV'21).
struct StegoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stego",
        abstract: "Hide fingerprints in training images so that GANs trained on them carry them.",
        subcommands: [StegoTrain.self])
}

/// `gfp stego train --data DIR|fashion-mnist --resolution 32 --bits 100 --out RUN_DIR [--steps N] [--resume]`.
struct StegoTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the fingerprint encoder and decoder together.",
        discussion: """
            Writes RUN_DIR/config.json, log.csv (one row per --log-every steps), samples/ (originals, \
            fingerprinted images and the 10x residual), checkpoints/latest.h5 every --checkpoint-every \
            steps, and encoder.h5 / decoder.h5 at the end. A killed run continues with --resume and the \
            same options. Loss: BCE(bits) + lambda * MSE(image), lambda gated on bit accuracy > 0.9 as in \
            the official code (--fixed-schedule: ramp by step instead).
            """)

    @Option(help: "Training images: a folder, or fashion-mnist (the Debian package's training split).")
    var data: String

    @Option(help: "Image side R, a power of two >= 32 (Fashion-MNIST is padded from 28).")
    var resolution = 32

    @Option(help: "Fingerprint length L in bits.")
    var bits = 100

    @Option(help: "Image channels (default: 1 for fashion-mnist, 3 for folders).")
    var channels: Int?

    @Option(help: "The run folder.")
    var out: String

    @Option(help: "Total training steps.")
    var steps = 20_000

    @Option(help: "Images per step.")
    var batchSize = 64

    @Option(help: "Adam learning rate.")
    var learningRate: Float = 1e-4

    @Option(help: "Seed of the initial weights, the data order and the fingerprints.")
    var seed: UInt64 = 0

    @Option(help: "Steps between checkpoints.")
    var checkpointEvery = 500

    @Option(help: "Steps between sample grids.")
    var sampleEvery = 1000

    @Option(help: "Steps between log rows.")
    var logEvery = 10

    @Flag(help: "Use the older fixed lambda ramp (steps 1000-4000) instead of the accuracy gate.")
    var fixedSchedule = false

    @Flag(help: "Continue the run in --out from its last checkpoint.")
    var resume = false

    func validate() throws {
        guard bits >= 1 else { throw ValidationError("--bits must be positive") }
        guard steps >= 1, batchSize >= 1, checkpointEvery >= 1, logEvery >= 1, sampleEvery >= 1 else {
            throw ValidationError("--steps, --batch-size and the intervals must be positive")
        }
        if let channels, ![1, 3].contains(channels) { throw ValidationError("--channels must be 1 or 3") }
    }

    func run() throws {
        let source = ImageSource(argument: data)
        let imageChannels: Int
        if let channels { imageChannels = channels } else if case .fashionMNIST = source { imageChannels = 1 } else { imageChannels = 3 }
        let architecture = StegoArchitecture(resolution: resolution, imageChannels: imageChannels, fingerprintLength: bits)
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = batchSize
        configuration.learningRate = learningRate
        configuration.seed = seed
        if fixedSchedule { configuration.l2Schedule = .fixed() }
        let schedule = TrainingSchedule(totalSteps: steps, checkpointInterval: checkpointEvery, sampleInterval: sampleEvery,
                                        logInterval: logEvery)
        let directory = try RunDirectory(URL(fileURLWithPath: out), resume: resume)
        let (size, seed, batch) = (resolution, self.seed, batchSize)
        let trainer = try StegoTraining.run(
            architecture: architecture, configuration: configuration, schedule: schedule, directory: directory,
            resume: resume,
            makeSource: { try ImageTrainingBatches(source: source, resolution: size, channels: imageChannels, batchSize: batch, seed: seed) })
        print("trained \(trainer.step) steps; encoder and decoder in \(directory.url.path)")
    }
}
