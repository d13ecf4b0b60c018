import ArgumentParser
import Forensics
import Foundation
import NN
import Stego
import Tensor

/// `gfp stego robustness --decoder DEC.h5 --expected BITS (INPUT | --generator RUN) --out DIR`:
/// robustness curves of fingerprint detection as JSON, CSV and SVG plots.
struct StegoRobustness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robustness",
        abstract: "Measure bit accuracy against image and generator-weight perturbations and plot the curves.",
        discussion: """
            With INPUT (a folder of images of the decoder's size, or fashion-mnist:test) the image sweeps \
            run on its first --images images. With --generator (a GAN run folder or checkpoint) they run \
            on the images of seeds 0..<N of its moving-average generator, rounded to 8 bits as saved \
            PNGs, and the model sweeps perturb the generator's weights. Sweeps: noise (std 0-0.3), blur \
            (kernel 1-9), jpeg (quality 100-10), crop (centre crop to half the side, resized back), \
            weightnoise (std 0-1), quantize (weights rounded to 10^-d, d = 4..-1). Writes \
            DIR/robustness.json, DIR/robustness.csv and DIR/<sweep>.svg (y from 0.4 to 1, lines at 0.5 \
            chance and 0.75 detection threshold) and prints a table.
            """)

    @Option(help: "Decoder file written by gfp stego train (RUN_DIR/decoder.h5).")
    var decoder: String

    @Option(help: "The fingerprint the images should carry, as L characters 0/1.")
    var expected: String

    @Option(help: "A GAN run folder, training checkpoint or generator file (gfp gan export), instead of INPUT.")
    var generator: String?

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Number of images (the first N of INPUT, or seeds 0..<N).")
    var images = 1000

    @Option(help: "Seed of the random perturbations (noise, weight noise).")
    var seed: UInt64 = 0

    @Option(help: "Comma-separated sweeps: noise,blur,jpeg,crop (default with INPUT) and weightnoise,quantize (also with --generator).")
    var sweeps: String?

    @Option(help: "Images per batch.")
    var batchSize = 64

    @Flag(help: "Resize and centre-crop folder images to the decoder's size.")
    var resize = false

    @Argument(help: "A folder of images, or fashion-mnist:test / fashion-mnist:train.")
    var input: String?

    /// The sweep names asked for, or the defaults.
    var sweepNames: [String] {
        guard let sweeps else {
            return RobustnessSweep.imageSweepNames + (generator == nil ? [] : RobustnessSweep.modelSweepNames)
        }
        return sweeps.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    func validate() throws {
        guard (input != nil) != (generator != nil) else { throw ValidationError("give exactly one of INPUT and --generator") }
        guard images >= 1, batchSize >= 1 else { throw ValidationError("--images and --batch-size must be positive") }
        let known = RobustnessSweep.imageSweepNames + RobustnessSweep.modelSweepNames
        guard !sweepNames.isEmpty else { throw ValidationError("--sweeps is empty") }
        if let unknown = sweepNames.first(where: { !known.contains($0) }) {
            throw ValidationError("--sweeps: unknown sweep '\(unknown)' (known: \(known.joined(separator: ", ")))")
        }
        guard Set(sweepNames).count == sweepNames.count else { throw ValidationError("--sweeps names a sweep twice") }
        if generator == nil, let model = sweepNames.first(where: { RobustnessSweep.modelSweepNames.contains($0) }) {
            throw ValidationError("--sweeps: \(model) perturbs a generator's weights and needs --generator")
        }
    }

    func run() throws {
        let decoderURL = URL(fileURLWithPath: decoder)
        guard FileManager.default.fileExists(atPath: decoderURL.path) else { throw CommandLineError("no decoder file at \(decoder)") }
        let model = try StegoModelFile.readDecoder(from: decoderURL)
        let expectedBits = try Fingerprint(parsing: expected)
        guard expectedBits.bitCount == model.fingerprintLength else {
            throw StegoError.invalidFingerprint("--expected has \(expectedBits.bitCount) bits, the decoder reads \(model.fingerprintLength)")
        }
        let sweepList = sweepNames.compactMap { RobustnessSweep.named($0, resolution: model.resolution) }
        var random = SeededGenerator(seed: seed)
        let progress: (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        let curves: [RobustnessCurve]
        let source: String
        if let generator {
            let url = URL(fileURLWithPath: generator)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw CommandLineError("no GAN run folder, checkpoint or generator file at \(url.path)")
            }
            source = url.path
            curves = try FingerprintRobustness.measure(sweepList, decoder: model, generator: GeneratorFile.load(from: url),
                                                       imageCount: images, expected: expectedBits, batchSize: batchSize,
                                                       using: &random, progress: progress)
        } else {
            let imageSource = ImageSource(argument: input!)
            if case .folder(let url) = imageSource, !FileManager.default.fileExists(atPath: url.path) {
                throw CommandLineError("no image folder at \(url.path)")
            }
            source = imageSource.description
            curves = try FingerprintRobustness.measure(sweepList, decoder: model, source: imageSource, limit: images,
                                                       resize: resize, expected: expectedBits, batchSize: batchSize,
                                                       using: &random, progress: progress)
        }
        let report = RobustnessReport(source: source, seed: seed, expected: expectedBits, curves: curves)
        let output = URL(fileURLWithPath: out)
        try report.write(to: output)
        printTable(report)
        print("wrote robustness.json, robustness.csv and \(curves.map { "\($0.sweep).svg" }.joined(separator: ", ")) to \(output.path)")
    }

    /// One row per point: sweep, x, perturbation, mean bit accuracy.
    private func printTable(_ report: RobustnessReport) {
        let width = max(12, report.curves.flatMap { $0.points.map(\.perturbation.count) }.max() ?? 0)
        func padded(_ text: String, _ count: Int) -> String { text.padding(toLength: max(count, text.count), withPad: " ", startingAt: 0) }
        print(padded("sweep", 12) + padded("x", 10) + padded("perturbation", width + 2) + "bit accuracy")
        for curve in report.curves {
            for point in curve.points {
                print(padded(curve.sweep, 12) + padded(String(format: "%g", point.x), 10) + padded(point.perturbation, width + 2)
                      + String(format: "%.4f", point.meanBitAccuracy))
            }
        }
    }
}
