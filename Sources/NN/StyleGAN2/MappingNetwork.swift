import Tensor

/// StyleGAN2's mapping network as the fingerprint embedding (spec §3.1): dense layers with
/// learning-rate multiplier 0.01 and leaky ReLU·√2 after every layer, on an unnormalised input.
public final class MappingNetwork: Module, UnaryLayer {
    public let layers: [EqualizedLinear]

    /// - Parameters:
    ///   - inputCount: input size (fingerprint bits).
    ///   - width: hidden width.
    ///   - outputCount: embedding size `w`.
    ///   - depth: number of dense layers (≥ 1).
    public init(inputCount: Int, width: Int, outputCount: Int, depth: Int, learningRateMultiplier: Float = 0.01,
                generator: inout SeededGenerator) {
        precondition(depth >= 1, "mapping depth \(depth) must be at least 1")
        var layers: [EqualizedLinear] = []
        for i in 0..<depth {
            layers.append(EqualizedLinear(inputCount: i == 0 ? inputCount : width,
                                          outputCount: i == depth - 1 ? outputCount : width,
                                          learningRateMultiplier: learningRateMultiplier, activation: .leakyReLU,
                                          generator: &generator))
        }
        self.layers = layers
        super.init()
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { layers.reduce(input) { $1($0) } }
}
