import XCTest
import Tensor
import NN

/// Finite-difference check of a module's function with respect to its inputs and parameters:
/// the parameters' current values are the evaluation point, perturbed in place one element at a
/// time (and restored).
func assertModuleGradientsMatchFiniteDifferences(
    inputs: [Tensor], parameters: [Parameter], epsilon: Float = 1e-2, tolerance: Float = 2e-2, seed: UInt64 = 7,
    file: StaticString = #filePath, line: UInt = #line, _ function: ([Tensor]) -> Tensor
) {
    let leaves = inputs.map { $0.requiringGradient() }
    let output = function(leaves)
    var generator = SeededGenerator(seed: seed)
    let weights = Tensor.normal(output.shape, using: &generator)
    let targets = leaves + parameters.map(\.value)
    let analytic = gradients(of: (output * weights).sum(), with: targets)
    func objective(_ values: [Tensor]) -> Double {
        zip(function(values).scalars, weights.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    var worst: (error: Float, target: Int, index: Int, analytic: Float, numeric: Float) = (0, -1, -1, 0, 0)
    for target in 0..<targets.count {
        for j in 0..<targets[target].count {
            var values = [0.0, 0.0]
            for (k, sign) in [Float(1), -1].enumerated() {
                if target < inputs.count {
                    var shifted = inputs
                    shifted[target].withUnsafeMutableBufferPointer { $0[j] += sign * epsilon }
                    values[k] = objective(shifted)
                } else {
                    let parameter = parameters[target - inputs.count]
                    let original = parameter.value
                    var shifted = original
                    shifted.withUnsafeMutableBufferPointer { $0[j] += sign * epsilon }
                    parameter.value = shifted
                    values[k] = objective(inputs)
                    parameter.value = original
                }
            }
            let numeric = Float((values[0] - values[1]) / Double(2 * epsilon))
            let value = analytic[target].scalars[j]
            let error = abs(value - numeric) / max(1, abs(numeric))
            if !(error <= worst.error) { worst = (error, target, j, value, numeric) }
        }
    }
    XCTAssertLessThanOrEqual(worst.error, tolerance,
        "worst gradient mismatch at target \(worst.target)[\(worst.index)]: autograd \(worst.analytic), finite difference \(worst.numeric)",
        file: file, line: line)
}
