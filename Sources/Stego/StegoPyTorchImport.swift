import Foundation
import NN
import Tensor

/// Which network of the official implementation a converted state dict holds.
public enum StegoNetworkKind: String, CaseIterable, Sendable {
    case encoder
    case decoder
}

/// Encoders and decoders trained by the official PyTorch implementation of Artificial GAN
/// Fingerprints (Yu et al., ICCV'21), used unchanged.
///
/// The input is the official `.pth` state dict converted to HDF5 by `Tools/torch_to_hdf5.py`
/// (`PyTorchStateDictionary`), with the official key names (`secret_dense.weight`,
/// `decoder.0.weight`, `dense.2.bias`; a DataParallel `module.` prefix is removed). The
/// architecture is read from the tensor shapes as the official scripts read it:
/// - decoder: channels from `decoder.0.weight` `[32, C, 3, 3]`, L from `dense.2.weight`
///   `[L, 512]`, the resolution from `dense.0.weight` `[512, 128 · (R/32)²]`;
/// - encoder: L from `secret_dense.weight` `[16·16·C, L]` and C from its rows; the encoder is
///   fully convolutional apart from that layer, so the resolution cannot be read from the
///   weights and comes from the caller or from the checkpoint configuration's `resolution`.
public enum StegoPyTorchImport {
    /// The decoder of an official checkpoint.
    /// - Parameter resolution: when given, must agree with the weights.
    /// - Throws: `StegoError.invalidArchitecture` when a key the architecture is read from is
    ///   missing or has an unexpected shape; the `CheckpointError`s of loading (every missing,
    ///   unexpected or wrongly shaped key named at once).
    public static func decoder(from dictionary: PyTorchStateDictionary, resolution: Int? = nil) throws -> FingerprintDecoder {
        let dictionary = dictionary.removingDataParallelPrefix()
        let first = try shape(of: "decoder.0.weight", in: dictionary, rank: 4)
        let hidden = try shape(of: "dense.0.weight", in: dictionary, rank: 2)
        let output = try shape(of: "dense.2.weight", in: dictionary, rank: 2)
        let finalChannels = StegaStampDecoder.officialLayers.last!.channels
        let cells = hidden[1] / finalChannels
        let side = Int(Double(cells).squareRoot().rounded())
        guard hidden[1] % finalChannels == 0, side * side == cells, side >= 1 else {
            throw StegoError.invalidArchitecture(
                "dense.0.weight has \(hidden[1]) inputs, not \(finalChannels) · (R/32)² for a power-of-two R ≥ 32")
        }
        let architecture = StegoArchitecture(resolution: 32 * side, imageChannels: first[1], fingerprintLength: output[0])
        if let resolution, resolution != architecture.resolution {
            throw StegoError.invalidArchitecture(
                "the weights are those of a \(architecture.resolution)×\(architecture.resolution) decoder, not \(resolution)")
        }
        try architecture.validate()
        var unused = SeededGenerator(seed: 0)
        let decoder = FingerprintDecoder(resolution: architecture.resolution, imageChannels: architecture.imageChannels,
                                         fingerprintLength: architecture.fingerprintLength, generator: &unused)
        try decoder.loadPyTorchStateDictionary(dictionary)
        decoder.eval()
        return decoder
    }

    /// The encoder of an official checkpoint.
    /// - Parameter resolution: the image side; when nil, the checkpoint configuration's
    ///   `resolution` (the converter's `--config '{"resolution": 128}'`).
    /// - Throws: `StegoError.invalidArchitecture` when no resolution is known or a key is missing
    ///   or misshapen, and the `CheckpointError`s of loading.
    public static func encoder(from dictionary: PyTorchStateDictionary, resolution: Int? = nil) throws -> FingerprintEncoder {
        let dictionary = dictionary.removingDataParallelPrefix()
        let secret = try shape(of: "secret_dense.weight", in: dictionary, rank: 2)
        guard secret[0] % 256 == 0 else {
            throw StegoError.invalidArchitecture("secret_dense.weight has \(secret[0]) rows, not 16 · 16 · C")
        }
        guard let side = resolution ?? configuredResolution(dictionary.config) else {
            throw StegoError.invalidArchitecture(
                "the encoder's resolution is not in its weights: give it (--resolution) or put it in the configuration")
        }
        let architecture = StegoArchitecture(resolution: side, imageChannels: secret[0] / 256, fingerprintLength: secret[1])
        try architecture.validate()
        var unused = SeededGenerator(seed: 0)
        let encoder = FingerprintEncoder(resolution: architecture.resolution, imageChannels: architecture.imageChannels,
                                         fingerprintLength: architecture.fingerprintLength, generator: &unused)
        try encoder.loadPyTorchStateDictionary(dictionary)
        encoder.eval()
        return encoder
    }

    /// Converts the official checkpoint at `input` to a gfp model file at `output` (the format
    /// `StegoModelFile` reads) and returns its architecture.
    @discardableResult
    public static func convert(_ input: URL, kind: StegoNetworkKind, resolution: Int? = nil,
                               to output: URL) throws -> StegoArchitecture {
        let dictionary = try PyTorchStateDictionary(contentsOf: input)
        switch kind {
        case .encoder:
            let encoder = try encoder(from: dictionary, resolution: resolution)
            try StegoModelFile.writeEncoder(encoder, to: output)
            return StegoArchitecture(of: encoder)
        case .decoder:
            let decoder = try decoder(from: dictionary, resolution: resolution)
            try StegoModelFile.writeDecoder(decoder, to: output)
            return StegoArchitecture(of: decoder)
        }
    }

    private static func shape(of key: String, in dictionary: PyTorchStateDictionary, rank: Int) throws -> [Int] {
        guard let tensor = dictionary.tensors[key] else {
            throw StegoError.invalidArchitecture("the state dict has no \(key): is it an official "
                                                 + "\(key.hasPrefix("secret") ? "encoder" : "decoder") checkpoint?")
        }
        guard tensor.rank == rank else {
            throw StegoError.invalidArchitecture("\(key) has shape \(tensor.shape), expected rank \(rank)")
        }
        return tensor.shape
    }

    private static func configuredResolution(_ config: String) -> Int? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any] else { return nil }
        return (object["resolution"] as? NSNumber)?.intValue
    }
}
