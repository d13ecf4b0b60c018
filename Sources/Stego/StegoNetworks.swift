import NN
import Tensor

/// The fingerprint encoder of the training-data method: the StegaStamp U-Net of the spec's
/// layer table (its output is the fingerprinted image).
public typealias FingerprintEncoder = StegaStampEncoder

/// The fingerprint decoder of the training-data method: the StegaStamp CNN giving one logit per bit.
public typealias FingerprintDecoder = StegaStampDecoder

/// The shape of a steganography model pair, stored as the checkpoint's configuration.
public struct StegoArchitecture: Codable, Hashable, Sendable {
    /// Image side, a power of two ≥ 32.
    public var resolution: Int
    /// 1 (gray) or 3 (RGB).
    public var imageChannels: Int
    /// Fingerprint length L in bits.
    public var fingerprintLength: Int
    /// Negative slope of the decoder's hidden activations: 0 (the spec) for ReLU, or a leaky
    /// ReLU's slope, which keeps the decoder's units from dying (Docs/reproductions/stego.md).
    public var decoderNegativeSlope: Float

    public init(resolution: Int, imageChannels: Int, fingerprintLength: Int, decoderNegativeSlope: Float = 0) {
        self.resolution = resolution
        self.imageChannels = imageChannels
        self.fingerprintLength = fingerprintLength
        self.decoderNegativeSlope = decoderNegativeSlope
    }

    private enum CodingKeys: String, CodingKey {
        case resolution, imageChannels, fingerprintLength, decoderNegativeSlope
    }

    /// Reads configurations written before `decoderNegativeSlope` existed as slope 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resolution = try container.decode(Int.self, forKey: .resolution)
        imageChannels = try container.decode(Int.self, forKey: .imageChannels)
        fingerprintLength = try container.decode(Int.self, forKey: .fingerprintLength)
        decoderNegativeSlope = try container.decodeIfPresent(Float.self, forKey: .decoderNegativeSlope) ?? 0
    }

    /// Checks the values a user may have typed.
    public func validate() throws(StegoError) {
        guard resolution >= 32, resolution & (resolution - 1) == 0 else {
            throw .invalidArchitecture("resolution \(resolution) must be a power of two ≥ 32")
        }
        guard imageChannels == 1 || imageChannels == 3 else {
            throw .invalidArchitecture("image channels \(imageChannels) must be 1 or 3")
        }
        guard fingerprintLength >= 1 else {
            throw .invalidArchitecture("fingerprint length \(fingerprintLength) must be positive")
        }
        guard decoderNegativeSlope >= 0, decoderNegativeSlope < 1 else {
            throw .invalidArchitecture("decoder negative slope \(decoderNegativeSlope) must be in [0, 1)")
        }
    }

    /// A fresh encoder of this shape, initialised from `generator`.
    public func makeEncoder(generator: inout SeededGenerator) -> FingerprintEncoder {
        FingerprintEncoder(resolution: resolution, imageChannels: imageChannels,
                           fingerprintLength: fingerprintLength, generator: &generator)
    }

    /// A fresh decoder of this shape, initialised from `generator`.
    public func makeDecoder(generator: inout SeededGenerator) -> FingerprintDecoder {
        FingerprintDecoder(resolution: resolution, imageChannels: imageChannels, fingerprintLength: fingerprintLength,
                           negativeSlope: decoderNegativeSlope, generator: &generator)
    }

    /// The architecture an encoder file records.
    init(of encoder: FingerprintEncoder) {
        self.init(resolution: encoder.resolution, imageChannels: encoder.imageChannels,
                  fingerprintLength: encoder.fingerprintLength)
    }

    /// The architecture a decoder file records.
    init(of decoder: FingerprintDecoder) {
        self.init(resolution: decoder.resolution, imageChannels: decoder.imageChannels,
                  fingerprintLength: decoder.fingerprintLength, decoderNegativeSlope: decoder.negativeSlope)
    }
}

/// The encoder and decoder trained together (parameter keys `encoder.…` and `decoder.…`).
public final class StegoNetworks: Module {
    public let encoder: FingerprintEncoder
    public let decoder: FingerprintDecoder
    public let architecture: StegoArchitecture

    /// Fresh networks with PyTorch's default initialisation from `generator`.
    public init(_ architecture: StegoArchitecture, generator: inout SeededGenerator) throws(StegoError) {
        try architecture.validate()
        self.architecture = architecture
        encoder = architecture.makeEncoder(generator: &generator)
        decoder = architecture.makeDecoder(generator: &generator)
        super.init()
    }

    /// The networks of a finished run (its `encoder.h5` and `decoder.h5`), to train further.
    /// - Throws: `StegoError.invalidArchitecture` when the two do not belong together.
    public init(encoder: FingerprintEncoder, decoder: FingerprintDecoder) throws(StegoError) {
        let (encoderArchitecture, decoderArchitecture) = (StegoArchitecture(of: encoder), StegoArchitecture(of: decoder))
        guard encoderArchitecture.resolution == decoderArchitecture.resolution,
              encoderArchitecture.imageChannels == decoderArchitecture.imageChannels,
              encoderArchitecture.fingerprintLength == decoderArchitecture.fingerprintLength else {
            throw .invalidArchitecture("the encoder (\(encoderArchitecture)) and the decoder (\(decoderArchitecture)) do not match")
        }
        architecture = decoderArchitecture
        self.encoder = encoder
        self.decoder = decoder
        super.init()
        encoder.train()
        decoder.train()
    }
}

/// Errors of the steganography method.
public enum StegoError: Error, Equatable, CustomStringConvertible {
    case invalidArchitecture(String)
    /// Images whose shape does not fit the model.
    case imageShape(expected: [Int], found: [Int])
    /// A fingerprint of the wrong length or with values other than 0 and 1.
    case invalidFingerprint(String)
    /// Training settings out of range.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let reason): "invalid steganography architecture: \(reason)"
        case let .imageShape(expected, found): "images have shape \(found), the model expects \(expected)"
        case .invalidFingerprint(let reason): "invalid fingerprint: \(reason)"
        case .invalidConfiguration(let reason): "invalid training settings: \(reason)"
        }
    }
}
