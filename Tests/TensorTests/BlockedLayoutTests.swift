import XCTest
import TestSupport
@testable import Tensor

/// Values kept in oneDNN's blocked layouts between layers (`TensorStorage`): results must be
/// exactly those of row-major inputs, and in-place mutation must never see a stale copy.
final class BlockedLayoutTests: XCTestCase {
    /// A row-major copy of `t`, with no blocked values attached.
    func plainCopy(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, scalars: t.scalars) }

    func testConvolutionChainStaysBlockedAndMatchesRowMajorInputs() {
        var random = SeededGenerator(seed: 1)
        let x = Tensor.normal([16, 32, 16, 16], using: &random)
        let w1 = Tensor.normal([32, 32, 3, 3], standardDeviation: 0.1, using: &random)
        let w2 = Tensor.normal([32, 32, 3, 3], standardDeviation: 0.1, using: &random)

        let y = Tensor.conv2d(x, weight: w1, padding: 1)
        XCTAssertFalse(y.storage.hasPlainValues, "a convolution's output stays in its layout")
        let r = (y.leakyReLU(negativeSlope: 0.2) * 1.5)
        XCTAssertFalse(r.storage.hasPlainValues, "element-wise functions of it stay in the layout")
        let z = Tensor.conv2d(r, weight: w2, padding: 1)

        let reference = Tensor.conv2d(plainCopy(plainCopy(y).leakyReLU(negativeSlope: 0.2) * 1.5), weight: w2, padding: 1)
        XCTAssertEqual(z.scalars, reference.scalars)
        XCTAssertTrue(z.storage.hasPlainValues, "reading the values fills the row-major buffer")
        // Binary functions of two blocked tensors of one layout, and with a scalar on the left.
        let a = Tensor.conv2d(x, weight: w1, padding: 1), b = Tensor.conv2d(x, weight: w2, padding: 1)
        let c = 2 - a * b
        XCTAssertFalse(c.storage.hasPlainValues)
        XCTAssertEqual(c.scalars, (2 - plainCopy(a) * plainCopy(b)).scalars)
    }

    func testBroadcastsAgainstRowMajorOperandsStayBlockedAndMatch() {
        var random = SeededGenerator(seed: 4)
        let x = Tensor.normal([4, 32, 8, 8], using: &random)
        let w = Tensor.normal([48, 32, 3, 3], standardDeviation: 0.1, using: &random)
        let reference = plainCopy(Tensor.conv2d(x, weight: w, padding: 1))
        let y = Tensor.conv2d(x, weight: w, padding: 1)             // [4, 48, 8, 8], blocked
        let perChannel = Tensor.normal([4, 48, 1, 1], using: &random)
        let channelBias = Tensor.normal([1, 48, 1, 1], using: &random)
        let perPixel = Tensor.normal([4, 1, 8, 8], using: &random)
        let cases: [(String, (Tensor) -> Tensor)] = [
            ("x * s[N,C,1,1]", { $0 * perChannel }), ("s[N,C,1,1] - x", { perChannel - $0 }),
            ("x + b[1,C,1,1]", { $0 + channelBias }), ("x + noise[N,1,H,W]", { $0 + perPixel }),
            ("noise[N,1,H,W] / x", { perPixel / $0 }), ("max(x, b)", { $0.maximum(channelBias) }),
        ]
        for (name, f) in cases {
            let result = f(y)
            XCTAssertFalse(result.storage.hasPlainValues, "\(name) stays in the layout")
            XCTAssertEqual(result.scalars, f(reference).scalars, name)
        }
    }

    func testReshapedBlockedValuesBroadcastByTheirNewShape() {
        var random = SeededGenerator(seed: 5)
        let x = Tensor.normal([2, 32, 4, 4], using: &random)
        let w = Tensor.normal([32, 32, 3, 3], standardDeviation: 0.1, using: &random)
        let reference = plainCopy(Tensor.conv2d(x, weight: w, padding: 1)).reshaped(to: [2, 16, 8, 4])
        let reshaped = Tensor.conv2d(x, weight: w, padding: 1).reshaped(to: [2, 16, 8, 4])
        let perChannel = Tensor.normal([1, 16, 1, 1], using: &random)
        XCTAssertEqual((reshaped * perChannel).scalars, (reference * perChannel).scalars)
        XCTAssertEqual(reshaped.leakyReLU().scalars, reference.leakyReLU().scalars)
    }

    func testGradientsThroughBlockedValuesEqualThoseOfRowMajorInputs() {
        var random = SeededGenerator(seed: 2)
        let x = Tensor.normal([16, 16, 8, 8], using: &random).requiringGradient()
        let w1 = Tensor.normal([16, 16, 3, 3], standardDeviation: 0.2, using: &random).requiringGradient()
        let w2 = Tensor.normal([16, 16, 3, 3], standardDeviation: 0.2, using: &random).requiringGradient()
        func loss(_ x: Tensor, _ w1: Tensor, _ w2: Tensor, detachBetween: Bool) -> Tensor {
            var h = Tensor.conv2d(x, weight: w1, padding: 1).relu()
            if detachBetween { h = h + Tensor.zeros(h.shape) }  // row-major from here on
            return Tensor.conv2d(h, weight: w2, padding: 1).square().mean()
        }
        let blocked = gradients(of: loss(x, w1, w2, detachBetween: false), with: [x, w1, w2])
        let plain = gradients(of: loss(x, w1, w2, detachBetween: true), with: [x, w1, w2])
        for (g, h) in zip(blocked, plain) { assertClose(g, h, tolerance: 1e-5, "gradient") }
    }

    func testInPlaceMutationDropsTheBlockedCopy() {
        var random = SeededGenerator(seed: 3)
        let x = Tensor.normal([16, 16, 8, 8], using: &random)
        var w = Tensor.normal([16, 16, 3, 3], using: &random)
        _ = Tensor.conv2d(x, weight: w, padding: 1)   // caches w's blocked copy
        w.withUnsafeMutableBufferPointer { $0[0] += 1; $0[100] -= 2 }
        XCTAssertEqual(Tensor.conv2d(x, weight: w, padding: 1).scalars, Tensor.conv2d(x, weight: plainCopy(w), padding: 1).scalars)

        // A blocked-only output mutated through a copy: the original keeps its values.
        let y = Tensor.conv2d(x, weight: w, padding: 1)
        let before = plainCopy(y)
        var changed = y
        changed.withUnsafeMutableBufferPointer { $0[5] = 42 }
        XCTAssertEqual(y.scalars, before.scalars)
        XCTAssertEqual(changed.scalars[5], 42)
        XCTAssertEqual(Tensor.conv2d(changed, weight: w, padding: 1).scalars,
                       Tensor.conv2d(plainCopy(changed), weight: w, padding: 1).scalars)
    }
}
