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

    @OptionGroup var options: TrainingRunOptions

    @Option(help: "Fingerprint length L in bits.")
    var bits = 100

    @Option(help: "Total training steps.")
    var steps = 20_000

    @Option(help: "Images per step.")
    var batchSize = 64

    @Option(help: "Adam learning rate.")
    var learningRate: Float = 1e-4

    @Flag(help: "Use the older fixed lambda ramp (steps 1000-4000) instead of the accuracy gate.")
    var fixedSchedule = false

    func validate() throws {
        guard bits >= 1, steps >= 1, batchSize >= 1 else {
            throw ValidationError("--bits, --steps and --batch-size must be positive")
        }
    }

    func run() throws {
        let (source, channels) = (options.source, options.imageChannels)
        let architecture = StegoArchitecture(resolution: options.resolution, imageChannels: channels, fingerprintLength: bits)
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = batchSize
        configuration.learningRate = learningRate
        configuration.seed = options.seed
        if fixedSchedule { configuration.l2Schedule = .fixed() }
        let directory = try RunDirectory(URL(fileURLWithPath: options.out), resume: options.resume)
        let (size, seed, batch) = (options.resolution, options.seed, batchSize)
        let trainer = try StegoTraining.run(
            architecture: architecture, configuration: configuration, schedule: options.schedule(steps: steps),
            directory: directory, resume: options.resume,
            makeSource: { try ImageTrainingBatches(source: source, resolution: size, channels: channels, batchSize: batch, seed: seed) })
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
