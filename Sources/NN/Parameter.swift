import Tensor

/// A learnable tensor of a `Module` (or a stored one, a buffer), found by reflection.
///
/// A trainable parameter's value is a leaf of the autograd graph, so after `backward()` its
/// `gradient` holds dL/dθ. Optimisers update `value` in place, which keeps the leaf. A buffer
/// (state such as StyleGAN2's fixed noise maps, created with `trainable: false`) and a frozen
/// parameter are saved in checkpoints like any other but receive no gradient and no update;
/// freezing and unfreezing never touch buffers.
public final class Parameter {
    private var stored: Tensor

    /// Whether optimisers update this parameter and gradients flow into it.
    public private(set) var isTrainable: Bool
    /// Whether this is a buffer: stored state that is never trained.
    public let isBuffer: Bool

    /// Creates a parameter holding `value`; `trainable: false` makes a buffer.
    public init(_ value: Tensor, trainable: Bool = true) {
        isTrainable = trainable
        isBuffer = !trainable
        stored = trainable ? value.detached().requiringGradient() : value.detached()
    }

    /// The current value (a gradient leaf when trainable). Assigning replaces the leaf and
    /// forgets any accumulated gradient.
    public var value: Tensor {
        get { stored }
        set {
            precondition(newValue.shape == stored.shape,
                         "parameter of shape \(stored.shape) assigned a value of shape \(newValue.shape)")
            stored = isTrainable ? newValue.detached().requiringGradient() : newValue.detached()
        }
    }

    /// The shape of the value.
    public var shape: [Int] { stored.shape }

    /// The gradient accumulated by `backward()`, if any.
    public var gradient: Tensor? { stored.gradient }

    /// Forgets the accumulated gradient.
    public func clearGradient() { stored.clearGradient() }

    /// Turns gradient tracking on or off (freezing keeps the value); buffers stay untrainable.
    public func setTrainable(_ trainable: Bool) {
        guard trainable != isTrainable, !isBuffer else { return }
        isTrainable = trainable
        stored = trainable ? stored.detached().requiringGradient() : stored.detached()
    }

    /// Updates the value in place without recording (optimiser steps); the leaf and its
    /// identity are kept, the accumulated gradient is not touched.
    public func update(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        stored.withUnsafeMutableBufferPointer(body)
    }
}
