import Foundation
import Imaging
import NN
import Tensor

/// Which fingerprint each embedded image gets.
public enum FingerprintAssignment: Sendable {
    /// The same bits for every image (the attribution use case).
    case identical([Float])
    /// A fresh Bernoulli(0.5) fingerprint per image, drawn from a seeded stream in image order.
    case randomPerImage(seed: UInt64)
}

/// What embedding measured.
public struct EmbeddingSummary: Codable, Sendable {
    public var images: Int
    /// Mean PSNR (dB) of the 8-bit fingerprinted images against the preprocessed originals.
    public var meanPSNR: Double
    /// Mean bit accuracy of the written (8-bit) images when a decoder was given.
    public var bitAccuracy: Double?
    /// The registry entry recording the fingerprint, when the caller registered it.
    public var registryEntryID: Int64?
}

/// Fingerprinting a data set: each image goes through the encoder and is written as an 8-bit PNG
/// as soon as its batch is done (memory stays constant), with a record of name → bits.
public enum StegoEmbedding {
    /// Parses a string of '0' and '1' characters into bits.
    public static func parseBits(_ text: String, length: Int) throws(StegoError) -> [Float] {
        let characters = Array(text.filter { !$0.isWhitespace })
        guard characters.count == length else {
            throw .invalidFingerprint("expected \(length) bits, got \(characters.count)")
        }
        var bits: [Float] = []
        for c in characters {
            switch c {
            case "0": bits.append(0)
            case "1": bits.append(1)
            default: throw .invalidFingerprint("'\(c)' is not 0 or 1")
            }
        }
        return bits
    }

    /// Writes bits as a string of '0' and '1' (bit 0 first).
    public static func formatBits(_ bits: some Sequence<Float>) -> String {
        String(bits.map { $0 > 0.5 ? "1" : "0" })
    }

    /// Fingerprints every image of `source` and writes `output/images/NNNNNN.png` (the data set's
    /// order; for folders the original file name follows the index), `output/fingerprints.txt`
    /// (`name bits` per line) and `output/residual-grid.png` (the first eight originals, their
    /// fingerprinted 8-bit images and the residual magnified ten times, as the paper's Figure 2).
    ///
    /// - Parameters:
    ///   - decoder: when given, the written 8-bit images are decoded and the bit accuracy reported.
    ///   - progress: called with the number of images written so far.
    public static func embed(encoder: FingerprintEncoder, source: ImageSource, assignment: FingerprintAssignment,
                             output: URL, batchSize: Int = 64, decoder: FingerprintDecoder? = nil,
                             progress: ((Int) -> Void)? = nil) throws -> EmbeddingSummary {
        let length = encoder.fingerprintLength
        if case .identical(let bits) = assignment, bits.count != length {
            throw StegoError.invalidFingerprint("expected \(length) bits, got \(bits.count)")
        }
        let (dataset, preprocessing) = try source.dataset(resolution: encoder.resolution, channels: encoder.imageChannels)
        let loader = try DataLoader(dataset, batchSize: batchSize, order: .sequential, epochs: 1, preprocessing: preprocessing)
        let imagesURL = output.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: imagesURL, withIntermediateDirectories: true)
        let recordURL = output.appendingPathComponent("fingerprints.txt")
        guard FileManager.default.createFile(atPath: recordURL.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: recordURL.path])
        }
        let record = try FileHandle(forWritingTo: recordURL)
        defer { try? record.close() }

        var random = SeededGenerator(seed: { if case .randomPerImage(let seed) = assignment { return seed }; return 0 }())
        var written = 0, psnrSum = 0.0, correctBits = 0.0
        while let batch = try loader.nextBatch() {
            let n = batch.images.shape[0]
            let bits: Tensor
            switch assignment {
            case .identical(let fingerprint): bits = Tensor(shape: [1, length], scalars: fingerprint).expanded(to: [n, length])
            case .randomPerImage: bits = Tensor.bernoulli([n, length], using: &random)
            }
            let fingerprinted = withoutGradients { encoder(fingerprints: bits, images: batch.images) }
            var quantized: [Tensor] = []
            for i in 0..<n {
                let image = fingerprinted.sliced(i..<(i + 1), alongAxis: 0).reshaped(to: Array(fingerprinted.shape.dropFirst()))
                let name = fileName(index: batch.indices[i], dataset: dataset)
                let png = try PNG.encode(image)
                try png.write(to: imagesURL.appendingPathComponent(name), options: .atomic)
                let stored = try PNG.decode(png)
                quantized.append(stored)
                let original = batch.images.sliced(i..<(i + 1), alongAxis: 0).reshaped(to: stored.shape)
                psnrSum += peakSignalToNoiseRatio(stored, original)
                let line = name + " " + formatBits(bits.sliced(i..<(i + 1), alongAxis: 0).scalars) + "\n"
                try record.write(contentsOf: Data(line.utf8))
            }
            if written == 0 {
                // The paper's Figure 2 for this set: originals, the written 8-bit images, residual ×10.
                let count = min(8, n)
                try StegoTraining.writeResidualGrid(
                    originals: batch.images.sliced(0..<count, alongAxis: 0),
                    fingerprinted: Tensor.concatenate(quantized[..<count].map { $0.reshaped(to: [1] + $0.shape) }, alongAxis: 0),
                    to: output.appendingPathComponent("residual-grid.png"))
            }
            if let decoder {
                let logits = withoutGradients { decoder(Tensor.concatenate(quantized.map { $0.reshaped(to: [1] + $0.shape) }, alongAxis: 0)) }
                correctBits += Double(logits.isGreater(than: 0).isEqual(to: bits).sum().scalar)
            }
            written += n
            progress?(written)
        }
        return EmbeddingSummary(images: written, meanPSNR: psnrSum / Double(max(written, 1)),
                                bitAccuracy: decoder.map { _ in correctBits / Double(max(written * length, 1)) })
    }

    /// `000123.png`, or `000123_photo.png` for a file `photo.jpg` of a folder.
    static func fileName(index: Int, dataset: any ImageDataset) -> String {
        let number = String(format: "%06d", index)
        guard dataset is ImageFolder else { return number + ".png" }
        let stem = URL(fileURLWithPath: dataset.name(at: index)).deletingPathExtension().lastPathComponent
        return number + "_" + stem + ".png"
    }

    /// PSNR in dB of `a` against `b`, both in [0, 1], capped at 100 dB for identical images.
    public static func peakSignalToNoiseRatio(_ a: Tensor, _ b: Tensor) -> Double {
        let mse = Double(withoutGradients { (a - b).square().mean().scalar })
        return 10 * log10(1 / max(mse, 1e-10))
    }
}
