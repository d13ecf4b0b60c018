import XCTest
import TestSupport
@testable import Tensor

/// The autograd engine itself: accumulation, graph pruning, no-grad scopes and double backward.
final class AutogradTests: XCTestCase {
    func testBackwardAccumulatesIntoLeaves() {
        let x = Tensor([1, 2, 3]).requiringGradient()
        (x * x).sum().backward()
        XCTAssertEqual(x.gradient?.scalars, [2, 4, 6])
        (x * 3).sum().backward()
        XCTAssertEqual(x.gradient?.scalars, [5, 7, 9], "a second backward adds to the first")
        x.clearGradient()
        XCTAssertNil(x.gradient)
    }

    func testBackwardFreesSavedValuesAsItGoesUnlessTheGraphIsKept() {
        var random = SeededGenerator(seed: 3)
        let x = Tensor.normal([1000], using: &random).requiringGradient()
        weak var saved: TensorStorage?
        func loss() -> Tensor {
            let h = x.exp()              // saved by exp (its output) and by the product (its inputs)
            saved = h.storage
            return (h * h).sum()
        }
        let first = loss()
        XCTAssertNotNil(saved, "the graph keeps h for the backward pass")
        first.backward()
        XCTAssertNil(saved, "the backward pass freed h although the loss is still alive")
        XCTAssertTrue(x.gradient!.isAlmostEqual(to: 2 * (2 * x).exp(), tolerance: 1e-5))

        let second = loss()
        do {
            let g = gradients(of: second, with: [x], createGraph: true)[0]
            XCTAssertNotNil(saved, "with createGraph the graph keeps its values (it is differentiated again)")
            XCTAssertTrue(g.isAlmostEqual(to: x.gradient!, tolerance: 1e-6))
        }
        XCTAssertTrue(gradients(of: second, with: [x])[0].isAlmostEqual(to: x.gradient!, tolerance: 1e-6),
                      "the kept graph goes through a second pass")
        XCTAssertNil(saved, "a pass without createGraph frees them")
    }

    func testSharedSubexpressionCollectsAllPaths() {
        let x = Tensor([0.5, -1.5]).requiringGradient()
        let y = x.tanh()
        let z = (y * y + y).sum()
        let g = gradients(of: z, with: [x])[0]
        let expected = x.scalars.map { v -> Float in
            let t = Foundationless.tanh(v)
            return (2 * t + 1) * (1 - t * t)
        }
        XCTAssertTrue(g.isAlmostEqual(to: Tensor(expected), tolerance: 1e-6), "\(g)")
    }

    func testGradientsWithRespectToIntermediateTensor() {
        let x = Tensor([1, 2]).requiringGradient()
        let h = x * 2
        let loss = (h * h).sum()
        let (gh, gx) = { let g = gradients(of: loss, with: [h, x]); return (g[0], g[1]) }()
        XCTAssertEqual(gh.scalars, [4, 8])
        XCTAssertEqual(gx.scalars, [8, 16])
        XCTAssertNil(x.gradient, "gradients(of:with:) leaves leaf gradients alone")
    }

    func testNoGradientScopeRecordsNothing() {
        let x = Tensor([1, 2]).requiringGradient()
        let y = withoutGradients { (x * x).exp() }
        XCTAssertFalse(y.requiresGradient)
        XCTAssertTrue((x * x).requiresGradient)
        XCTAssertFalse(x.detached().requiresGradient)
    }

    func testUnrelatedInputGetsZeroGradient() {
        let x = Tensor([1, 2]).requiringGradient(), unrelated = Tensor([3]).requiringGradient()
        let g = gradients(of: x.sum(), with: [x, unrelated])
        XCTAssertEqual(g[1].scalars, [0])
    }

    func testSecondDerivativeOfScalarFunctions() {
        // d²/dx² of x³ is 6x; of sigmoid it is s(1−s)(1−2s).
        let x = Tensor([0.3, -0.7, 1.2]).requiringGradient()
        let first = gradients(of: x.pow(3).sum(), with: [x], createGraph: true)[0]
        let second = gradients(of: first.sum(), with: [x])[0]
        XCTAssertTrue(second.isAlmostEqual(to: Tensor([1.8, -4.2, 7.2]), tolerance: 1e-5), "\(second)")
        let s1 = gradients(of: x.sigmoid().sum(), with: [x], createGraph: true)[0]
        let s2 = gradients(of: s1.sum(), with: [x])[0]
        let expected = x.scalars.map { v -> Float in
            let s = Foundationless.sigmoid(v)
            return s * (1 - s) * (1 - 2 * s)
        }
        XCTAssertTrue(s2.isAlmostEqual(to: Tensor(expected), tolerance: 1e-5), "\(s2)")
    }

    /// The R1-style gradient penalty ‖∇ₓD(x)‖² differentiated with respect to D's weights,
    /// checked against finite differences of the penalty.
    func testGradientPenaltyDoubleBackward() {
        let x = randomTensor([2, 3, 6, 6], seed: 41)
        let w1 = randomTensor([4, 3, 3, 3], seed: 42, scale: 0.4)
        let b1 = randomTensor([4], seed: 43, scale: 0.1)
        let w2 = randomTensor([1, 4, 3, 3], seed: 44, scale: 0.4)
        func penalty(_ p: [Tensor]) -> Tensor {
            let input = x.requiringGradient()
            let h = Tensor.conv2d(input, weight: p[0], bias: p[1], padding: 1).softplus()
            let d = Tensor.conv2d(h, weight: p[2], stride: 2, padding: 1).upsampledNearest(scale: 2)
                .resizedBilinear(to: Size2D(5, 7)).sum()
            let gx = gradients(of: d, with: [input], createGraph: true)[0]
            return gx.square().sum().reshaped(to: [1])
        }
        assertGradientsMatchFiniteDifferences([w1, b1, w2], epsilon: 1e-2, tolerance: 2e-2) { penalty($0) }
    }
}
