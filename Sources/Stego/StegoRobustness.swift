import Forensics
import Foundation
import Imaging
import NN
import Tensor

/// What one point of a robustness sweep does: nothing (the reference point), an image
/// perturbation of the decoder's input, or a perturbation of the generator's weights.
public enum RobustnessAttack: Hashable, Sendable, CustomStringConvertible {
    case none
    case image(Perturbation)
    case model(ModelPerturbation)

    /// `none`, or the perturbation's CLI spelling (`noise:0.05`, `weight-noise:0.1`).
    public var description: String {
        switch self {
        case .none: "none"
        case .image(let perturbation): perturbation.description
        case .model(let perturbation): perturbation.description
        }
    }
}

/// A robustness curve to measure: attacks of increasing strength, each at a value of the x axis.
/// By convention the first point is `.none`, the unperturbed reference.
public struct RobustnessSweep: Hashable, Sendable {
    /// One attack and its place on the x axis.
    public struct Point: Hashable, Sendable {
        public var x: Double
        public var attack: RobustnessAttack

        public init(x: Double, attack: RobustnessAttack) { (self.x, self.attack) = (x, attack) }
    }

    /// A short name (`noise`), used for file names and `--sweeps`.
    public var name: String
    /// What the plot's title names (`JPEG compression`).
    public var title: String
    public var xLabel: String
    public var points: [Point]
    /// Whether plots draw x decreasing to the right (JPEG quality, crop size, decimals), so that
    /// the attack always grows to the right.
    public var reversesXAxis: Bool

    /// A sweep; `title` defaults to `name`.
    public init(name: String, title: String? = nil, xLabel: String, points: [Point], reversesXAxis: Bool = false) {
        (self.name, self.title, self.xLabel, self.points, self.reversesXAxis) = (name, title ?? name, xLabel, points, reversesXAxis)
    }

    /// Whether a point perturbs the generator's weights (the sweep needs a generator).
    public var perturbsModel: Bool {
        points.contains { if case .model = $0.attack { true } else { false } }
    }

    // MARK: The papers' sweeps

    /// Gaussian noise σ from 0 to 0.3 in [0, 1] units; the ICCV'21 paper (§5.4, Fig. 3) keeps accuracy ≥ 0.75 to σ ≈ 0.05.
    public static let noise = RobustnessSweep(
        name: "noise", title: "Gaussian noise", xLabel: "Gaussian noise standard deviation",
        points: [Point(x: 0, attack: .none)] + [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3].map {
            Point(x: $0, attack: .image(.gaussianNoise(standardDeviation: Float($0))))
        })

    /// Gaussian blur, kernel sizes 1 (the reference) to 9, OpenCV's default sigma; the paper's working range is k ≤ 5.
    public static let blur = RobustnessSweep(
        name: "blur", title: "Gaussian blur", xLabel: "Gaussian blur kernel size",
        points: [Point(x: 1, attack: .none)] + [3, 5, 7, 9].map { Point(x: Double($0), attack: .image(.gaussianBlur(kernelSize: $0))) })

    /// JPEG quality 90 down to 10, the unperturbed reference drawn at 100; the paper's working range is quality ≥ 50.
    public static let jpeg = RobustnessSweep(
        name: "jpeg", title: "JPEG compression", xLabel: "JPEG quality",
        points: [Point(x: 100, attack: .none)] + stride(from: 90, through: 10, by: -10).map {
            Point(x: Double($0), attack: .image(.jpeg(quality: $0)))
        },
        reversesXAxis: true)

    /// Centre crops from the full side `resolution` down to half of it in steps of R/16 (at
    /// least 1 pixel), each resized back to R: 32, 30, …, 16 for 32×32 images, and the paper's
    /// 128 … 64 (working range ≥ 86) for 128×128.
    public static func crop(resolution: Int) -> RobustnessSweep {
        let step = max(1, resolution / 16)
        let sizes = stride(from: resolution - step, through: max(1, resolution / 2), by: -step)
        return RobustnessSweep(
            name: "crop", title: "centre cropping", xLabel: "centre crop side (pixels), resized back to \(resolution)",
            points: [Point(x: Double(resolution), attack: .none)] + sizes.map {
                Point(x: Double($0), attack: .image(.centerCrop(.pixels($0), resizedBack: true)))
            },
            reversesXAxis: true)
    }

