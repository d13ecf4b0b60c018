import XCTest
import TestSupport
@testable import NN
import Tensor

/// Finite-difference checks of the StyleGAN2 layers, with respect to inputs, styles and weights,
/// including the second-order path the path-length penalty takes.
final class StyleGANLayerGradientTests: XCTestCase {
    func testModulatedConvolutionGradients() {
        for (demodulate, upsample) in [(true, false), (false, false), (true, true)] {
            var generator = SeededGenerator(seed: 1)
            let layer = ModulatedConv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, styleDimension: 5,
                                        demodulate: demodulate, upsample: upsample, generator: &generator)
            let x = Tensor.normal([2, 3, 4, 4], using: &generator)
            let w = Tensor.normal([2, 5], using: &generator)
            assertModuleGradientsMatchFiniteDifferences(inputs: [x, w], parameters: [layer.weight, layer.affine!.weight],
                                                        tolerance: 3e-2) { t in
                layer(t[0], style: t[1])
            }
        }
    }

    func testResamplingRecipesGradients() {
        var generator = SeededGenerator(seed: 2)
        let x = Tensor.normal([1, 2, 6, 6], using: &generator)
        let w = Tensor.normal([3, 2, 3, 3], using: &generator)
        assertGradientsMatchFiniteDifferences([x]) { FIRResampling.upsample2x($0[0]) }
        assertGradientsMatchFiniteDifferences([x]) { FIRResampling.downsample2x($0[0]) }
        assertGradientsMatchFiniteDifferences([x, w]) { FIRResampling.upsampleConv2d($0[0], weight: $0[1]) }
        assertGradientsMatchFiniteDifferences([x, w]) { FIRResampling.convDownsample2d($0[0], weight: $0[1]) }
        XCTAssertEqual(FIRResampling.upsampleConv2d(x, weight: w).shape, [1, 3, 12, 12])
        XCTAssertEqual(FIRResampling.convDownsample2d(x, weight: w).shape, [1, 3, 3, 3])
    }

    func testMinibatchStdDevGradients() {
        var generator = SeededGenerator(seed: 3)
        let x = Tensor.normal([8, 2, 3, 3], using: &generator)
        let layer = MinibatchStdDev(groupSize: 4)
        XCTAssertEqual(layer(x).shape, [8, 3, 3, 3])
        assertGradientsMatchFiniteDifferences([x]) { layer($0[0]) }
    }

    /// The path-length penalty's gradient with respect to a synthesis weight, against finite
    /// differences of the penalty (a second-order derivative through modulated convolutions).
    func testPathLengthPenaltyDoubleBackward() {
        var generator = SeededGenerator(seed: 4)
        let block = SynthesisBlock(inputChannels: 3, outputChannels: 2, imageChannels: 1, styleDimension: 4,
                                   generator: &generator)
        for (_, p) in block.namedParameters() {
            p.value = Tensor.normal(p.shape, standardDeviation: 0.5, using: &generator)
        }
        let x = Tensor.normal([2, 3, 4, 4], using: &generator)
        let image = Tensor.normal([2, 1, 4, 4], using: &generator)
        let noise = [Tensor.normal([2, 1, 8, 8], using: &generator), Tensor.normal([2, 1, 8, 8], using: &generator)]
        let w = Tensor.normal([2, 4], using: &generator)
        assertModuleGradientsMatchFiniteDifferences(inputs: [], parameters: [block.conv1.conv.weight], tolerance: 3e-2) { _ in
            let styles = (0..<3).map { _ in w.requiringGradient() }
            let output = block(x, image: image, styles: styles, noise: noise).image
            var directionGenerator = SeededGenerator(seed: 99)
            return pathLengthPenalty(images: output, styles: styles, targetLength: 0.5,
                                     generator: &directionGenerator).penalty.reshaped(to: [1])
        }
    }

    func testR1PenaltyMatchesDefinition() {
        var generator = SeededGenerator(seed: 5)
        let w = Tensor.normal([3, 4], using: &generator)
        let reals = Tensor.normal([5, 1, 2, 2], using: &generator)
        // D(x) = Σ tanh(x·W); its input gradient is known in closed form.
        let d: (Tensor) -> Tensor = { Tensor.matmul($0.reshaped(to: [-1, 4]), w, transposeB: true).tanh().sum(alongAxes: [1]) }
        let (penalty, _) = r1Penalty(reals: reals, gamma: 10, discriminator: d)
        let x = reals.reshaped(to: [5, 4])
        let t = Tensor.matmul(x, w, transposeB: true).tanh()
        let grad = Tensor.matmul(1 - t * t, w)                            // [5, 4]
        let expected = grad.square().sum(alongAxes: [1]).mean().scalar * 5
        XCTAssertEqual(penalty.scalar, expected, accuracy: 1e-4 * expected)
    }
}

/// The resampling and noise layers.
final class ResamplingLayerTests: XCTestCase {
    func testPresetsMatchTheRecipes() {
        var generator = SeededGenerator(seed: 6)
        let x = Tensor.normal([2, 3, 8, 8], using: &generator)
        XCTAssertEqual(UpFirDn2d.upsample2x()(x).scalars, FIRResampling.upsample2x(x).scalars)
        XCTAssertEqual(UpFirDn2d.downsample2x()(x).scalars, FIRResampling.downsample2x(x).scalars)
        XCTAssertEqual(UpFirDn2d.blur()(x).shape, x.shape)
        XCTAssertEqual(UpFirDn2d.separableFilter([1, 3, 3, 1]).scalars, FIRResampling.filter.scalars)
        // A blur of a constant image is the constant away from the zero-padded border.
        let blurred = UpFirDn2d.blur()(Tensor.ones([1, 1, 8, 8]))
        XCTAssertEqual(blurred[0, 0, 4, 4], 1, accuracy: 1e-6)
    }

    func testNoiseInjectionGradients() {
        var generator = SeededGenerator(seed: 7)
        let layer = NoiseInjection()
        layer.strength.value = Tensor([0.7])
        let x = Tensor.normal([2, 3, 4, 4], using: &generator), noise = Tensor.normal([2, 1, 4, 4], using: &generator)
        assertModuleGradientsMatchFiniteDifferences(inputs: [x, noise], parameters: [layer.strength]) { layer($0[0], noise: $0[1]) }
    }
}
