import ArgumentParser
import Foundation
import Imaging
import NN
import Stego
import Tensor

/// `gfp gan ...`: the StyleGAN2-style GAN trainer of NN on a folder or Fashion-MNIST.
struct GANCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Train a StyleGAN2-style GAN and generate images from it.",
        subcommands: [GANTrain.self, GANGenerate.self, GANExport.self])
}

/// `gfp gan train --data DIR|fashion-mnist --resolution 32 --out RUN_DIR [--steps N] [--resume]`.
struct GANTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GAN (non-saturating loss, lazy R1, optional path length, EMA generator).",
        discussion: """
            Writes RUN_DIR/config.json, log.csv, samples/ (8x8 grids from the moving-average generator), \
            checkpoints/latest.h5 every --checkpoint-every steps. A killed run continues with --resume \
            and the same options; --init-from starts a new run from another run's state (fine-tuning). Reals are mapped to [-1, 1].
            """)

    @OptionGroup var options: TrainingRunOptions

    @Option(help: "Total training steps.")
    var steps = 50_000

    @Option(help: "Images per step.")
    var batchSize = 32

    @Option(help: "Channel schedule base (channels at resolution 2^r: min(base / 2^(r-1), max)).")
    var channelBase = 1024

    @Option(help: "Channel schedule maximum.")
    var channelMax = 128

    @Option(help: "Latent and style size.")
    var latentDimension = 128

    @Option(help: "Mapping network depth.")
    var mappingDepth = 4

    @Option(help: "Adam learning rate.")
    var learningRate: Float = 0.002

    @Option(help: "R1 weight gamma (0 disables R1).")
    var gamma: Float = 0.1

    @Option(help: "Path-length weight (0 disables the regulariser).")
    var pathLengthWeight: Float = 0

    @Option(help: "Half-life of the generator's moving average, in images.")
    var emaHalfLife: Double = 10_000

    @Option(help: "Start a new run from the networks, moving average, optimiser state and step of another GAN run (folder or checkpoint) under these settings: fine-tuning, e.g. with a lower --learning-rate. The architecture options must match it.")
    var initFrom: String?

    func validate() throws {
        let resolution = options.resolution
        guard resolution >= 8, resolution <= 256, resolution & (resolution - 1) == 0 else {
            throw ValidationError("--resolution must be a power of two from 8 to 256")
        }
        guard steps >= 1, batchSize >= 1 else { throw ValidationError("--steps and --batch-size must be positive") }
        guard batchSize % min(4, batchSize) == 0 else {
            throw ValidationError("--batch-size must be a multiple of the minibatch group size 4")
        }
        guard initFrom == nil || !options.resume else { throw ValidationError("--init-from starts a new run: it cannot be combined with --resume") }
    }

    func run() throws {
        let (source, channels) = (options.source, options.imageChannels)
        let architecture = GANArchitecture(generator: .init(
            resolution: options.resolution, imageChannels: channels, latentDimension: latentDimension,
            styleDimension: latentDimension, mappingDepth: mappingDepth,
            channels: ChannelSchedule(base: channelBase, maximum: channelMax)))
        var configuration = GANTrainingConfiguration()
        configuration.batchSize = batchSize
        configuration.learningRate = learningRate
        configuration.r1Gamma = gamma
        configuration.pathLengthWeight = pathLengthWeight
        configuration.emaHalfLifeImages = emaHalfLife
        configuration.seed = options.seed
        // Checked before the run folder is created, so that a wrong path leaves nothing behind.
        let initialCheckpoint = try initFrom.map { try RunDirectory.checkpointFile(at: URL(fileURLWithPath: $0)) }
        TrainingInterruption.installSignalHandlers()   // Ctrl-C or kill: checkpoint, then stop
        let directory = try RunDirectory(URL(fileURLWithPath: options.out), resume: options.resume)
        let (size, batch, seed) = (options.resolution, batchSize, options.seed)
        let trainer = try GANTraining.run(
            architecture: architecture, configuration: configuration, schedule: options.schedule(steps: steps),
            directory: directory, resume: options.resume,
            initializeFrom: initialCheckpoint,
            makeSource: {
                try ImageTrainingBatches(source: source, resolution: size, channels: channels, batchSize: batch,
                                         range: -1...1, seed: seed)
            },
            writeSamples: { images, url in try SampleGrid.write(images, rows: 8, columns: 8, to: url, range: -1...1) })
        print("trained \(trainer.step) steps; checkpoint in \(directory.latestCheckpointURL.path)")
    }
}