    /// Gaussian noise on every generator weight, σ from 0 to 1 in absolute units (what
    /// `ModelPerturbation.weightNoise` adds). StyleGAN2's raw weights are N(0, 1) (equalised
    /// learning rate), like ProGAN's, so this matches the paper's axis; its working range was
    /// σ ≤ 0.18, and σ = 1 (as large as the weights themselves) destroys the generator.
    public static let weightNoise = RobustnessSweep(
        name: "weightnoise", title: "generator weight noise", xLabel: "generator weight noise standard deviation",
        points: [Point(x: 0, attack: .none)] + [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1].map {
            Point(x: $0, attack: .model(.weightNoise(standardDeviation: Float($0))))
        })

    /// Every generator weight rounded to 10^−d for d = 4 … −1; the unperturbed reference is
    /// drawn at d = 5. The paper's working range is d ≥ 1; at d = −1 every N(0, 1) weight of the
    /// synthesis network becomes 0.
    public static let quantize = RobustnessSweep(
        name: "quantize", title: "generator weight quantisation", xLabel: "weight precision d (weights rounded to 10^-d)",
        points: [Point(x: 5, attack: .none)] + stride(from: 4, through: -1, by: -1).map {
            Point(x: Double($0), attack: .model(.weightQuantization(decimals: $0)))
        },
        reversesXAxis: true)

    /// The names of the default image sweeps and model sweeps.
    public static let imageSweepNames = ["noise", "blur", "jpeg", "crop"], modelSweepNames = ["weightnoise", "quantize"]

    /// The default sweep called `name` for a decoder of `resolution`, or nil for an unknown name.
    public static func named(_ name: String, resolution: Int) -> RobustnessSweep? {
        [noise, blur, jpeg, crop(resolution: resolution), weightNoise, quantize].first { $0.name == name.lowercased() }
    }
}

/// The measured curve of one sweep: mean bit accuracy at every point.
public struct RobustnessCurve: Codable, Hashable, Sendable {
    public struct Point: Codable, Hashable, Sendable {
        public var x: Double
        /// The attack's spelling (`none`, `jpeg:50`, `weight-noise:0.1`).
        public var perturbation: String
        public var meanBitAccuracy: Double
    }

    public var sweep: String
    public var title: String
    public var xLabel: String
    public var reversesXAxis: Bool
    /// Images decoded at every point.
    public var images: Int
    public var points: [Point]

    /// The curve as a plot: y from 0.4 (lower to the next 0.1 if a point is below) to 1,
    /// reference lines at 0.5 (chance) and at 0.75, the ICCV'21 paper's detection threshold
    /// (p = 2.8·10⁻⁷ for 100 bits).
    public func plot() throws(SVGPlotError) -> SVGLinePlot {
        let lowest = points.map(\.meanBitAccuracy).min() ?? 0.4
        return try SVGLinePlot(
            title: "Fingerprint detection under \(title)", xLabel: xLabel, yLabel: "mean bit accuracy",
            series: [.init(name: "\(images) images", points: points.map { SVGLinePlot.Point(x: $0.x, y: $0.meanBitAccuracy) })],
            yRange: min(0.4, (lowest * 10).rounded(.down) / 10)...1.0,
            referenceLines: [.init(y: 0.5, label: "chance"), .init(y: 0.75, label: "detection threshold 0.75")],
            reversesXAxis: reversesXAxis)
    }
}

/// Every curve of one robustness run, as `gfp stego robustness` writes it.
public struct RobustnessReport: Codable, Hashable, Sendable {
    /// The images' source: a folder, `fashion-mnist:test`, or the generator's checkpoint.
    public var source: String
    public var seed: UInt64
    public var expected: Fingerprint
    public var curves: [RobustnessCurve]

    public init(source: String, seed: UInt64, expected: Fingerprint, curves: [RobustnessCurve]) {
        (self.source, self.seed, self.expected, self.curves) = (source, seed, expected, curves)
    }

