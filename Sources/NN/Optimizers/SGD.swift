import Tensor

/// Stochastic gradient descent with optional momentum (PyTorch's rule: v ← μv + g, θ ← θ − lr·v).
/// Velocities are keyed `velocity.<key>`.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    private let parameters: [(key: String, parameter: Parameter)]
    private var velocities: [Tensor]

    public convenience init(for module: Module, learningRate: Float, momentum: Float = 0) {
        self.init(parameters: module.trainableParameters(), learningRate: learningRate, momentum: momentum)
    }

    public init(parameters: [(key: String, parameter: Parameter)], learningRate: Float, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        velocities = parameters.map { Tensor.zeros($0.parameter.shape) }
    }

    @discardableResult
    public func step() -> Bool {
        defer { for (_, parameter) in parameters { parameter.clearGradient() } }
        guard Self.gradientsAreFinite(parameters) else { return false }
        let (rate, mu) = (learningRate, momentum)
        for (index, (_, parameter)) in parameters.enumerated() {
            guard let gradient = parameter.gradient else { continue }
            velocities[index].withUnsafeMutableBufferPointer { v in
                gradient.withUnsafeBufferPointer { g in
                    parameter.update { theta in
                        for i in 0..<theta.count {
                            v[i] = mu * v[i] + g[i]
                            theta[i] -= rate * v[i]
                        }
                    }
                }
            }
        }
        return true
    }

    public func stateDictionary() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: zip(parameters, velocities).map { ("velocity." + $0.0.key, $0.1) })
    }

    public func loadStateDictionary(_ state: [String: Tensor]) throws(ParameterLoadError) {
        var error = ParameterLoadError()
        let loaded = parameters.compactMap { Self.read(state, "velocity." + $0.key, shape: $0.parameter.shape, into: &error) }
        guard error.isEmpty else { throw error }
        velocities = loaded
    }
}
