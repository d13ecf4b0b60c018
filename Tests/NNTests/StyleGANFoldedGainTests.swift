import XCTest
import TestSupport
@testable import NN
import Tensor

/// The StyleGAN2 layers that compute their activation's √2, a caller's output gain, their bias
/// and their activation inside the convolution (or the demodulation factors), against the same
/// layers computed one operation after the other, forward and backward. 16 channels, so that
/// the convolutions take the channel-blocked kernels (oneDNN post-ops, gfp's Winograd kernel);
/// the PyTorch fixtures (StyleGAN2FixtureTests) cover small, unblocked channel counts.
final class StyleGANFoldedGainTests: XCTestCase {
    /// Output and gradients of `function` and of `reference` at `x` and `parameters`, compared.
    private func assertSameFunction(_ name: String, x: Tensor, parameters: [Tensor], seed: UInt64,
                                    _ function: (Tensor) -> Tensor, reference: (Tensor) -> Tensor,
                                    file: StaticString = #filePath, line: UInt = #line) {
        let output = function(x), expected = reference(x)
        assertClose(output, expected, tolerance: 2e-5, "\(name) forward", file: file, line: line)
        var generator = SeededGenerator(seed: seed)
        let upstream = Tensor.normal(expected.shape, using: &generator)
        let computed = gradients(of: (output * upstream).sum(), with: [x] + parameters)
        let wanted = gradients(of: (expected * upstream).sum(), with: [x] + parameters)
        for (index, (a, b)) in zip(computed, wanted).enumerated() {
            assertClose(a, b, tolerance: 2e-5, "\(name) gradient \(index)", file: file, line: line)
        }
    }

    /// The layer's old recipe: blur and strided convolution (or a "same" convolution), bias,
    /// activation with its √2, then the gain, each a tensor operation of its own.
    private func stepByStep(_ layer: EqualizedConv2d, _ x: Tensor, gain: Float) -> Tensor {
        let w = layer.weight.value * layer.weightGain
        let k = layer.weight.shape[2]
        var y: Tensor
        if layer.downsample {
            let pad = (4 - 2 + k - 1) / 2
            let blurred = x.upfirdn2d(filter: FIRResampling.filter, padding: Padding2D(vertical: pad, horizontal: pad))
            y = Tensor.conv2d(blurred, weight: w, stride: 2)
        } else {
            y = Tensor.conv2d(x, weight: w, padding: Padding2D(vertical: k / 2, horizontal: k / 2))
        }
        if let bias = layer.bias { y = y + bias.value.reshaped(to: [1, -1, 1, 1]) }
        return layer.activation.apply(y) * gain
    }

    func testEqualizedConvolutionFoldsBiasActivationAndGain() {
        let cases: [(kernel: Int, downsample: Bool, activation: StyleActivation, bias: Bool)] = [
            (3, false, .leakyReLU, true), (3, true, .leakyReLU, true), (1, true, .linear, false),
            (1, false, .leakyReLU, true), (3, true, .linear, true),
        ]
        for (index, c) in cases.enumerated() {
            var generator = SeededGenerator(seed: UInt64(10 + index))
            let layer = EqualizedConv2d(inputChannels: 16, outputChannels: 16, kernelSize: c.kernel, bias: c.bias,
                                        downsample: c.downsample, activation: c.activation, generator: &generator)
            // A bias of both signs, so that the activation's kink is crossed on both sides of it.
            layer.bias?.value = Tensor.normal([16], using: &generator)
            let x = Tensor.normal([4, 16, 8, 8], using: &generator).requiringGradient()
            let parameters = [layer.weight.value] + (layer.bias.map { [$0.value] } ?? [])
            for gain in [1, 1 / Float(2).squareRoot()] {
                assertSameFunction("k\(c.kernel) down \(c.downsample) \(c.activation) gain \(gain)", x: x,
                                   parameters: parameters, seed: UInt64(index)) {
                    layer($0, gain: gain)
                } reference: {
                    stepByStep(layer, $0, gain: gain)
                }
            }
            if c.downsample { XCTAssertEqual(layer(x).shape, [4, 16, 4, 4]) }
        }
    }

    func testModulatedConvolutionGainIsAScaledOutput() {
        for demodulate in [true, false] {
            var generator = SeededGenerator(seed: 20)
            let layer = ModulatedConv2d(inputChannels: 16, outputChannels: 16, kernelSize: 3, styleDimension: 8,
                                        demodulate: demodulate, generator: &generator)
            let x = Tensor.normal([2, 16, 8, 8], using: &generator).requiringGradient()
            let w = Tensor.normal([2, 8], using: &generator)
            assertSameFunction("demodulate \(demodulate)", x: x, parameters: [layer.weight.value, layer.affine!.weight.value],
                               seed: 3) {
                layer($0, style: w, gain: 1.7)
            } reference: {
                layer($0, style: w) * 1.7
            }
        }
    }

    func testSynthesisLayerMatchesItsRecipe() {
        var generator = SeededGenerator(seed: 30)
        let layer = SynthesisLayer(inputChannels: 16, outputChannels: 16, styleDimension: 8, upsample: false,
                                   generator: &generator)
        layer.noiseStrength.value = Tensor(shape: [1], scalars: [0.3])
        layer.bias.value = Tensor.normal([16], using: &generator)
        let x = Tensor.normal([2, 16, 8, 8], using: &generator).requiringGradient()
        let w = Tensor.normal([2, 8], using: &generator)
        let noise = Tensor.normal([2, 1, 8, 8], using: &generator)
        assertSameFunction("synthesis layer", x: x,
                           parameters: [layer.conv.weight.value, layer.bias.value, layer.noiseStrength.value], seed: 4) {
            layer($0, style: w, noise: noise)
        } reference: {
            let y = layer.conv($0, style: w) + noise * layer.noiseStrength.value + layer.bias.value.reshaped(to: [1, -1, 1, 1])
            return StyleActivation.leakyReLU.apply(y)
        }
    }

    /// R1 differentiates the discriminator's input gradient again: the folded block's
    /// R1-type objective and its gradients against the step-by-step block's, and its second
    /// derivatives against finite differences.
    func testDiscriminatorBlockSecondOrder() {
        var generator = SeededGenerator(seed: 40)
        let block = DiscriminatorBlock(inputChannels: 16, outputChannels: 16, generator: &generator)
        block.conv0.bias?.value = Tensor.normal([16], using: &generator) * 0.1
        block.conv1.bias?.value = Tensor.normal([16], using: &generator) * 0.1
        func r1(_ x: Tensor, _ d: (Tensor) -> Tensor) -> Tensor {
            let input = x.requiresGradient ? x : x.requiringGradient()
            return gradients(of: d(input).sum(), with: [input], createGraph: true)[0].square().sum().reshaped(to: [1])
        }
        let x = Tensor.normal([2, 16, 8, 8], using: &generator).requiringGradient()
        assertSameFunction("R1 of the block", x: x,
                           parameters: [block.conv0.weight.value, block.conv1.weight.value, block.skip.weight.value],
                           seed: 5) {
            r1($0, block.callAsFunction)
        } reference: {
            r1($0) { x in
                (stepByStep(block.conv1, stepByStep(block.conv0, x, gain: 1), gain: 1) + stepByStep(block.skip, x, gain: 1))
                    * (1 / Float(2).squareRoot())
            }
        }
        let small = Tensor.normal([1, 16, 4, 4], using: &generator)
        assertGradientsMatchFiniteDifferences([small], tolerance: 3e-2) { r1($0[0], block.callAsFunction) }
    }
}
