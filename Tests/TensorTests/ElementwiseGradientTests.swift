import XCTest
import TestSupport
@testable import Tensor

/// Finite-difference checks for the element-wise, broadcasting and reduction operations.
final class ElementwiseGradientTests: XCTestCase {
    private let x = randomTensor([2, 3, 4], seed: 1, margin: 0.1)
    private var positive: Tensor { x.abs() + 0.5 }

    func testUnaryFunctions() {
        assertGradientsMatchFiniteDifferences([x]) { $0[0].exp() }
        assertGradientsMatchFiniteDifferences([positive]) { $0[0].log() }
        assertGradientsMatchFiniteDifferences([positive]) { $0[0].sqrt() }
        assertGradientsMatchFiniteDifferences([positive]) { $0[0].rsqrt() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].abs() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].square() }
        assertGradientsMatchFiniteDifferences([positive]) { $0[0].pow(1.7) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].pow(3) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].tanh() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sigmoid() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].relu() }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].leakyReLU(negativeSlope: 0.2) }
        assertGradientsMatchFiniteDifferences([x * 3]) { $0[0].softplus() }
        // Samples kept well away from the clamp bounds, where the derivative jumps.
        let spread = Tensor(shape: [2, 4], scalars: [-1.2, -0.8, -0.3, 0, 0.2, 0.45, 0.9, 1.5])
        assertGradientsMatchFiniteDifferences([spread]) { $0[0].clamped(to: -0.5...0.7) }
        assertGradientsMatchFiniteDifferences([x]) { -$0[0] }
    }

    /// (Leaky) ReLU's backward is itself differentiable in the incoming gradient: the second-order
    /// path an R1 penalty takes through a discriminator.
    func testReLUBackwardIsDifferentiable() {
        let input = x.requiringGradient()
        let weight = randomTensor([2, 3, 4], seed: 2, margin: 0.1)
        for slope: Float in [0, 0.2] {
            assertGradientsMatchFiniteDifferences([weight]) { w in
                // The gradient reaching the activation depends on w, so the second-order path runs
                // through the activation's backward (not only through the product).
                let first = gradients(of: ((input * w[0]).leakyReLU(negativeSlope: slope) * w[0]).sum(),
                                      with: [input], createGraph: true)[0]
                return (first * first * w[0]).sum()
            }
        }
    }

    func testBroadcastingArithmetic() {
        let a = randomTensor([2, 3, 4], seed: 2)
        let b = randomTensor([1, 3, 1], seed: 3)
        let c = randomTensor([4], seed: 4).abs() + 0.5
        assertGradientsMatchFiniteDifferences([a, b]) { $0[0] + $0[1] }
        assertGradientsMatchFiniteDifferences([a, b]) { $0[0] - $0[1] }
        assertGradientsMatchFiniteDifferences([a, b]) { $0[1] * $0[0] }
        assertGradientsMatchFiniteDifferences([a, c]) { $0[0] / $0[1] }
        assertGradientsMatchFiniteDifferences([c, a]) { $0[0] / $0[1].abs().clamped(to: 0.3...10) }
        assertGradientsMatchFiniteDifferences([a]) { 2 * $0[0] - 1 + $0[0] / 4 }
        assertGradientsMatchFiniteDifferences([a, b]) { $0[0].maximum($0[1]) }
        assertGradientsMatchFiniteDifferences([a, b]) { $0[0].minimum($0[1]) }
        let mask = a.isGreater(than: 0)
        assertGradientsMatchFiniteDifferences([a, b]) { Tensor.select(mask, $0[0], $0[1]) }
    }

    func testReductions() {
        let a = randomTensor([2, 3, 4], seed: 5)
        assertGradientsMatchFiniteDifferences([a]) { $0[0].sum() }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].sum(alongAxes: [1]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].sum(alongAxes: [0, 2], keepingDimensions: true) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].mean(alongAxes: [2]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].max(alongAxes: [1]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].min(alongAxes: [0, 2]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].variance(alongAxes: [0]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].variance(alongAxes: [1, 2], unbiased: true) }
    }

    func testSoftmaxFamily() {
        let a = randomTensor([3, 5], seed: 6, scale: 2)
        assertGradientsMatchFiniteDifferences([a]) { $0[0].logSumExp(alongAxis: 1) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].logSoftmax(alongAxis: 1) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].softmax(alongAxis: 0) }
        assertGradientsMatchFiniteDifferences([a]) { Tensor.crossEntropy(logits: $0[0], labels: [0, 4, 2]) }
        var generator = SeededGenerator(seed: 9)
        let targets = Tensor.uniform([3, 5], using: &generator)
        assertGradientsMatchFiniteDifferences([a, targets]) {
            Tensor.binaryCrossEntropyWithLogits(logits: $0[0], targets: $0[1])
        }
    }
}
