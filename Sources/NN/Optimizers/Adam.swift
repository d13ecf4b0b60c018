import Foundation
import Tensor

/// Adam (Kingma & Ba) with PyTorch's update rule, β1 = 0 allowed, and per-parameter learning-rate
/// multipliers. Moments are keyed `firstMoment.<key>` / `secondMoment.<key>`, the step count `step`.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    /// Multipliers of the learning rate by parameter key prefix (longest prefix wins).
    public var learningRateMultipliers: [String: Float]
    /// Number of updates applied so far.
    public private(set) var stepCount = 0

    private let parameters: [(key: String, parameter: Parameter)]
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]

    /// An optimiser over the trainable parameters of `module`.
    public convenience init(for module: Module, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-8, learningRateMultipliers: [String: Float] = [:]) {
        self.init(parameters: module.trainableParameters(), learningRate: learningRate, beta1: beta1, beta2: beta2,
                  epsilon: epsilon, learningRateMultipliers: learningRateMultipliers)
    }

    /// An optimiser over explicit parameters (for example those of several modules, with prefixed keys).
    public init(parameters: [(key: String, parameter: Parameter)], learningRate: Float, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8, learningRateMultipliers: [String: Float] = [:]) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam betas \(beta1), \(beta2) must be in [0, 1)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.learningRateMultipliers = learningRateMultipliers
        firstMoments = parameters.map { Tensor.zeros($0.parameter.shape) }
        secondMoments = parameters.map { Tensor.zeros($0.parameter.shape) }
    }

    private func multiplier(for key: String) -> Float {
        learningRateMultipliers
            .filter { key == $0.key || key.hasPrefix($0.key + ".") || $0.key.isEmpty }
            .max { $0.key.count < $1.key.count }?.value ?? 1
    }

    @discardableResult
    public func step() -> Bool {
        defer { for (_, parameter) in parameters { parameter.clearGradient() } }
        guard Self.gradientsAreFinite(parameters) else { return false }
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - powf(beta1, t), correction2 = 1 - powf(beta2, t)
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for (index, (key, parameter)) in parameters.enumerated() {
            guard let gradient = parameter.gradient else { continue }
            let rate = learningRate * multiplier(for: key) / correction1
            let secondScale = 1 / correction2.squareRoot()
            firstMoments[index].withUnsafeMutableBufferPointer { m in
                secondMoments[index].withUnsafeMutableBufferPointer { v in
                    gradient.withUnsafeBufferPointer { g in
                        parameter.update { theta in
                            for i in 0..<theta.count {
                                m[i] = b1 * m[i] + (1 - b1) * g[i]
                                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                                theta[i] -= rate * m[i] / (v[i].squareRoot() * secondScale + eps)
                            }
                        }
                    }
                }
            }
        }
        return true
    }

    public func stateDictionary() -> [String: Tensor] {
        var state: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        for (index, (key, _)) in parameters.enumerated() {
            state["firstMoment." + key] = firstMoments[index]
            state["secondMoment." + key] = secondMoments[index]
        }
        return state
    }

    public func loadStateDictionary(_ state: [String: Tensor]) throws(ParameterLoadError) {
        var error = ParameterLoadError()
        let step = Self.read(state, "step", shape: [], into: &error)
        var first: [Tensor] = [], second: [Tensor] = []
        for (key, parameter) in parameters {
            if let m = Self.read(state, "firstMoment." + key, shape: parameter.shape, into: &error) { first.append(m) }
            if let v = Self.read(state, "secondMoment." + key, shape: parameter.shape, into: &error) { second.append(v) }
        }
        guard error.isEmpty, let step else { throw error }
        stepCount = Int(step.scalar)
        firstMoments = first
        secondMoments = second
    }
}
