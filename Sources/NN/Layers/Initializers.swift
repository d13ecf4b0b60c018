import Tensor

/// Weight initialisations, each drawing from an explicit seeded generator.
public enum Initializer {
    /// PyTorch's default for `Linear` and `Conv2d` weights and biases: U(−1/√fanIn, 1/√fanIn)
    /// (Kaiming-uniform with a = √5 gives the same bound for weights).
    public static func pytorchDefault(_ shape: [Int], fanIn: Int, generator: inout SeededGenerator) -> Tensor {
        let bound = 1 / Float(fanIn).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, using: &generator)
    }

    /// Normal with the given standard deviation (StyleGAN2's raw weights: N(0, 1/lrmul²)).
    public static func normal(_ shape: [Int], standardDeviation: Float = 1, generator: inout SeededGenerator) -> Tensor {
        Tensor.normal(shape, standardDeviation: standardDeviation, using: &generator)
    }
}
