import XCTest
import TestSupport
@testable import Tensor

/// `WinogradConvolution` (the F(4×4, 3×3) path for 3×3 convolutions and their input gradients on
/// AVX2 CPUs) against a double-precision loop and oneDNN's direct kernel, and the gradients
/// through it against finite differences.
/// On CPUs where the path does not apply (AVX-512: oneDNN's own layouts and Winograd) the same
/// checks run through oneDNN, and the test that the path is taken is skipped.
final class WinogradConvolutionTests: XCTestCase {
    typealias Case = DNNLKernelTests.Case

    /// Shapes the path takes: odd sides (partial tiles), output channels not a multiple of 16,
    /// one image, and the decoder's and GAN's layers.
    static let cases: [Case] = [
        Case(name: "8→16, 10×10", input: [3, 8, 10, 10], weight: [16, 8, 3, 3], geometry: .init(stride: 1, padding: 1)),
        Case(name: "8→24, 7×5", input: [2, 8, 7, 5], weight: [24, 8, 3, 3], geometry: .init(stride: 1, padding: 1)),
        Case(name: "16→8, 3×3, one image", input: [1, 16, 3, 3], weight: [8, 16, 3, 3], geometry: .init(stride: 1, padding: 1)),
        Case(name: "32→32, 16×16", input: [4, 32, 16, 16], weight: [32, 32, 3, 3], geometry: .init(stride: 1, padding: 1)),
        Case(name: "64→64, 8×8", input: [5, 64, 8, 8], weight: [64, 64, 3, 3], geometry: .init(stride: 1, padding: 1)),
    ]

    /// conv2d's storage path (Winograd where it applies) with bias and each activation, against
    /// the double-precision loop: within 1e-5 of the output's largest magnitude (F(4×4, 3×3) in
    /// single precision measured about 5e-6 on the decoder's layers).
    func testForwardMatchesDoublePrecisionLoop() {
        DNNLKernelTests.assertForwardMatchesDoublePrecisionLoop(Self.cases, seed: 10, tolerance: 1e-5)
    }

    /// The input gradient (`convTranspose2d` at stride 1 is the same product) against the loop.
    func testInputGradientMatchesDoublePrecisionLoop() {
        for (index, c) in Self.cases.enumerated() {
            let gy = DNNLKernelTests.random(c.output.reduce(1, *), seed: UInt64(70 + index))
            let w = DNNLKernelTests.random(c.weight.reduce(1, *), seed: UInt64(80 + index)).map { $0 * 0.3 }
            let gx = Tensor.convTranspose2d(Tensor(shape: c.output, scalars: gy), weight: Tensor(shape: c.weight, scalars: w),
                                            padding: 1)
            XCTAssertEqual(gx.shape, c.input)
            XCTAssertLessThan(DNNLKernelTests.relativeError(gx.scalars, DNNLKernelTests.naiveBackwardData(c, gy: gy, w: w)),
                              1e-5, c.name)
        }
    }

    /// The plain-pointer form always runs oneDNN's primitive: the two kernels agree.
    func testForwardMatchesOneDNNDirectKernel() {
        for (index, c) in Self.cases.enumerated() {
            let x = DNNLKernelTests.random(c.input.reduce(1, *), seed: UInt64(40 + index))
            let w = DNNLKernelTests.random(c.weight.reduce(1, *), seed: UInt64(50 + index))
            var direct = [Float](repeating: .nan, count: c.output.reduce(1, *))
            direct.withUnsafeMutableBufferPointer { y in
                DNNL.convolutionForward(input: x, inputShape: c.input, weight: w, weightShape: c.weight, bias: nil,
                                        output: y.baseAddress!, outputShape: c.output, geometry: c.geometry)
            }
            let y = Tensor.conv2d(Tensor(shape: c.input, scalars: x), weight: Tensor(shape: c.weight, scalars: w), padding: 1)
            XCTAssertLessThan(DNNLKernelTests.relativeError(y.scalars, direct), 1e-5, c.name)
        }
    }

