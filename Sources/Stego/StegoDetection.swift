import Forensics
import Foundation
import Imaging
import NN
import Tensor

/// The bits decoded from one image.
public struct DetectedImage: Codable, Sendable {
    public var name: String
    public var bits: Fingerprint
    /// The verdict against the expected fingerprint, or against the registry's nearest entry.
    public var verdict: Verdict?
    /// The registry entry matched, if a registry was given.
    public var registryID: Int64?
}

/// What detection over a set of images found.
public struct DetectionSummary: Codable, Sendable {
    public var images: Int
    /// Mean bit accuracy against the expected fingerprint (when one was given).
    public var meanBitAccuracy: Double?
    /// The per-bit majority vote over all images.
    public var majorityVote: Fingerprint
    /// The majority vote's verdict against the expected fingerprint.
    public var majorityVerdict: Verdict?
    /// Images whose own verdict is "matched".
    public var matchedImages: Int?
    /// The false-positive rate the verdicts use.
    public var falsePositiveRate: Double
    /// The bit-accuracy threshold above which an image counts as fingerprinted (generated), the
    /// deepfake-detection rule of the ICCV'21 paper (0.75 there).
    public var detectionThreshold: Double
    /// Images whose bit accuracy against the expected fingerprint is at least
    /// `detectionThreshold` (when one was given): detected as coming from the fingerprinted source.
    public var detectedImages: Int?
}

/// Decoding fingerprints from images and deciding, with a p-value, whether they carry a given
/// fingerprint or one of a registry's.
public enum StegoDetection {
    /// The bits of every image of `source`, in its order. Folder images must already have the
    /// decoder's size unless `resize` (then they are resized and centre-cropped); Fashion-MNIST is
    /// padded to it as in training.
    public static func decode(decoder: FingerprintDecoder, source: ImageSource, resize: Bool = false,
                              batchSize: Int = 64) throws -> [(name: String, bits: Fingerprint)] {
        let (dataset, preprocessing) = try source.dataset(resolution: decoder.resolution, channels: decoder.imageChannels)
        let expected = [decoder.imageChannels, decoder.resolution, decoder.resolution]
        var padded = false
        if case .fashionMNIST = source { padded = true }
        let loader = try DataLoader(dataset, batchSize: batchSize, order: .sequential, epochs: 1,
                                    preprocessing: resize || padded ? preprocessing : Preprocessing(channels: decoder.imageChannels))
        var result: [(String, Fingerprint)] = []
        while let batch = try loader.nextBatch() {
            let images = batch.images
            guard Array(images.shape.dropFirst()) == expected else {
                throw StegoError.imageShape(expected: [images.shape[0]] + expected, found: images.shape)
            }
            let logits = withoutGradients { decoder(images) }
            let rows = logits.shape[1]
            let values = logits.scalars
            for (i, index) in batch.indices.enumerated() {
                let bits = Fingerprint(thresholding: values[(i * rows)..<((i + 1) * rows)], at: 0)
                result.append((URL(fileURLWithPath: dataset.name(at: index)).lastPathComponent, bits))
            }
        }
        return result
    }

    /// Verdicts of every image and of the majority vote against `expected` (or per image against
    /// the registry's nearest entry, corrected for its size).
    public static func summarize(_ decoded: [(name: String, bits: Fingerprint)], expected: Fingerprint?,
                                 registry: FingerprintRegistry? = nil,
                                 falsePositiveRate: Double = 1e-6,
                                 detectionThreshold: Double = 0.75) throws -> (images: [DetectedImage], summary: DetectionSummary) {
        guard let first = decoded.first else { throw StegoError.invalidFingerprint("no images to decode") }
        if let expected, expected.bitCount != first.bits.bitCount {
            throw StegoError.invalidFingerprint("expected \(first.bits.bitCount) bits, got \(expected.bitCount)")
        }
        let matches = try registry?.nearestMatches(to: decoded.map(\.bits), falsePositiveRate: falsePositiveRate)
        var images: [DetectedImage] = []
        for (i, item) in decoded.enumerated() {
            var image = DetectedImage(name: item.name, bits: item.bits)
            if let expected {
                image.verdict = try Verdict(decoded: item.bits, expected: expected, falsePositiveRate: falsePositiveRate)
            } else if let match = matches?[i] {
                image.verdict = match.verdict
                image.registryID = match.entry.id
            }
            images.append(image)
        }
        let vote = Fingerprint.majorityVote(decoded.map(\.bits))
        let majorityVerdict = try expected.map { try Verdict(decoded: vote, expected: $0, falsePositiveRate: falsePositiveRate) }
        let summary = DetectionSummary(
            images: decoded.count,
            meanBitAccuracy: expected.map { meanBitAccuracy(decoded: decoded.map(\.bits), expected: $0) },
            majorityVote: vote,
            majorityVerdict: majorityVerdict,
            matchedImages: images.contains { $0.verdict != nil } ? images.filter { $0.verdict?.matched == true }.count : nil,
            falsePositiveRate: falsePositiveRate,
            detectionThreshold: detectionThreshold,
            detectedImages: expected.map { expected in
                bitAccuracies(decoded: decoded.map(\.bits), expected: expected).count { $0 >= detectionThreshold }
            })
        return (images, summary)
    }
}
