import Tensor

/// An optimiser: a per-parameter update rule whose state is keyed by the parameters' dotted paths,
/// so it can be saved beside the weights and restored exactly.
public protocol Optimizer: AnyObject {
    /// Applies one update from the parameters' accumulated gradients and clears them.
    ///
    /// - Returns: `false` when the step was skipped because a gradient held NaN or ±∞ (the
    ///   parameters are then unchanged, the gradients cleared).
    @discardableResult func step() -> Bool

    /// The optimiser's state (moments, step count) as tensors keyed by dotted paths.
    func stateDictionary() -> [String: Tensor]

    /// Restores state saved by `stateDictionary()`; throws if a key is missing or mis-shaped.
    func loadStateDictionary(_ state: [String: Tensor]) throws(ParameterLoadError)
}

extension Optimizer {
    /// Whether every gradient of `parameters` is finite.
    static func gradientsAreFinite(_ parameters: [(key: String, parameter: Parameter)]) -> Bool {
        for (_, parameter) in parameters {
            guard let g = parameter.gradient else { continue }
            let finite = g.withUnsafeBufferPointer { buffer in
                var sum: Float = 0
                for v in buffer { sum += v * 0 }   // NaN·0 and ∞·0 are NaN; finite·0 is 0
                return sum == 0
            }
            if !finite { return false }
        }
        return true
    }

    /// Validates and reads a saved tensor of the expected shape.
    static func read(_ state: [String: Tensor], _ key: String, shape: [Int], into error: inout ParameterLoadError) -> Tensor? {
        guard let value = state[key] else {
            error.missing.append(key)
            return nil
        }
        guard value.shape == shape else {
            error.mismatched.append(.init(key: key, expected: shape, found: value.shape))
            return nil
        }
        return value
    }
}
