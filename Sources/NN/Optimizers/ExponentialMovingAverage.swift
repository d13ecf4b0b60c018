import Foundation
import Tensor

/// An exponential moving average of a module's weights kept in a second module of the same
/// structure (StyleGAN2's `Gs`): θ̄ ← β·θ̄ + (1 − β)·θ for trainable parameters; other
/// parameters (noise maps) are copied.
public struct ExponentialMovingAverage {
    /// The weight of the old average per update.
    public var decay: Float

    public init(decay: Float) {
        precondition((0...1).contains(decay), "EMA decay \(decay) must be in [0, 1]")
        self.decay = decay
    }

    /// StyleGAN2's decay for a half-life in images: β = 0.5^(batch / halfLife).
    public init(halfLifeImages: Double, batchSize: Int) {
        self.init(decay: Float(pow(0.5, Double(batchSize) / halfLifeImages)))
    }

    /// Moves `average` toward `model`; both must have the same parameter keys and shapes.
    public func update(_ average: Module, toward model: Module) {
        let source = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.key, $0.parameter) })
        let beta = decay
        for (key, target) in average.namedParameters() {
            guard let parameter = source[key], parameter.shape == target.shape else {
                preconditionFailure("EMA: model has no parameter \(key) of shape \(target.shape)")
            }
            let value = parameter.value
            value.withUnsafeBufferPointer { theta in
                target.update { avg in
                    if parameter.isTrainable {
                        for i in 0..<avg.count { avg[i] = beta * avg[i] + (1 - beta) * theta[i] }
                    } else {
                        for i in 0..<avg.count { avg[i] = theta[i] }
                    }
                }
            }
        }
    }
}
