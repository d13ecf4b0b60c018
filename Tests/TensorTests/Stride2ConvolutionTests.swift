import XCTest
import TestSupport
@testable import Tensor

/// `Stride2Convolution` (3×3, stride 2, padding 1, AVX2) against a double-precision loop and
/// oneDNN's direct kernel, with the gradients through it against finite differences. Where it
/// does not apply (no AVX2, or oneDNN's layouts are not nChw8c) the same checks run through oneDNN.
final class Stride2ConvolutionTests: XCTestCase {
    typealias Case = DNNLKernelTests.Case

    /// The stego decoder's stride-2 layers (the first on a row-major RGB input), odd sides,
    /// output channels that fill no whole 16-channel block, and a row-major input of 5 channels.
    static let cases: [Case] = [
        Case(name: "32→64, 16×16 → 8×8", input: [3, 32, 16, 16], weight: [64, 32, 3, 3], geometry: .init(stride: 2, padding: 1)),
        Case(name: "64→64, 8×8 → 4×4", input: [2, 64, 8, 8], weight: [64, 64, 3, 3], geometry: .init(stride: 2, padding: 1)),
        Case(name: "3→32, 32×32 → 16×16", input: [2, 3, 32, 32], weight: [32, 3, 3, 3], geometry: .init(stride: 2, padding: 1)),
        Case(name: "8→24, 9×7 → 5×4", input: [3, 8, 9, 7], weight: [24, 8, 3, 3], geometry: .init(stride: 2, padding: 1)),
        Case(name: "16→8, 5×6 → 3×3", input: [1, 16, 5, 6], weight: [8, 16, 3, 3], geometry: .init(stride: 2, padding: 1)),
        Case(name: "5→16, 11×6 → 6×3", input: [2, 5, 11, 6], weight: [16, 5, 3, 3], geometry: .init(stride: 2, padding: 1)),
    ]

    func conv(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, activation: FusedActivation? = nil) -> Tensor {
        Tensor.conv2d(x, weight: w, bias: bias, stride: 2, padding: 1, activation: activation)
    }

    func testForwardMatchesDoublePrecisionLoop() {
        DNNLKernelTests.assertForwardMatchesDoublePrecisionLoop(Self.cases, seed: 210, tolerance: 2e-6)
    }

    /// The plain-pointer form always runs oneDNN's primitive: the two kernels agree.
    func testForwardMatchesOneDNNDirectKernel() {
        for (index, c) in Self.cases.enumerated() {
            let x = DNNLKernelTests.random(c.input.reduce(1, *), seed: UInt64(240 + index))
            let w = DNNLKernelTests.random(c.weight.reduce(1, *), seed: UInt64(250 + index))
            var direct = [Float](repeating: .nan, count: c.output.reduce(1, *))
            direct.withUnsafeMutableBufferPointer { y in
                DNNL.convolutionForward(input: x, inputShape: c.input, weight: w, weightShape: c.weight, bias: nil,
                                        output: y.baseAddress!, outputShape: c.output, geometry: c.geometry)
            }
            let y = conv(Tensor(shape: c.input, scalars: x), Tensor(shape: c.weight, scalars: w))
            XCTAssertLessThan(DNNLKernelTests.relativeError(y.scalars, direct), 1e-6, c.name)
        }
    }

    /// With AVX2 and nChw8c layouts (AVX2-only CPUs) the path is taken for these shapes, and not
    /// for stride 1, another padding, another kernel size or at most four outputs per image (the
    /// small-output GEMM's); elsewhere it is never taken.
    func testThePathIsTakenWhereItApplies() {
        let applies = WinogradConvolution.isEnabled && DNNLKernelTests.activationChannelBlock == 8
        for c in Self.cases {
            let kernel = DNNL.forwardPlanSummary(input: c.input, weight: c.weight, geometry: c.geometry).implementation
            XCTAssertEqual(kernel == Stride2Convolution.kernelName, applies, "\(c.name): \(kernel)")
        }
        let others: [(input: [Int], weight: [Int], geometry: ConvolutionGeometry)] = [
            ([4, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(stride: 1, padding: 1)),
            ([4, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(stride: 2, padding: 0)),
            ([4, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(strideH: 2, strideW: 2, padTop: 1, padBottom: 0,
                                                                  padLeft: 1, padRight: 0)),
            ([4, 32, 16, 16], [32, 32, 4, 4], ConvolutionGeometry(stride: 2, padding: 1)),
            ([4, 64, 4, 4], [128, 64, 3, 3], ConvolutionGeometry(stride: 2, padding: 1)),
        ]
        for other in others {
            let summary = DNNL.forwardPlanSummary(input: other.input, weight: other.weight, geometry: other.geometry)
            XCTAssertNotEqual(summary.implementation, Stride2Convolution.kernelName, "\(other)")
        }
    }

    /// Gradients through the kernel's forward pass (the backward passes are oneDNN's), for a
    /// blocked and a row-major input, match finite differences.
    func testGradientsMatchFiniteDifferences() {
        for (index, shape) in [[2, 8, 5, 6], [1, 3, 7, 6]].enumerated() {
            let x = randomTensor(shape, seed: UInt64(261 + 10 * index))
            let w = randomTensor([16, shape[1], 3, 3], seed: UInt64(262 + 10 * index), scale: 0.3)
            let b = randomTensor([16], seed: UInt64(263 + 10 * index), scale: 0.1)
            assertGradientsMatchFiniteDifferences([x, w, b], epsilon: 1e-2, tolerance: 2e-2) { p in
                self.conv(p[0], p[1], bias: p[2])
            }
        }
    }
}