    /// On a CPU with AVX2 and without AVX-512 (oneDNN's nChw8c layouts) the path is taken for these
    /// shapes, and not for stride 2, another padding or channel counts off the block; on other
    /// CPUs (nChw16c) it is never taken and oneDNN's kernels run.
    func testThePathIsTakenWhereItApplies() {
        let geometry = ConvolutionGeometry(stride: 1, padding: 1)
        let applies = WinogradConvolution.isEnabled && DNNLKernelTests.activationChannelBlock == 8
        for c in Self.cases {
            let kernel = DNNL.forwardPlanSummary(input: c.input, weight: c.weight, geometry: c.geometry).implementation
            XCTAssertEqual(kernel == WinogradConvolution.kernelName, applies, "\(c.name): \(kernel)")
        }
        let description = DNNL.implementationDescription()   // a 64 → 64 layer at 32 × 32
        XCTAssertEqual(description.contains("conv fwd: \(WinogradConvolution.kernelName)")
                       && description.contains("bwd data: \(WinogradConvolution.kernelName)"), applies, description)
        XCTAssertFalse(description.contains("bwd weights: \(WinogradConvolution.kernelName)"), description)
        let others: [(input: [Int], weight: [Int], geometry: ConvolutionGeometry)] = [
            ([4, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(stride: 2, padding: 1)),
            ([4, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(stride: 1, padding: 0)),
            ([4, 32, 16, 16], [32, 32, 1, 1], ConvolutionGeometry(stride: 1, padding: 0)),
            ([4, 3, 16, 16], [32, 3, 3, 3], geometry),
        ]
        for other in others {
            let summary = DNNL.forwardPlanSummary(input: other.input, weight: other.weight, geometry: other.geometry)
            XCTAssertNotEqual(summary.implementation, WinogradConvolution.kernelName, "\(other)")
        }
    }

    /// Gradients through a Winograd forward pass, including the second-order ones an R1 penalty
    /// takes, match finite differences; with the fused leaky ReLU (whose kink finite differences
    /// cannot cross) they equal those of the convolution and the activation applied separately.
    func testGradientsMatchFiniteDifferences() {
        let x = randomTensor([2, 8, 5, 6], seed: 61)
        let w = randomTensor([8, 8, 3, 3], seed: 62, scale: 0.3)
        let b = randomTensor([8], seed: 63, scale: 0.1)
        assertGradientsMatchFiniteDifferences([x, w, b], epsilon: 1e-2, tolerance: 2e-2) { p in
            Tensor.conv2d(p[0], weight: p[1], bias: p[2], padding: 1)
        }
        let leaves = [x, w, b].map { $0.requiringGradient() }
        let r = randomTensor([2, 8, 5, 6], seed: 64)
        let fused = Tensor.conv2d(leaves[0], weight: leaves[1], bias: leaves[2], padding: 1,
                                  activation: .leakyReLU(negativeSlope: 0.2))
        let separate = Tensor.conv2d(leaves[0], weight: leaves[1], bias: leaves[2], padding: 1).leakyReLU(negativeSlope: 0.2)
        XCTAssertEqual(fused.scalars, separate.scalars)
        for (a, e) in zip(gradients(of: (fused * r).sum(), with: leaves), gradients(of: (separate * r).sum(), with: leaves)) {
            XCTAssertLessThan(DNNLKernelTests.relativeError(a.scalars, e.scalars), 1e-6)
        }
        assertGradientsMatchFiniteDifferences([w], epsilon: 1e-2, tolerance: 2e-2) { p in
            let input = x.requiringGradient()
            let y = Tensor.conv2d(input, weight: p[0], padding: 1).softplus().sum()
            return gradients(of: y, with: [input], createGraph: true)[0].square().sum().reshaped(to: [1])
        }
    }
}
