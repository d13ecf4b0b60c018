import XCTest
@testable import Tensor

/// Forward values, value semantics and seeded randomness.
final class TensorBasicsTests: XCTestCase {
    func testCopyOnWriteKeepsValueSemantics() {
        let a = Tensor([1, 2, 3])
        var b = a
        b.withUnsafeMutableBufferPointer { $0[0] = 10 }
        XCTAssertEqual(a.scalars, [1, 2, 3])
        XCTAssertEqual(b.scalars, [10, 2, 3])
    }

    func testBroadcastingArithmetic() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual((x + Tensor([10, 20, 30])).scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((x * Tensor(shape: [2, 1], scalars: [2, -1])).scalars, [2, 4, 6, -4, -5, -6])
        XCTAssertEqual((1 - x).scalars, [0, -1, -2, -3, -4, -5])
        let col = Tensor(shape: [3, 1], scalars: [1, 2, 3]), row = Tensor(shape: [1, 2], scalars: [10, 20])
        XCTAssertEqual((col + row).shape, [3, 2])
        XCTAssertEqual((col + row).scalars, [11, 21, 12, 22, 13, 23])
    }

    func testLargeBroadcastUsesParallelPathCorrectly() {
        var generator = SeededGenerator(seed: 3)
        let x = Tensor.normal([8, 16, 32, 32], using: &generator)
        let b = Tensor.normal([1, 16, 1, 1], using: &generator)
        let y = x + b
        let xs = x.scalars, bs = b.scalars, ys = y.scalars
        for i in stride(from: 0, to: xs.count, by: 997) {
            XCTAssertEqual(ys[i], xs[i] + bs[(i / 1024) % 16])
        }
    }

    func testReductionsAndShapes() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 3, 4, 2, 6])
        XCTAssertEqual(x.sum().scalar, 21)
        XCTAssertEqual(x.sum(alongAxes: [0]).scalars, [5, 7, 9])
        XCTAssertEqual(x.sum(alongAxes: [1], keepingDimensions: true).shape, [2, 1])
        XCTAssertEqual(x.max(alongAxes: [1]).scalars, [5, 6])
        XCTAssertEqual(x.min(alongAxes: [0]).scalars, [1, 2, 3])
        XCTAssertEqual(x.mean().scalar, 3.5)
        XCTAssertEqual(x.variance(alongAxes: [1]).scalars[0], 8.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(x.variance(alongAxes: [1], unbiased: true).scalars[0], 4, accuracy: 1e-6)
        XCTAssertEqual(x.transposed().scalars, [1, 4, 5, 2, 3, 6])
        XCTAssertEqual(x.sliced(1..<3, alongAxis: 1).scalars, [5, 3, 2, 6])
        XCTAssertEqual(Tensor.concatenate([x, x.sliced(0..<1, alongAxis: 1)], alongAxis: 1).scalars,
                       [1, 5, 3, 1, 4, 2, 6, 4])
        XCTAssertEqual(x.padded([(0, 0), (1, 0)], value: -1).scalars, [-1, 1, 5, 3, -1, 4, 2, 6])
        XCTAssertEqual(x.reshaped(to: [3, -1]).shape, [3, 2])
        XCTAssertEqual(x.reversed(alongAxes: [1]).scalars, [3, 5, 1, 6, 2, 4])
        XCTAssertEqual(x.reversed(alongAxes: [0, 1]).scalars, [6, 2, 4, 3, 5, 1])
    }

    func testStableLogSumExpAndBCE() {
        let x = Tensor(shape: [1, 3], scalars: [1000, 1000, -1000])
        XCTAssertEqual(x.logSumExp(alongAxis: 1).scalar, 1000 + Foundationless.log(2), accuracy: 1e-3)
        let bce = Tensor.binaryCrossEntropyWithLogits(logits: Tensor([100, -100]), targets: Tensor([0, 0]))
        XCTAssertEqual(bce.scalar, 50, accuracy: 1e-4)
        XCTAssertTrue(Tensor([-200, 0, 200]).sigmoid().isAlmostEqual(to: Tensor([0, 0.5, 1])))
        XCTAssertEqual(Tensor([-200, 200]).softplus().scalars, [0, 200])
    }

    func testMatmulValues() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(Tensor.matmul(a, b).scalars, [58, 64, 139, 154])
        XCTAssertEqual(Tensor.matmul(a, a, transposeB: true).scalars, [14, 32, 32, 77])
    }

    func testSeededRandomnessIsDeterministicAndWellDistributed() {
        var g1 = SeededGenerator(seed: 42), g2 = SeededGenerator(seed: 42), g3 = SeededGenerator(seed: 43)
        let a = Tensor.normal([10_000], using: &g1)
        XCTAssertEqual(a.scalars, Tensor.normal([10_000], using: &g2).scalars)
        XCTAssertNotEqual(a.scalars, Tensor.normal([10_000], using: &g3).scalars)
        XCTAssertEqual(a.mean().scalar, 0, accuracy: 0.03)
        XCTAssertEqual(a.variance().scalar, 1, accuracy: 0.05)
        let u = Tensor.uniform([10_000], low: -1, high: 3, using: &g1)
        XCTAssertEqual(u.mean().scalar, 1, accuracy: 0.05)
        XCTAssertGreaterThanOrEqual(u.min().scalar, -1)
        XCTAssertLessThan(u.max().scalar, 3)
        let bits = Tensor.bernoulli([10_000], probability: 0.3, using: &g1)
        XCTAssertEqual(bits.mean().scalar, 0.3, accuracy: 0.02)
        XCTAssertTrue(bits.scalars.allSatisfy { $0 == 0 || $0 == 1 })
        // A restored state continues the same stream.
        var restored = SeededGenerator(stateWords: g1.stateWords)!
        XCTAssertEqual(restored.next(), g1.next())
        XCTAssertNil(SeededGenerator(stateWords: [0, 0, 0, 0]))
    }
}

/// Reductions large enough to take the multi-threaded path, against Double-precision sums.
final class LargeReductionTests: XCTestCase {
    func testParallelReductionsMatchDoubleSums() {
        var generator = SeededGenerator(seed: 8)
        let x = Tensor.normal([16, 8, 64, 64], using: &generator)
        let values = x.scalars
        XCTAssertEqual(Double(x.sum().scalar), values.reduce(0.0) { $0 + Double($1) }, accuracy: 0.05)
        XCTAssertEqual(x.max().scalar, values.max()!)
        XCTAssertEqual(x.min().scalar, values.min()!)
        // Per channel over batch and space (a bias gradient): rows of different outputs interleave.
        let perChannel = x.sum(alongAxes: [0, 2, 3]).scalars
        for c in 0..<8 {
            var expected = 0.0
            for n in 0..<16 { for i in 0..<4096 { expected += Double(values[(n * 8 + c) * 4096 + i]) } }
            XCTAssertEqual(Double(perChannel[c]), expected, accuracy: 0.01)
        }
        // Over the batch only: every row accumulates into a distinct output row.
        let overBatch = x.sum(alongAxes: [0]).scalars
        for i in stride(from: 0, to: 8 * 4096, by: 331) {
            let expected = (0..<16).reduce(0.0) { $0 + Double(values[$1 * 8 * 4096 + i]) }
            XCTAssertEqual(Double(overBatch[i]), expected, accuracy: 1e-4)
        }
    }
}