    /// `sweep,x,perturbation,images,mean_bit_accuracy`, one row per point, fields quoted where needed.
    public func csv() -> String {
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = ["sweep,x,perturbation,images,mean_bit_accuracy"]
        for curve in curves {
            for point in curve.points {
                lines.append([field(curve.sweep), "\(point.x)", field(point.perturbation), "\(curve.images)",
                              "\(point.meanBitAccuracy)"].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `robustness.json`, `robustness.csv` and one `<sweep>.svg` per curve into
    /// `directory` (created if needed), each file atomically.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: directory.appendingPathComponent("robustness.json"), options: .atomic)
        try Data(csv().utf8).write(to: directory.appendingPathComponent("robustness.csv"), options: .atomic)
        for curve in curves {
            try curve.plot().write(to: directory.appendingPathComponent("\(curve.sweep).svg"))
        }
    }
}

/// Why a robustness run cannot start.
public enum RobustnessError: Error, Equatable, Sendable, CustomStringConvertible {
    case noImages
    case emptySweep(String)
    /// Model sweeps need a generator; given only images, they cannot run.
    case modelSweepWithoutGenerator(String)

    public var description: String {
        switch self {
        case .noImages: "no images to measure robustness on"
        case .emptySweep(let name): "sweep \(name) has no points"
        case .modelSweepWithoutGenerator(let name): "sweep \(name) perturbs a generator's weights and needs a generator"
        }
    }
}

/// Robustness curves of a fingerprint decoder (ICCV'21 §5.4): the mean bit accuracy of images
/// under image perturbations of growing strength, and of a generator's images under
/// perturbations of its weights.
///
/// Images are processed in batches, so memory does not grow with their number; every point of
/// every sweep sees the same images. Randomness comes only from the generator passed in: one
/// number is drawn from it, and each point draws from its own stream derived from that number
/// and the sweep's name and the point's index, so a curve does not change when other sweeps are
/// added. Results do depend on the batch size (noise is drawn batch by batch), which must be ≥ 1.
public enum FingerprintRobustness {
    /// Image sweeps on `images` `[N, C, R, R]` in [0, 1].
    /// - Throws: `RobustnessError`, `StegoError` (fingerprint length, image shape),
    ///   `PerturbationError`.
    public static func measure(_ sweeps: [RobustnessSweep], decoder: FingerprintDecoder, images: Tensor, expected: Fingerprint,
                               batchSize: Int = 64, using random: inout SeededGenerator) throws -> [RobustnessCurve] {
        try check(sweeps, decoder: decoder, expected: expected, batchSize: batchSize, withGenerator: false)
        let count = images.shape.first ?? 0
        var start = 0
        return try measureImages(sweeps, decoder: decoder, expected: expected, using: &random, progress: { _ in }) {
            guard start < count else { return nil }
            defer { start += batchSize }
            return images.sliced(start..<min(start + batchSize, count), alongAxis: 0)
        }.curves(sweeps)
    }

    /// Image sweeps on the first `limit` images of `source`. Folder images must have the
    /// decoder's size unless `resize`; Fashion-MNIST is padded as in training (as `StegoDetection`).
    /// `progress` receives a line after each batch.
    public static func measure(_ sweeps: [RobustnessSweep], decoder: FingerprintDecoder, source: ImageSource, limit: Int,
                               resize: Bool = false, expected: Fingerprint, batchSize: Int = 64,
                               using random: inout SeededGenerator,
                               progress: (String) -> Void = { _ in }) throws -> [RobustnessCurve] {
        try check(sweeps, decoder: decoder, expected: expected, batchSize: batchSize, withGenerator: false)
        let (dataset, preprocessing) = try source.dataset(resolution: decoder.resolution, channels: decoder.imageChannels)
        let count = min(limit, dataset.count)
        guard count > 0 else { throw RobustnessError.noImages }
        let padded = if case .fashionMNIST = source { true } else { false }
        let loader = try DataLoader(LeadingImages(base: dataset, count: count), batchSize: batchSize, order: .sequential,
                                    epochs: 1, preprocessing: resize || padded ? preprocessing : Preprocessing(channels: decoder.imageChannels))
        return try measureImages(sweeps, decoder: decoder, expected: expected, using: &random, progress: progress) {
            try loader.nextBatch()?.images
        }.curves(sweeps)
    }

    /// Image and model sweeps on the images of seeds `0..<imageCount` of `model` (see
    /// `generatedImages(of:seeds:)`); each model perturbation is applied to one copy of `model`,
    /// which stays unchanged. `progress` receives a line after each batch and each model point.
    public static func measure(_ sweeps: [RobustnessSweep], decoder: FingerprintDecoder, generator model: StyleGenerator,
                               imageCount: Int, expected: Fingerprint, batchSize: Int = 64, using random: inout SeededGenerator,
                               progress: (String) -> Void = { _ in }) throws -> [RobustnessCurve] {
        try check(sweeps, decoder: decoder, expected: expected, batchSize: batchSize, withGenerator: true)
        let (channels, resolution) = (model.configuration.imageChannels, model.configuration.resolution)
        guard channels == decoder.imageChannels, resolution == decoder.resolution else {
            throw StegoError.imageShape(expected: [imageCount, decoder.imageChannels, decoder.resolution, decoder.resolution],
                                        found: [imageCount, channels, resolution, resolution])
        }
        guard imageCount > 0 else { throw RobustnessError.noImages }
        let batches = stride(from: 0, to: imageCount, by: batchSize).map { UInt64($0)..<UInt64(min($0 + batchSize, imageCount)) }
        var remaining = batches[...]
        var tally = try measureImages(sweeps, decoder: decoder, expected: expected, using: &random, progress: progress) {
            remaining.popFirst().map { generatedImages(of: model, seeds: $0) }
        }
        let copy = model.copy()
        for (s, sweep) in sweeps.enumerated() {
            for (p, point) in sweep.points.enumerated() {
                guard case .model(let perturbation) = point.attack else { continue }
                try applyPerturbation(perturbation, to: copy, from: model, using: &tally.generators[s][p])
                for seeds in batches {
                    tally.sums[s][p] += try accuracySum(decoder, generatedImages(of: copy, seeds: seeds), expected)
                }
                progress("\(sweep.name) \(point.attack): mean bit accuracy \(rounded(tally.sums[s][p] / Double(tally.images)))")
            }
        }
        return tally.curves(sweeps)
    }

    /// The images of `seeds`, as `gfp gan generate` saves them: each seed's latent and noise maps
    /// drawn as `StyleGenerator.image(seed:)` draws them (rendered as one batch), mapped from
    /// [−1, 1] to [0, 1] and rounded to 8 bits as PNG files store them. `[N, C, R, R]`.
    public static func generatedImages(of model: StyleGenerator, seeds: Range<UInt64>) -> Tensor {
        precondition(!seeds.isEmpty, "generatedImages of no seeds")
        var latents: [Tensor] = [], noise: [[Tensor]] = []
        for seed in seeds {
            var random = SeededGenerator(seed: seed)
            latents.append(model.sampleLatents(1, generator: &random))
            noise.append(model.synthesis.randomNoise(batchSize: 1, generator: &random))
        }
        let maps = noise[0].indices.map { i in Tensor.concatenate(noise.map { $0[i] }, alongAxis: 0) }
        var images = withoutGradients { model(Tensor.concatenate(latents, alongAxis: 0), noise: maps) }
        images.withUnsafeMutableBufferPointer { values in
            for i in values.indices {   // (x + 1) / 2, clamped, rounded to 1/255 as Imaging's encoders do; NaN → 0
                let level = ((values[i] + 1) / 2 * 255 + 0.5).rounded(.down)
                values[i] = level >= 255 ? 1 : (level > 0 ? level / 255 : 0)
            }
        }
        return images
    }

    // MARK: Implementation

    /// Bit-accuracy sums per sweep and point, and each point's random stream.
    private struct Tally {
        var sums: [[Double]]
        var generators: [[SeededGenerator]]
        var images = 0

        init(_ sweeps: [RobustnessSweep], seed: UInt64) {
            sums = sweeps.map { [Double](repeating: 0, count: $0.points.count) }
            generators = sweeps.map { sweep in
                sweep.points.indices.map { SeededGenerator(seed: seed ^ fnv1a("\(sweep.name)#\($0)")) }
            }
        }

        func curves(_ sweeps: [RobustnessSweep]) -> [RobustnessCurve] {
            zip(sweeps, sums).map { sweep, sums in
                RobustnessCurve(sweep: sweep.name, title: sweep.title, xLabel: sweep.xLabel, reversesXAxis: sweep.reversesXAxis, images: images,
                                points: zip(sweep.points, sums).map {
                                    .init(x: $0.x, perturbation: $0.attack.description, meanBitAccuracy: $1 / Double(images))
                                })
            }
        }
    }

    /// Runs the image attacks (and the `.none` points of every sweep) over `nextBatch`'s batches.
    private static func measureImages(_ sweeps: [RobustnessSweep], decoder: FingerprintDecoder, expected: Fingerprint,
                                      using random: inout SeededGenerator, progress: (String) -> Void,
                                      nextBatch: () throws -> Tensor?) throws -> Tally {
        var tally = Tally(sweeps, seed: random.next())
        var cleanSum = 0.0
        while let batch = try nextBatch() {
            let clean = try accuracySum(decoder, batch, expected)
            cleanSum += clean
            for (s, sweep) in sweeps.enumerated() {
                for (p, point) in sweep.points.enumerated() {
                    switch point.attack {
                    case .none: tally.sums[s][p] += clean
                    case .image(let perturbation):
                        tally.sums[s][p] += try accuracySum(decoder, perturbation.apply(batch, using: &tally.generators[s][p]), expected)
                    case .model: break
                    }
                }
            }
            tally.images += batch.shape[0]
            progress("\(tally.images) images: unperturbed mean bit accuracy \(rounded(cleanSum / Double(tally.images)))")
        }
        guard tally.images > 0 else { throw RobustnessError.noImages }
        return tally
    }

    /// The sum over the batch of each image's bit accuracy.
    private static func accuracySum(_ decoder: FingerprintDecoder, _ images: Tensor, _ expected: Fingerprint) throws -> Double {
        let shape = [decoder.imageChannels, decoder.resolution, decoder.resolution]
        guard images.rank == 4, Array(images.shape.dropFirst()) == shape else {
            throw StegoError.imageShape(expected: [images.shape.first ?? 0] + shape, found: images.shape)
        }
        let logits = withoutGradients { decoder(images) }.scalars
        let length = decoder.fingerprintLength
        let decoded = (0..<images.shape[0]).map { Fingerprint(thresholding: logits[($0 * length)..<(($0 + 1) * length)], at: 0) }
        return meanBitAccuracy(decoded: decoded, expected: expected) * Double(decoded.count)
    }

    private static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    /// Checks everything that can be checked before the first image: the fingerprint's length,
    /// the sweeps, and every image perturbation on one blank image of the decoder's shape.
    private static func check(_ sweeps: [RobustnessSweep], decoder: FingerprintDecoder, expected: Fingerprint,
                              batchSize: Int, withGenerator: Bool) throws {
        precondition(batchSize >= 1, "robustness batch size \(batchSize) must be at least 1")
        guard expected.bitCount == decoder.fingerprintLength else {
            throw StegoError.invalidFingerprint("the decoder reads \(decoder.fingerprintLength) bits, the expected fingerprint has \(expected.bitCount)")
        }
        let probe = Tensor.zeros([1, decoder.imageChannels, decoder.resolution, decoder.resolution])
        var scratch = SeededGenerator(seed: 0)
        for sweep in sweeps {
            guard !sweep.points.isEmpty else { throw RobustnessError.emptySweep(sweep.name) }
            for point in sweep.points {
                switch point.attack {
                case .none: break
                case .image(let perturbation):
                    let output = try perturbation.apply(probe, using: &scratch)
                    guard output.shape == probe.shape else { throw StegoError.imageShape(expected: probe.shape, found: output.shape) }
                case .model(let perturbation):
                    guard withGenerator else { throw RobustnessError.modelSweepWithoutGenerator(sweep.name) }
                    try perturbation.validate()
                }
            }
        }
    }
}

/// The first `count` images of a data set.
private struct LeadingImages: ImageDataset {
    let base: any ImageDataset
    let count: Int

    func image(at index: Int) throws -> Tensor { try base.image(at: index) }
    func label(at index: Int) -> Int? { base.label(at: index) }
    func name(at index: Int) -> String { base.name(at: index) }
}

/// 64-bit FNV-1a of `text`'s UTF-8 bytes: a stable hash (Swift's `Hasher` is seeded per process).
private func fnv1a(_ text: String) -> UInt64 {
    text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
}