/// `gfp gan generate --run RUN_DIR --seeds 0-63 --out DIR`: images of the moving-average generator.
struct GANGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write seed%04d.png for each seed from a GAN run's moving-average generator.")

    @Option(name: .customLong("run"), help: "A GAN run folder (its checkpoints/latest.h5), a training checkpoint or a generator file (gfp gan export).")
    var runPath: String

    @Option(help: "Seeds: ranges and lists, e.g. 0-999 or 1,5,9.")
    var seeds: String

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Per-pixel noise of the synthesis layers: random (fresh maps drawn from the seed, as in training), const (the generator's stored maps, StyleGAN2's sampling default) or none.")
    var noiseMode: NoiseMode = .random

    @Option(help: "StyleGAN's truncation trick: each style w becomes c + psi (w - c), c being the mean style of 10,000 latents (seed 0); 1 (the default) leaves the images as the generator draws them.")
    var truncationPsi: Float = 1

    @Option(help: "Which generator of a training checkpoint: average (the moving average, as sample grids and exports) or trained (the optimiser's own weights).")
    var weights: GeneratorFile.Weights = .movingAverage

    func validate() throws {
        guard (0...1).contains(truncationPsi) else { throw ValidationError("--truncation-psi must be in [0, 1]") }
    }

    func run() throws {
        let seedList = try parseSeeds(seeds)
        let generator = try GeneratorFile.load(from: URL(fileURLWithPath: runPath), weights: weights)
        let output = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let truncation = truncationPsi < 1 ? StyleTruncation(psi: truncationPsi, center: generator.meanStyle()) : nil
        for seed in seedList {
            let image = ((generator.image(seed: seed, noise: noiseMode, truncation: truncation) + 1) / 2).clamped(to: 0...1)
            try PNG.write(image, to: output.appendingPathComponent(String(format: "seed%04d.png", seed)))
        }
        print("wrote \(seedList.count) images to \(output.path)")
    }
}

/// `gfp gan export --run RUN_DIR --out generator.h5`: the moving-average generator alone.
struct GANExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a GAN run's moving-average generator alone (a few MB), as models are shipped.",
        discussion: "The file is what gfp gan generate --run and gfp stego robustness --generator read.")

    @Option(name: .customLong("run"), help: "A GAN run folder, a training checkpoint or a generator file.")
    var runPath: String

    @Option(help: "The generator file to write.")
    var out: String

    func run() throws {
        let generator = try GeneratorFile.load(from: URL(fileURLWithPath: runPath))
        try GeneratorFile.write(generator, to: URL(fileURLWithPath: out))
        let parameters = generator.namedParameters().reduce(0) { $0 + $1.parameter.value.count }
        print("wrote \(out): \(generator.configuration.resolution)x\(generator.configuration.resolution), \(parameters) parameters")
    }
}

/// Parses `0-63`, `1,5,9` or mixtures like `0-3,10`.
func parseSeeds(_ text: String) throws -> [UInt64] {
    var seeds: [UInt64] = []
    for part in text.split(separator: ",") {
        let bounds = part.split(separator: "-", maxSplits: 1).map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        switch bounds.count {
        case 1 where bounds[0] != nil: seeds.append(bounds[0]!)
        case 2 where bounds[0] != nil && bounds[1] != nil && bounds[0]! <= bounds[1]!: seeds += Array(bounds[0]!...bounds[1]!)
        default: throw ValidationError("--seeds: cannot read '\(part)' (use e.g. 0-63 or 1,5,9)")
        }
    }
    guard !seeds.isEmpty else { throw ValidationError("--seeds is empty") }
    return seeds
}

extension NoiseMode: ExpressibleByArgument {}

extension GeneratorFile.Weights: ExpressibleByArgument {}
