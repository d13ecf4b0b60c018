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

    public init(resolution: Int, imageChannels: Int, fingerprintLength: Int) {
        self.resolution = resolution
        self.imageChannels = imageChannels
        self.fingerprintLength = fingerprintLength
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
        encoder = FingerprintEncoder(resolution: architecture.resolution, imageChannels: architecture.imageChannels,
                                     fingerprintLength: architecture.fingerprintLength, generator: &generator)
        decoder = FingerprintDecoder(resolution: architecture.resolution, imageChannels: architecture.imageChannels,
                                     fingerprintLength: architecture.fingerprintLength, generator: &generator)
        super.init()
    }
}

/// Errors of the steganography method.
public enum StegoError: Error, Equatable, CustomStringConvertible {
    case invalidArchitecture(String)
    /// Images whose shape does not fit the model.
    case imageShape(expected: [Int], found: [Int])
    /// A fingerprint of the wrong length or with values other than 0 and 1.
    case invalidFingerprint(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let reason): "invalid steganography architecture: \(reason)"
        case let .imageShape(expected, found): "images have shape \(found), the model expects \(expected)"
        case .invalidFingerprint(let reason): "invalid fingerprint: \(reason)"
        }
    }
}
