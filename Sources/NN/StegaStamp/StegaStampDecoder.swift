import Tensor

/// The StegaStamp-style convolutional fingerprint decoder (artificial-fingerprints spec §3):
/// 3×3 convolutions with ReLU (`decoder.0`, `decoder.2`, …, as the official `Sequential`
/// indices), flatten, a ReLU dense layer and a linear layer giving one logit per bit
/// (`dense.0`, `dense.2`). Bit = 1 iff its logit > 0.
public final class StegaStampDecoder: Module, UnaryLayer {
    public let decoder: Sequential
    public let dense: Sequential

    public let resolution: Int
    public let imageChannels: Int
    public let fingerprintLength: Int
    /// Negative slope of the hidden activations: 0 for the spec's ReLU, or a leaky ReLU's slope.
    public let negativeSlope: Float

    /// Official stack: `(out channels, stride)` = (32,2) (32,1) (64,2) (64,1) (64,2) (128,2) (128,2).
    public static let officialLayers: [(channels: Int, stride: Int)] =
        [(32, 2), (32, 1), (64, 2), (64, 1), (64, 2), (128, 2), (128, 2)]

    /// - Parameters:
    ///   - resolution: image side; the strides must divide it exactly.
    ///   - layers: the convolution stack (channels and stride of each 3×3 convolution).
    ///   - hiddenCount: width of the hidden dense layer (official: 512).
    ///   - negativeSlope: 0 (official) for ReLU after every hidden layer, or the negative slope
    ///     of a leaky ReLU there instead (the parameters and their names are the same).
    public init(resolution: Int, imageChannels: Int, fingerprintLength: Int,
                layers: [(channels: Int, stride: Int)] = StegaStampDecoder.officialLayers, hiddenCount: Int = 512,
                negativeSlope: Float = 0, generator: inout SeededGenerator) {
        precondition(negativeSlope >= 0 && negativeSlope < 1,
                     "StegaStamp decoder negative slope \(negativeSlope) must be in [0, 1)")
        func activation() -> any UnaryLayer { negativeSlope == 0 ? ReLU() : LeakyReLU(negativeSlope: negativeSlope) }
        let reduction = layers.map(\.stride).reduce(1, *)
        precondition(resolution % reduction == 0 && resolution / reduction >= 1,
                     "StegaStamp decoder resolution \(resolution) is not divisible by its total stride \(reduction)")
        var stack: [any UnaryLayer] = []
        var channels = imageChannels
        for layer in layers {
            stack.append(Conv2d(inputChannels: channels, outputChannels: layer.channels, kernelSize: 3,
                                stride: Size2D(layer.stride, layer.stride), padding: 1, generator: &generator))
            stack.append(activation())
            channels = layer.channels
        }
        decoder = Sequential(stack)
        let side = resolution / reduction
        dense = Sequential([
            Linear(inputCount: channels * side * side, outputCount: hiddenCount, generator: &generator),
            activation(),
            Linear(inputCount: hiddenCount, outputCount: fingerprintLength, generator: &generator),
        ])
        self.resolution = resolution
        self.imageChannels = imageChannels
        self.fingerprintLength = fingerprintLength
        self.negativeSlope = negativeSlope
        super.init()
    }

    /// Bit logits `[N, L]` for images `[N, C, R, R]` in [0, 1].
    public func callAsFunction(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && images.shape[1...] == [imageChannels, resolution, resolution],
                     "StegaStamp decoder images \(images.shape), expected [N, \(imageChannels), \(resolution), \(resolution)]")
        return dense(decoder(images).flattened(from: 1))
    }
}
