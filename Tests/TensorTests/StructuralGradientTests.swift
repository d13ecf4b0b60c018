import XCTest
import TestSupport
@testable import Tensor

/// Finite-difference checks for shape operations, matrix products, convolutions and resampling.
final class StructuralGradientTests: XCTestCase {
    func testShapeOperations() {
        let a = randomTensor([2, 3, 4], seed: 11)
        assertGradientsMatchFiniteDifferences([a]) { $0[0].reshaped(to: [6, -1]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].permuted([2, 0, 1]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].transposed() }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].reversed(alongAxes: [0, 2]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].sliced(1..<3, alongAxis: 1) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].padded([(1, 0), (0, 2)], value: 0.5) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].padded([(1, -1), (-2, 1)]) }
        assertGradientsMatchFiniteDifferences([a]) { $0[0].sliced(0..<1, alongAxis: 0).expanded(to: [3, 3, 4]) }
        let b = randomTensor([2, 1, 4], seed: 12)
        assertGradientsMatchFiniteDifferences([a, b]) { Tensor.concatenate([$0[0], $0[1], $0[0]], alongAxis: 1) }
        assertGradientsMatchFiniteDifferences([a]) {
            let parts = $0[0].split(sizes: [1, 3], alongAxis: -1)
            return parts[0] * 2 + parts[1].sum(alongAxes: [2], keepingDimensions: true)
        }
    }

    func testMatrixProducts() {
        let a = randomTensor([3, 4], seed: 13), b = randomTensor([4, 5], seed: 14)
        assertGradientsMatchFiniteDifferences([a, b]) { Tensor.matmul($0[0], $0[1]) }
        assertGradientsMatchFiniteDifferences([a, b]) { Tensor.matmul($0[0], $0[0], transposeB: true) + $0[1].sum() }
        let at = randomTensor([4, 3], seed: 15), bt = randomTensor([5, 4], seed: 16)
        assertGradientsMatchFiniteDifferences([at, b]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
        assertGradientsMatchFiniteDifferences([a, bt]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        assertGradientsMatchFiniteDifferences([at, bt]) { Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
        let batchA = randomTensor([2, 3, 4], seed: 17), batchB = randomTensor([2, 4, 5], seed: 18)
        assertGradientsMatchFiniteDifferences([batchA, batchB]) { Tensor.matmul($0[0], $0[1]) }
        assertGradientsMatchFiniteDifferences([batchA, b]) { Tensor.matmul($0[0], $0[1]) }
    }

    func testConvolutions() {
        let x = randomTensor([2, 4, 6, 5], seed: 21)
        let w = randomTensor([6, 2, 3, 3], seed: 22, scale: 0.5)
        let bias = randomTensor([6], seed: 23)
        assertGradientsMatchFiniteDifferences([x, w, bias]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: Size2D(2, 1),
                          padding: Padding2D(top: 0, bottom: 1, left: 2, right: 1), groups: 2)
        }
        let w2 = randomTensor([3, 4, 2, 2], seed: 24, scale: 0.5)
        assertGradientsMatchFiniteDifferences([x, w2]) {
            Tensor.conv2d($0[0], weight: $0[1], padding: 1, dilation: 2)
        }
        let wt = randomTensor([4, 3, 3, 3], seed: 25, scale: 0.5)
        let bt = randomTensor([3], seed: 26)
        assertGradientsMatchFiniteDifferences([x, wt, bt]) {
            Tensor.convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1, outputPadding: 1)
        }
        // The gradient primitives themselves, to first order.
        let geometry = ConvolutionGeometry(stride: 2, padding: 1, dilation: 1, groups: 1)
        let gy = randomTensor([2, 6, 3, 3], seed: 27)
        let w3 = randomTensor([6, 4, 3, 3], seed: 28)
        assertGradientsMatchFiniteDifferences([gy, w3]) {
            Tensor.convBackwardData($0[0], $0[1], inputShape: x.shape, geometry: geometry)
        }
        assertGradientsMatchFiniteDifferences([x, gy]) {
            Tensor.convBackwardWeight($0[0], $0[1], weightShape: w3.shape, geometry: geometry)
        }
    }

    /// `conv2d(…, activation:)` (a oneDNN post-op) against the convolution and the activation
    /// applied one after the other: the same values, gradients and second-order gradients.
    func testConvolutionWithFusedActivation() {
        let x = randomTensor([4, 16, 12, 12], seed: 31)
        let w = randomTensor([16, 16, 3, 3], seed: 32, scale: 0.2)
        let b = randomTensor([16], seed: 33)
        for activation in [FusedActivation.relu, .leakyReLU(negativeSlope: 0.2)] {
            let slope = activation.negativeSlope
            func run(fused: Bool) -> [[Float]] {
                let (xl, wl, bl) = (x.requiringGradient(), w.requiringGradient(), b.requiringGradient())
                let y = fused ? Tensor.conv2d(xl, weight: wl, bias: bl, padding: 1, activation: activation)
                              : Tensor.conv2d(xl, weight: wl, bias: bl, padding: 1).leakyReLU(negativeSlope: slope)
                let loss = (y * y).sum()
                // First order with a graph, then the gradient of a function of the first gradient.
                let first = gradients(of: loss, with: [xl, wl, bl], createGraph: true)
                let second = gradients(of: (first[0] * first[0]).sum(), with: [wl])
                return [y.scalars] + first.map(\.scalars) + second.map(\.scalars)
            }
            let fused = run(fused: true), separate = run(fused: false)
            for (a, e) in zip(fused, separate) {
                XCTAssertEqual(a.count, e.count)
                let scale = e.map(Swift.abs).max() ?? 1
                let worst = zip(a, e).map { Swift.abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(activation)")
            }
        }
        // Finite differences on a small case, kept away from the kink where a difference step
        // would cross it: small weights, and biases of ±4 put whole channels on either branch.
        let xs = randomTensor([2, 4, 6, 5], seed: 34)
        let ws = randomTensor([6, 4, 3, 3], seed: 35, scale: 0.1)
        let bs = Tensor(shape: [6], scalars: [4, -4, 4.5, -4.5, 3.5, -3.5])
        assertGradientsMatchFiniteDifferences([xs, ws, bs]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1, activation: .leakyReLU(negativeSlope: 0.2))
        }
    }

    func testResampling() {
        let x = randomTensor([2, 2, 4, 5], seed: 31)
        assertGradientsMatchFiniteDifferences([x]) { $0[0].upsampledNearest(scale: Size2D(2, 3)) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].resizedBilinear(to: Size2D(7, 3)) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].averagePooled(kernel: 3, stride: 2, padding: 1) }
        var generator = SeededGenerator(seed: 32)
        let filter = Tensor.uniform([3, 4], using: &generator)
        assertGradientsMatchFiniteDifferences([x]) {
            $0[0].upfirdn2d(filter: filter, up: 2, down: Size2D(1, 2),
                            padding: Padding2D(top: 2, bottom: 1, left: -1, right: 3), gain: 2)
        }
        assertGradientsMatchFiniteDifferences([x]) {
            $0[0].upfirdn2d(filter: filter, up: Size2D(1, 2), down: 2, padding: 1, flipFilter: true)
        }
        // The depthwise-convolution path (8+ channels, no upsampling) against the generic kernel.
        let wide = randomTensor([2, 9, 7, 6], seed: 34)
        for (down, pads, flip) in [(Size2D(1, 1), Padding2D(top: 2, bottom: 1, left: 2, right: 1), false),
                                   (Size2D(2, 2), Padding2D(integerLiteral: 1), true),
                                   (Size2D(2, 1), Padding2D(top: 0, bottom: 3, left: 1, right: 0), false)] {
            let fast = wide.upfirdn2d(filter: filter, down: down, padding: pads, flipFilter: flip, gain: 1.5)
            let (planes, h, w) = (18, 7, 6)
            let size = ResamplingKernels.upfirdn2dOutputSize(height: h, width: w, filterHeight: 3, filterWidth: 4, upY: 1, upX: 1,
                                                             downY: down.height, downX: down.width, padX0: pads.left,
                                                             padX1: pads.right, padY0: pads.top, padY1: pads.bottom)
            let generic = Tensor(shape: [2, 9, size.height, size.width]) { out in
                ResamplingKernels.upfirdn2d(wide.storage.pointer, out.baseAddress!, planes: planes, height: h, width: w,
                                            filter: filter.storage.pointer, filterHeight: 3, filterWidth: 4, upY: 1, upX: 1,
                                            downY: down.height, downX: down.width, padX0: pads.left, padX1: pads.right,
                                            padY0: pads.top, padY1: pads.bottom, flipFilter: flip, gain: 1.5)
            }
            XCTAssertTrue(fast.isAlmostEqual(to: generic, tolerance: 1e-5), "depthwise upfirdn2d, down \(down), pads \(pads)")
        }
        assertGradientsMatchFiniteDifferences([wide.sliced(0..<1, alongAxis: 0)]) {
            $0[0].upfirdn2d(filter: filter, down: 2, padding: 1)
        }

        // The adjoints, which serve as the gradients' gradients.
        let big = randomTensor([2, 2, 8, 10], seed: 33)
        assertGradientsMatchFiniteDifferences([big]) { $0[0].nearestUpsampleAdjoint(scale: 2) }
        assertGradientsMatchFiniteDifferences([big]) { $0[0].bilinearResizeAdjoint(to: Size2D(5, 4)) }
        assertGradientsMatchFiniteDifferences([x]) {
            $0[0].averagePoolAdjoint(inputSize: Size2D(8, 9), kernel: 3, stride: 2, padding: 1)
        }
    }
}
