import XCTest
import TestSupport
@testable import Tensor

/// `WinogradWeightGradient` (the F(3×3, 4×4) weight gradient of 3×3 convolutions on AVX2 CPUs)
/// against a double-precision loop and oneDNN's direct kernel, and the gradients it serves
/// against finite differences. On CPUs where the path does not apply the same checks run
/// through oneDNN, and the test that the path is taken checks that it is not.
final class WinogradWeightGradientTests: XCTestCase {
    typealias Case = DNNLKernelTests.Case

    /// The forward path's shapes (odd sides, 24 output channels, one image, the decoder's layers),
    /// enough tiles for two workers with partial tiles, and the 64-channel GAN's 32 × 32 layer.
    static let cases: [Case] = WinogradConvolutionTests.cases + [
        Case(name: "16→8, 17×15, 160 tiles", input: [8, 16, 17, 15], weight: [8, 16, 3, 3],
             geometry: .init(stride: 1, padding: 1)),
        Case(name: "64→64, 32×32", input: [2, 64, 32, 32], weight: [64, 64, 3, 3], geometry: .init(stride: 1, padding: 1)),
    ]

    private static func weightGradient(_ c: Case, x: [Float], gy: [Float]) -> [Float] {
        Tensor.convBackwardWeight(Tensor(shape: c.input, scalars: x), Tensor(shape: c.output, scalars: gy),
                                  weightShape: c.weight, geometry: c.geometry).scalars
    }

    /// The storage path (the one autograd takes) against the double-precision loop: within 2e-5
    /// of the gradient's largest magnitude.
    func testMatchesDoublePrecisionLoop() {
        for (index, c) in Self.cases.enumerated() {
            let x = DNNLKernelTests.random(c.input.reduce(1, *), seed: UInt64(300 + index))
            let gy = DNNLKernelTests.random(c.output.reduce(1, *), seed: UInt64(400 + index))
            let expected = DNNLKernelTests.naiveBackwardWeights(c, x: x, gy: gy).gw
            XCTAssertLessThan(DNNLKernelTests.relativeError(Self.weightGradient(c, x: x, gy: gy), expected), 2e-5, c.name)
        }
    }

    /// The plain-pointer form always runs oneDNN's primitive: the two kernels agree, also on
    /// inputs with a large common offset (the case where F(3×3, 4×4)'s transforms lose most).
    func testMatchesOneDNNDirectKernel() {
        for (index, c) in Self.cases.enumerated() {
            for offset: Float in [0, 3] {
                let x = DNNLKernelTests.random(c.input.reduce(1, *), seed: UInt64(500 + index)).map { $0 + offset }
                let gy = DNNLKernelTests.random(c.output.reduce(1, *), seed: UInt64(600 + index))
                var direct = [Float](repeating: .nan, count: c.weight.reduce(1, *))
                direct.withUnsafeMutableBufferPointer { gw in
                    DNNL.convolutionBackwardWeights(input: x, inputShape: c.input, gradOutput: gy, outputShape: c.output,
                                                    gradWeight: gw.baseAddress!, weightShape: c.weight, gradBias: nil,
                                                    geometry: c.geometry)
                }
                XCTAssertLessThan(DNNLKernelTests.relativeError(Self.weightGradient(c, x: x, gy: gy), direct), 2e-5,
                                  "\(c.name), offset \(offset)")
            }
        }
    }

    /// Taken for these shapes on a CPU with AVX2 and without AVX-512 (nChw8c), not for stride 2,
    /// another padding, a 1×1 kernel or 3 input channels; never on other CPUs.
    func testThePathIsTakenWhereItApplies() {
        let applies = WinogradConvolution.isEnabled && DNNLKernelTests.activationChannelBlock == 8
        for c in Self.cases {
            let kernel = DNNL.backwardWeightsKernelName(input: c.input, weight: c.weight, geometry: c.geometry)
            XCTAssertEqual(kernel == WinogradWeightGradient.kernelName, applies, "\(c.name): \(kernel)")
        }
        let description = DNNL.implementationDescription()
        XCTAssertEqual(description.contains("bwd weights: \(WinogradWeightGradient.kernelName)"), applies, description)
        let others: [(input: [Int], weight: [Int], geometry: ConvolutionGeometry)] = [
            ([4, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(stride: 2, padding: 1)),
            ([4, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(stride: 1, padding: 0)),
            ([4, 32, 16, 16], [32, 32, 1, 1], ConvolutionGeometry(stride: 1, padding: 0)),
            ([4, 3, 16, 16], [32, 3, 3, 3], ConvolutionGeometry(stride: 1, padding: 1)),
        ]
        for other in others {
            let kernel = DNNL.backwardWeightsKernelName(input: other.input, weight: other.weight, geometry: other.geometry)
            XCTAssertNotEqual(kernel, WinogradWeightGradient.kernelName, "\(other)")
        }
    }

    /// The weight gradient of a loss through a convolution the path takes, and the second-order
    /// gradient an R1 penalty takes through it (the input gradient's own weight gradient), match
    /// finite differences.
    func testGradientsMatchFiniteDifferences() {
        let x = randomTensor([2, 8, 6, 5], seed: 71)
        let w = randomTensor([8, 8, 3, 3], seed: 72, scale: 0.3)
        assertGradientsMatchFiniteDifferences([w], epsilon: 1e-2, tolerance: 2e-2) { p in
            Tensor.conv2d(x, weight: p[0], padding: 1).softplus()
        }
        assertGradientsMatchFiniteDifferences([w], epsilon: 1e-2, tolerance: 2e-2) { p in
            let input = x.requiringGradient()
            let y = Tensor.conv2d(input, weight: p[0], padding: 1).softplus().sum()
            return gradients(of: y, with: [input], createGraph: true)[0].square().sum().reshaped(to: [1])
        }
    }
}
