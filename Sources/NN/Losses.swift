import Tensor

/// Mean squared error.
public func mseLoss(predictions: Tensor, targets: Tensor) -> Tensor {
    precondition(predictions.shape == targets.shape, "mseLoss: \(predictions.shape) vs \(targets.shape)")
    return (predictions - targets).square().mean()
}

/// Mean absolute error.
public func l1Loss(predictions: Tensor, targets: Tensor) -> Tensor {
    precondition(predictions.shape == targets.shape, "l1Loss: \(predictions.shape) vs \(targets.shape)")
    return (predictions - targets).abs().mean()
}

/// Mean binary cross-entropy of logits against targets in [0, 1], computed stably.
public func binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor) -> Tensor {
    Tensor.binaryCrossEntropyWithLogits(logits: logits, targets: targets)
}

/// Mean cross-entropy of logits `[N, K]` against class indices.
public func crossEntropy(logits: Tensor, labels: [Int]) -> Tensor {
    Tensor.crossEntropy(logits: logits, labels: labels)
}

/// The non-saturating logistic generator loss: mean softplus(−D(G(z))).
public func generatorLoss(fakeLogits: Tensor) -> Tensor {
    (-fakeLogits).softplus().mean()
}

/// The logistic discriminator loss: mean softplus(D(fake)) + mean softplus(−D(real)).
public func discriminatorLoss(realLogits: Tensor, fakeLogits: Tensor) -> Tensor {
    fakeLogits.softplus().mean() + (-realLogits).softplus().mean()
}

/// The R1 penalty (γ/2)·E‖∇ₓD(x)‖² on real images, differentiable with respect to D's weights.
///
/// - Parameters:
///   - reals: real images; gradients are taken with respect to them.
///   - gamma: the penalty weight γ.
///   - discriminator: maps images to logits `[N, 1]` (or `[N]`).
/// - Returns: the penalty (a scalar) and the logits of the reals.
public func r1Penalty(reals: Tensor, gamma: Float, discriminator: (Tensor) -> Tensor) -> (penalty: Tensor, logits: Tensor) {
    let x = reals.detached().requiringGradient()
    let logits = discriminator(x)
    let gradient = gradients(of: logits.sum(), with: [x], createGraph: true)[0]
    let squaredNorm = gradient.square().sum(alongAxes: Array(1..<gradient.rank))
    return (squaredNorm.mean() * (gamma / 2), logits)
}

/// StyleGAN2's path-length penalty with respect to per-layer styles (scalable-fingerprints spec §6.3).
///
/// The image is projected on a random direction `y ~ N(0, 1)/√(H·W)`; the length is
/// `√(mean over style slots of Σ_dims g²)` per sample for `g = ∂Σ(image·y)/∂styles`.
///
/// - Parameters:
///   - images: generated images `[N, C, H, W]`, computed from `styles`.
///   - styles: the style tensors (one per slot, each `[N, D]`) the images depend on.
///   - targetLength: the running mean `a` of the lengths.
/// - Returns: the penalty mean((length − a)²), differentiable with respect to the generator's
///   weights, and the batch mean of the lengths (to update `a`).
public func pathLengthPenalty(images: Tensor, styles: [Tensor], targetLength: Float,
                              generator: inout SeededGenerator) -> (penalty: Tensor, meanLength: Float) {
    let (h, w) = (images.shape[2], images.shape[3])
    let direction = Tensor.normal(images.shape, using: &generator) / Float(h * w).squareRoot()
    let grads = gradients(of: (images * direction).sum(), with: styles, createGraph: true)
    let squaredPerSlot = grads.map { $0.square().sum(alongAxes: [1]) }           // each [N]
    let meanSquared = squaredPerSlot.dropFirst().reduce(squaredPerSlot[0], +) / Float(grads.count)
    let lengths = meanSquared.sqrt()
    let penalty = (lengths - targetLength).square().mean()
    return (penalty, lengths.detached().mean().scalar)
}
