import XCTest
import Tensor

/// Finite-difference gradient checking, in the spirit of `torch.autograd.gradcheck`.
///
/// The scalar checked is `Σ f(inputs) ⊙ r` for a fixed random `r`, so every output element
/// contributes with its own weight. Central differences with step `epsilon` are compared with
/// the autograd gradient element by element: `|analytic − numeric| ≤ tolerance · max(1, |numeric|)`.
public func assertGradientsMatchFiniteDifferences(
    _ inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Float = 2e-2, seed: UInt64 = 7,
    file: StaticString = #filePath, line: UInt = #line,
    _ function: ([Tensor]) -> Tensor
) {
    let leaves = inputs.map { $0.requiringGradient() }
    let output = function(leaves)
    var generator = SeededGenerator(seed: seed)
    let weights = Tensor.normal(output.shape, using: &generator)
    let analytic = gradients(of: (output * weights).sum(), with: leaves)

    func objective(_ values: [Tensor]) -> Double {
        // Recording stays on: functions such as gradient penalties differentiate internally.
        let y = function(values)
        return zip(y.scalars, weights.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    var worst: (error: Float, input: Int, index: Int, analytic: Float, numeric: Float) = (0, -1, -1, 0, 0)
    for (i, input) in inputs.enumerated() {
        XCTAssertEqual(analytic[i].shape, input.shape, "gradient shape of input \(i)", file: file, line: line)
        for j in 0..<input.count {
            var plus = inputs, minus = inputs
            plus[i].withUnsafeMutableBufferPointer { $0[j] += epsilon }
            minus[i].withUnsafeMutableBufferPointer { $0[j] -= epsilon }
            let numeric = Float((objective(plus) - objective(minus)) / Double(2 * epsilon))
            let value = analytic[i].scalars[j]
            let error = abs(value - numeric) / max(1, abs(numeric))
            if !(error <= worst.error) { worst = (error, i, j, value, numeric) }
        }
    }
    XCTAssertLessThanOrEqual(worst.error, tolerance,
        "worst gradient mismatch at input \(worst.input)[\(worst.index)]: autograd \(worst.analytic), finite difference \(worst.numeric)",
        file: file, line: line)
}

/// Random test data: a seeded normal tensor, optionally pushed away from zero by `margin` so that
/// functions with a kink at zero (ReLU, |x|) are differentiable at every sample.
public func randomTensor(_ shape: [Int], seed: UInt64, margin: Float = 0, scale: Float = 1) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let t = Tensor.normal(shape, standardDeviation: scale, using: &generator)
    guard margin > 0 else { return t }
    return Tensor(shape: shape, scalars: t.scalars.map { $0 >= 0 ? $0 + margin : $0 - margin })
}
