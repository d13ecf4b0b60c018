import Forensics
import Foundation
import Imaging
import NN
import Tensor

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
