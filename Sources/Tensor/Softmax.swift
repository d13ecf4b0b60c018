/// Log-sum-exp, softmax and the two classification losses, all numerically stable.
extension Tensor {
    /// log Σ exp(x) along `axis`, shifted by the (constant) maximum so that it never overflows.
    public func logSumExp(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let axis = normalizedAxis(axis)
        let shift = detached().max(alongAxes: [axis], keepingDimensions: true).mapKernel { $0.isFinite ? $0 : 0 }
        let result = (self - shift).exp().sum(alongAxes: [axis], keepingDimensions: true).log() + shift
        return keepingDimensions ? result : result.reshaped(to: shape.enumerated().filter { $0.offset != axis }.map(\.element))
    }

    /// log softmax along `axis`: x − logSumExp(x).
    public func logSoftmax(alongAxis axis: Int) -> Tensor {
        self - logSumExp(alongAxis: axis, keepingDimensions: true)
    }

    /// Softmax along `axis`.
    public func softmax(alongAxis axis: Int) -> Tensor { logSoftmax(alongAxis: axis).exp() }

    /// Mean binary cross-entropy of `logits` against `targets` in [0, 1] (PyTorch's
    /// `binary_cross_entropy_with_logits`): max(x, 0) − x·z + log(1 + e^−|x|), averaged.
    /// Differentiable with respect to both arguments.
    public static func binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor) -> Tensor {
        precondition(logits.shape == targets.shape, "binary cross-entropy: logits \(logits.shape) vs targets \(targets.shape)")
        let n = Float(Swift.max(logits.count, 1))
        let px = logits.storage.pointer, pz = targets.storage.pointer
        var total = 0.0
        for i in 0..<logits.count {
            let x = px[i]
            total += Double(Swift.max(x, 0) - x * pz[i] + Foundationless.log1p(Foundationless.exp(-Swift.abs(x))))
        }
        let output = Tensor(Float(total / Double(n)))
        return record("binaryCrossEntropyWithLogits", output: output, inputs: [logits, targets]) { g, _, needed in
            let scale = g / n
            return [needed[0] ? (logits.sigmoid() - targets) * scale : nil,
                    needed[1] ? -logits * scale : nil]
        }
    }

    /// Mean cross-entropy of `logits` `[N, K]` against class indices `labels` (each in `0..<K`).
    public static func crossEntropy(logits: Tensor, labels: [Int]) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "cross-entropy: logits \(logits.shape) for \(labels.count) labels")
        let classes = logits.shape[1]
        let oneHot = Tensor(shape: logits.shape) { out in
            out.initialize(repeating: 0)
            for (row, label) in labels.enumerated() {
                precondition((0..<classes).contains(label), "cross-entropy label \(label) outside 0..<\(classes)")
                out[row * classes + label] = 1
            }
        }
        return -(logits.logSoftmax(alongAxis: 1) * oneHot).sum() / Float(Swift.max(labels.count, 1))
    }
}
