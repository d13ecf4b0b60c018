import XCTest
import TestSupport
@testable import Tensor

/// `SmallOutputConvolution` (convolutions with at most four output positions per image, as one
/// matrix product) against a double-precision loop, with the gradients through it against finite
/// differences. Where oneDNN's layouts are not nChw8c (AVX-512) the checks run through oneDNN.
final class SmallOutputConvolutionTests: XCTestCase {
    typealias Case = DNNLKernelTests.Case

    /// The stego decoder's last two layers, a 1×1 convolution, a 2×1 output with asymmetric
    /// padding and a stride-1 layer on a 2×2 input.
    static let cases: [Case] = [
        Case(name: "64→128, 4×4 → 2×2, stride 2", input: [5, 64, 4, 4], weight: [128, 64, 3, 3], geometry: .init(stride: 2, padding: 1)),
        Case(name: "128→128, 2×2 → 1×1, stride 2", input: [6, 128, 2, 2], weight: [128, 128, 3, 3], geometry: .init(stride: 2, padding: 1)),
        Case(name: "1×1, 16→8 on 2×2", input: [3, 16, 2, 2], weight: [8, 16, 1, 1], geometry: .init(stride: 1)),
        Case(name: "8→16, 3×2 → 2×1, padding 0/1", input: [2, 8, 3, 2], weight: [16, 8, 3, 3],
             geometry: .init(strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 0, padRight: 1)),
        Case(name: "8→8, 2×2 stride 1", input: [4, 8, 2, 2], weight: [8, 8, 3, 3], geometry: .init(stride: 1, padding: 1)),
    ]

    func testForwardMatchesDoublePrecisionLoop() {
        DNNLKernelTests.assertForwardMatchesDoublePrecisionLoop(Self.cases, seed: 110, tolerance: 2e-6)
    }

    /// With nChw8c layouts (AVX2-only CPUs) the path is taken for these shapes and not for larger
    /// outputs; with other layouts (AVX-512) it is never taken.
    func testThePathIsTakenWhereItApplies() {
        let applies = DNNLKernelTests.activationChannelBlock == 8
        // The stride-1 2×2 case goes to Winograd where that runs; the others here are the GEMM's.
        for c in Self.cases where c.name != "8→8, 2×2 stride 1" || !WinogradConvolution.isEnabled {
            let kernel = DNNL.forwardPlanSummary(input: c.input, weight: c.weight, geometry: c.geometry).implementation
            XCTAssertEqual(kernel == SmallOutputConvolution.kernelName, applies, "\(c.name): \(kernel)")
        }
        let larger = DNNL.forwardPlanSummary(input: [4, 64, 8, 8], weight: [64, 64, 3, 3], geometry: .init(stride: 2, padding: 1))
        XCTAssertNotEqual(larger.implementation, SmallOutputConvolution.kernelName, "4×4 outputs")
    }

    /// The 2×2 → 1×1 layer reads 4 of its 9 taps; the others are left out of the product.
    func testTapsThatOnlyReadPaddingAreLeftOut() throws {
        let layout8 = DNNL.channelBlockedLayout([6, 128, 2, 2], block: 8)
        let output8 = DNNL.channelBlockedLayout([6, 128, 1, 1], block: 8)
        let kernel = try XCTUnwrap(SmallOutputConvolution(
            input: [6, 128, 2, 2], weight: [128, 128, 3, 3], output: [6, 128, 1, 1], geometry: .init(stride: 2, padding: 1),
            activationSlope: nil, readLayout: layout8, writtenLayout: output8))
        XCTAssertEqual(kernel.taps.map { [$0.y, $0.x] }, [[1, 1], [1, 2], [2, 1], [2, 2]])
    }

    func testGradientsMatchFiniteDifferences() {
        let c = Self.cases[3]
        let x = randomTensor(c.input, seed: 141)
        let w = randomTensor(c.weight, seed: 142, scale: 0.3)
        let b = randomTensor([c.weight[0]], seed: 143, scale: 0.1)
        assertGradientsMatchFiniteDifferences([x, w, b], epsilon: 1e-2, tolerance: 2e-2) { p in
            DNNLKernelTests.conv(c, p[0], p[1], bias: p[2])
        }
    }
}
