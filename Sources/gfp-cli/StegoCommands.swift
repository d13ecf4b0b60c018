import ArgumentParser
import Forensics
import Foundation
import NN
import Stego
import Tensor

/// `gfp stego ...`: training-data fingerprinting (Yu et al., ICCV'21).
struct StegoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stego",
        abstract: "Hide fingerprints in training images so that GANs trained on them carry them.",
        subcommands: [StegoTrain.self, StegoEmbed.self, StegoDetect.self, StegoImportTorch.self, StegoRobustness.self])
}

/// `gfp stego train --data DIR|fashion-mnist --resolution 32 --bits 100 --out RUN_DIR [--steps N] [--resume]`.
struct StegoTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the fingerprint encoder and decoder together (or the decoder alone).",
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

    @Option(help: "Immunise against a perturbation applied before the decoder, e.g. noise:0.05+blur:3 or jpeg:50.")
    var immunize: String?

    @Option(help: "Maximum weight lambda of the image loss (official: 10).")
    var l2Max: Float = 10

    @Option(help: "Negative slope of the decoder's hidden activations: 0 for the spec's ReLU, 0.2 for the leaky ReLU the Fashion-MNIST reproduction uses (keeps the decoder's units alive; see Docs/reproductions/stego.md).")
    var decoderNegativeSlope: Float = 0

    @Option(help: "Start a new run from the networks, optimiser and schedule state of another run (folder or checkpoint), or from the encoder.h5 and decoder.h5 in a folder without a checkpoint (e.g. Models/stego-fashion-mnist-32) with a fresh optimiser and the accuracy-gated lambda at its maximum from the first step: fine-tuning.")
    var initFrom: String?

    @Option(help: "Scale each fingerprinted image's residual by a factor drawn uniformly from [MIN, 1] before the decoder, so that it learns to read weaker fingerprints (as a GAN reproduces them); MIN in [0, 1].")
    var attenuate: Float?

    @Flag(help: "Train the decoder only, the encoder kept as it is (data sets it fingerprinted stay valid): with --immunize and --init-from, a decoder that reads the same fingerprints under a perturbation.")
    var freezeEncoder = false

    func validate() throws {
        guard bits >= 1, steps >= 1, batchSize >= 1 else {
            throw ValidationError("--bits, --steps and --batch-size must be positive")
        }
        if let immunize {
            do { _ = try Perturbation(parsing: immunize) } catch { throw ValidationError("--immunize: \(error)") }
        }
        guard decoderNegativeSlope >= 0, decoderNegativeSlope < 1 else {
            throw ValidationError("--decoder-negative-slope must be in [0, 1)")
        }
        if let attenuate, !(0...1).contains(attenuate) { throw ValidationError("--attenuate must be in [0, 1]") }
        guard l2Max >= 0, l2Max.isFinite else { throw ValidationError("--l2-max must be a non-negative number") }
        guard initFrom == nil || !options.resume else { throw ValidationError("--init-from starts a new run: it cannot be combined with --resume") }
    }

    func run() throws {
        let (source, channels) = (options.source, options.imageChannels)
        let architecture = StegoArchitecture(resolution: options.resolution, imageChannels: channels, fingerprintLength: bits,
                                             decoderNegativeSlope: decoderNegativeSlope)
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = batchSize
        configuration.learningRate = learningRate
        configuration.seed = options.seed
        configuration.l2Schedule = fixedSchedule ? .fixed(maximum: l2Max) : .accuracyGated(maximum: l2Max)
        configuration.immunization = immunize
        configuration.freezesEncoder = freezeEncoder
        configuration.attenuation = attenuate
        // Checked before the run folder is created, so that a wrong path leaves nothing behind.
        let initialState = try initFrom.map { path in
            let url = URL(fileURLWithPath: path)
            return StegoTraining.modelFiles(in: url) == nil ? try RunDirectory.checkpointFile(at: url) : url
        }
        TrainingInterruption.installSignalHandlers()   // Ctrl-C or kill: checkpoint, then stop
        let directory = try RunDirectory(URL(fileURLWithPath: options.out), resume: options.resume)
        let (size, seed, batch) = (options.resolution, options.seed, batchSize)
        let trainer = try StegoTraining.run(
            architecture: architecture, configuration: configuration, schedule: options.schedule(steps: steps),
            directory: directory, resume: options.resume,
            initializeFrom: initialState,
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
            OUTPUT_DIR/fingerprints.txt with one 'name bits' line per image. Folder images are \
            resized on their shorter side and centre-cropped to the encoder's resolution (as the \
            official embed_fingerprints.py does); Fashion-MNIST is zero-padded to it. With --decoder, the \
            written 8-bit images are decoded and the bit accuracy printed. Prints a JSON summary \
            (images, mean PSNR, bit accuracy).
            """)

    @Option(help: "Encoder file written by gfp stego train (RUN_DIR/encoder.h5), or a training run folder or checkpoint.")
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

    @Option(help: "A fingerprint registry (gfp registry create) to record the embedded fingerprint in, once every image is written.")
    var registry: String?

    @Option(help: "Recipient of the registry entry.")
    var recipient = "training data"

    @Option(help: "Model identifier of the registry entry (default: the output folder's name).")
    var modelID: String?

    @Argument(help: "A folder of images, or fashion-mnist:test / fashion-mnist:train.")
    var input: String

    @Argument(help: "Output folder.")
    var outputDirectory: String

    func validate() throws {
        guard (fingerprint != nil) != randomPerImage else {
            throw ValidationError("give exactly one of --fingerprint BITS and --random-per-image")
        }
        guard registry == nil || fingerprint != nil else {
            throw ValidationError("--registry records one fingerprint for the set: give --fingerprint BITS")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let encoderModel = try StegoModelFile.readEncoder(from: URL(fileURLWithPath: encoder))
        let assignment: FingerprintAssignment = try fingerprint.map {
            .identical(try StegoEmbedding.parseBits($0, length: encoderModel.fingerprintLength))
        } ?? .randomPerImage(seed: seed)
        let decoderModel = try decoder.map { try StegoModelFile.readDecoder(from: URL(fileURLWithPath: $0)) }
        // Open the registry and check the fingerprint before the long part, so a full or
        // conflicting registry fails now and not after every image is written.
        let registryStore = try registry.map { try FingerprintRegistry(path: $0) }
        let registered = try fingerprint.map { try Fingerprint(parsing: $0) }
        if let registryStore, let registered { try registryStore.validateRegistration(of: registered) }
        var summary = try StegoEmbedding.embed(
            encoder: encoderModel, source: ImageSource(argument: input), assignment: assignment,
            output: URL(fileURLWithPath: outputDirectory), batchSize: batchSize, decoder: decoderModel,
            progress: { count in if count % 1000 < batchSize { FileHandle.standardError.write(Data("embedded \(count) images\n".utf8)) } })
        if let registryStore, let registered {
            let output = URL(fileURLWithPath: outputDirectory).standardizedFileURL
            summary.registryEntryID = try registryStore.register(
                registered, recipient: recipient, modelID: modelID ?? output.lastPathComponent,
                note: "gfp stego embed \(input) -> \(output.path) (\(summary.images) images)").id
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
    }
}

/// `gfp stego detect --decoder DEC.h5 [--expected BITS | --registry REG] INPUT [--json]`.
struct StegoDetect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Decode fingerprints from images and test them against a fingerprint or a registry.",
        discussion: """
            Prints one line per image (name, bits, bit accuracy and p-value when a fingerprint or \
            registry is given) and a summary with the mean bit accuracy and the majority-vote \
            fingerprint's verdict; --json prints everything as one JSON object. Images must have the \
            decoder's size unless --resize. Exit status: 0 when the majority vote (or, with a \
            registry, any image) matches or nothing was tested, 1 when not, 2 on an error.
            """)

    @Option(help: "Decoder file written by gfp stego train (RUN_DIR/decoder.h5), or a training run folder or checkpoint.")
    var decoder: String

    @Option(help: "The fingerprint to test for, as L characters 0/1.")
    var expected: String?

    @Option(help: "A fingerprint registry (gfp registry create) to match each image against.")
    var registry: String?

    @Option(help: "False-positive rate of the verdicts.")
    var falsePositiveRate = 1e-6

    @Option(help: "Bit accuracy from which an image counts as carrying the fingerprint (the paper's deepfake-detection rule).")
    var detectionThreshold = 0.75

    @Flag(help: "Resize and centre-crop folder images to the decoder's size.")
    var resize = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Argument(help: "A folder of images, or fashion-mnist:test / fashion-mnist:train.")
    var input: String

    func validate() throws {
        guard expected == nil || registry == nil else { throw ValidationError("give at most one of --expected and --registry") }
        guard falsePositiveRate > 0, falsePositiveRate < 1 else { throw ValidationError("--false-positive-rate must be in (0, 1)") }
        guard (0...1).contains(detectionThreshold) else { throw ValidationError("--detection-threshold must be in [0, 1]") }
    }

    func run() throws {
        let model = try StegoModelFile.readDecoder(from: URL(fileURLWithPath: decoder))
        let expectedBits = try expected.map { try Fingerprint(parsing: $0) }
        let registryStore = try registry.map { try FingerprintRegistry(path: $0) }
        let decoded = try StegoDetection.decode(decoder: model, source: ImageSource(argument: input), resize: resize)
        let (images, summary) = try StegoDetection.summarize(decoded, expected: expectedBits, registry: registryStore,
                                                             falsePositiveRate: falsePositiveRate,
                                                             detectionThreshold: detectionThreshold)
        if json {
            struct Report: Encodable { var summary: DetectionSummary; var images: [DetectedImage] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Report(summary: summary, images: images)), as: UTF8.self))
        } else {
            for image in images {
                var line = "\(image.name) \(image.bits)"
                if let verdict = image.verdict {
                    line += String(format: " accuracy %.4f p %.3g %@", verdict.bitAccuracy, verdict.pValue,
                                   verdict.matched ? "match" : "no-match")
                }
                if let id = image.registryID { line += " registry-id \(id)" }
                print(line)
            }
            var closing = "images \(summary.images)  majority vote \(summary.majorityVote)"
            if let accuracy = summary.meanBitAccuracy { closing += String(format: "  mean bit accuracy %.4f", accuracy) }
            if let detected = summary.detectedImages {
                closing += String(format: "  detected %d/%d at accuracy >= %.2f", detected, summary.images, summary.detectionThreshold)
            }
            if let verdict = summary.majorityVerdict {
                closing += String(format: "  majority p %.3g (%@)", verdict.pValue, verdict.matched ? "match" : "no match")
            }
            print(closing)
        }
        let matched = summary.majorityVerdict.map(\.matched) ?? (summary.matchedImages.map { $0 > 0 } ?? true)
        if !matched { throw ExitCode(ExitStatus.noMatch) }
    }
}
