import Tensor

/// The StegaStamp-style U-Net that hides a fingerprint in an image (artificial-fingerprints spec
/// §2): `secretDense` maps the bits to a 16×16 map per image channel, nearest upsampling brings
/// it to the image size, and a U-Net over `[fingerprint map, image]` outputs the fingerprinted
/// image through a sigmoid. Parameter names follow the official PyTorch code in camelCase
/// (`secretDense`, `conv1`…`conv10`, `up6`…`up9`, `residual`).
public final class StegaStampEncoder: Module {
    public let secretDense: Linear
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d, conv4: Conv2d, conv5: Conv2d
    public let up6: Conv2d, conv6: Conv2d
    public let up7: Conv2d, conv7: Conv2d
    public let up8: Conv2d, conv8: Conv2d
    public let up9: Conv2d, conv9: Conv2d
    public let conv10: Conv2d
    public let residual: Conv2d

    public let resolution: Int
    public let imageChannels: Int
    public let fingerprintLength: Int

    /// - Parameters:
    ///   - resolution: image side, a power of two ≥ 32 (16 × the fingerprint map's upsampling).
    ///   - widths: channels of the five encoder levels (official: 32, 32, 64, 128, 256).
    public init(resolution: Int, imageChannels: Int, fingerprintLength: Int, widths: [Int] = [32, 32, 64, 128, 256],
                generator: inout SeededGenerator) {
        precondition(exactLog2(resolution) != nil && resolution >= 32,
                     "StegaStamp encoder resolution \(resolution) must be a power of two ≥ 32")
        precondition(widths.count == 5, "StegaStamp encoder needs five widths, got \(widths)")
        let c = imageChannels
        func conv(_ i: Int, _ o: Int, _ k: Int = 3, stride: Int = 1) -> Conv2d {
            Conv2d(inputChannels: i, outputChannels: o, kernelSize: Size2D(k, k), stride: Size2D(stride, stride),
                   padding: Padding2D(integerLiteral: k / 2), generator: &generator)
        }
        // The 2×2 "up" convolutions pad right and bottom by one (TensorFlow's "same").
        func up(_ i: Int, _ o: Int) -> Conv2d {
            Conv2d(inputChannels: i, outputChannels: o, kernelSize: 2,
                   padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1), generator: &generator)
        }
        secretDense = Linear(inputCount: fingerprintLength, outputCount: 16 * 16 * c, generator: &generator)
        conv1 = conv(2 * c, widths[0])
        conv2 = conv(widths[0], widths[1], stride: 2)
        conv3 = conv(widths[1], widths[2], stride: 2)
        conv4 = conv(widths[2], widths[3], stride: 2)
        conv5 = conv(widths[3], widths[4], stride: 2)
        up6 = up(widths[4], widths[3]); conv6 = conv(2 * widths[3], widths[3])
        up7 = up(widths[3], widths[2]); conv7 = conv(2 * widths[2], widths[2])
        up8 = up(widths[2], widths[1]); conv8 = conv(2 * widths[1], widths[1])
        up9 = up(widths[1], widths[0]); conv9 = conv(2 * widths[0] + 2 * c, widths[0])
        conv10 = conv(widths[0], widths[0])
        residual = conv(widths[0], c, 1)
        self.resolution = resolution
        self.imageChannels = c
        self.fingerprintLength = fingerprintLength
        super.init()
    }

    /// The fingerprinted images `[N, C, R, R]` in (0, 1) for `fingerprints` `[N, L]` (0/1
    /// floats) and `images` `[N, C, R, R]` in [0, 1].
    public func callAsFunction(fingerprints: Tensor, images: Tensor) -> Tensor {
        let n = images.shape[0]
        precondition(fingerprints.shape == [n, fingerprintLength],
                     "StegaStamp encoder fingerprints \(fingerprints.shape), expected [\(n), \(fingerprintLength)]")
        precondition(images.shape == [n, imageChannels, resolution, resolution],
                     "StegaStamp encoder images \(images.shape), expected [N, \(imageChannels), \(resolution), \(resolution)]")
        let factor = resolution / 16
        let map = secretDense(fingerprints).relu().reshaped(to: [n, imageChannels, 16, 16])
            .upsampledNearest(scale: Size2D(factor, factor))
        let inputs = Tensor.concatenate([map, images], alongAxis: 1)
        func up(_ layer: Conv2d, _ x: Tensor) -> Tensor { layer(x.upsampledNearest(scale: 2), activation: .relu) }
        let c1 = conv1(inputs, activation: .relu)
        let c2 = conv2(c1, activation: .relu)
        let c3 = conv3(c2, activation: .relu)
        let c4 = conv4(c3, activation: .relu)
        let c5 = conv5(c4, activation: .relu)
        let c6 = conv6(Tensor.concatenate([c4, up(up6, c5)], alongAxis: 1), activation: .relu)
        let c7 = conv7(Tensor.concatenate([c3, up(up7, c6)], alongAxis: 1), activation: .relu)
        let c8 = conv8(Tensor.concatenate([c2, up(up8, c7)], alongAxis: 1), activation: .relu)
        let c9 = conv9(Tensor.concatenate([c1, up(up9, c8), inputs], alongAxis: 1), activation: .relu)
        let c10 = conv10(c9, activation: .relu)
        return residual(c10).sigmoid()
    }
}
