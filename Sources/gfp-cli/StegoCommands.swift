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
        subcommands: [StegoTrain.self, StegoEmbed.self])
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

/// `gfp stego embed --encoder ENC.h5 (--fingerprint BITS | --random-per-image --seed S) INPUT OUTPUT_DIR`.
struct StegoEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Fingerprint a folder or a Fashion-MNIST split and write 8-bit PNGs.",
        discussion: """
            Writes OUTPUT_DIR/images/NNNNNN.png as they are produced (constant memory) and \
            OUTPUT_DIR/fingerprints.txt with one 'name bits' line per image. With --decoder, the \
            written 8-bit images are decoded and the bit accuracy printed. Prints a JSON summary \
            (images, mean PSNR, bit accuracy).
            """)

    @Option(help: "Encoder file written by gfp stego train (RUN_DIR/encoder.h5).")
    var encoder: String

    @Option(help: "The fingerprint for every image, as a string of L characters 0/1.")
    var fingerprint: String?

    @Flag(help: "A different random fingerprint for every image (drawn from --seed).")
    var randomPerImage = false

    @Option(help: "Seed of --random-per-image.")
    var seed: UInt64 = 0

    @Option(help: "Decoder file to check the written images with.")
    var decoder: String?

    @Option(help: "Images per batch.")
    var batchSize = 64

    @Argument(help: "A folder of images, or fashion-mnist:test / fashion-mnist:train.")
    var input: String

    @Argument(help: "Output folder.")
    var outputDirectory: String

    func validate() throws {
        guard (fingerprint != nil) != randomPerImage else {
            throw ValidationError("give exactly one of --fingerprint BITS and --random-per-image")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let encoderModel = try StegoModelFile.readEncoder(from: URL(fileURLWithPath: encoder))
        let assignment: FingerprintAssignment = try fingerprint.map {
            .identical(try StegoEmbedding.parseBits($0, length: encoderModel.fingerprintLength))
        } ?? .randomPerImage(seed: seed)
        let decoderModel = try decoder.map { try StegoModelFile.readDecoder(from: URL(fileURLWithPath: $0)) }
        let summary = try StegoEmbedding.embed(
            encoder: encoderModel, source: ImageSource(argument: input), assignment: assignment,
            output: URL(fileURLWithPath: outputDirectory), batchSize: batchSize, decoder: decoderModel,
            progress: { count in if count % 1000 < batchSize { FileHandle.standardError.write(Data("embedded \(count) images\n".utf8)) } })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
    }
}
