#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise unary functions, each with its derivative written in differentiable operations.
extension Tensor {
    /// Applies `op` to every element (no autograd recording). Closures are called through a
    /// pointer in the loop; hot functions pass a `UnaryElementFunction` value instead.
    func mapKernel(_ op: @escaping (Float) -> Float) -> Tensor {
        mapKernel(UnaryClosure(body: op))
    }

    /// Applies `op` to every element (no autograd recording), specialised for `F`.
    func mapKernel<F: UnaryElementFunction>(_ op: F) -> Tensor {
        if let blocked = storage.denseBlockedOnly {
            // A convolution's output still in its layout: the result stays in it too.
            return Tensor.blockedLike(blocked, shape: shape) { po in
                let pa = blocked.pointer.assumingMemoryBound(to: Float.self)
                parallelRanges(count) { r in for i in r { po[i] = op(pa[i]) } }
            }
        }
        let pa = storage.pointer
        return Tensor(shape: shape) { out in
            let po = out.baseAddress!
            parallelRanges(out.count) { r in for i in r { po[i] = op(pa[i]) } }
        }
    }

    /// e^x.
    public func exp() -> Tensor {
        Tensor.record("exp", output: mapKernel { Foundationless.exp($0) }, inputs: [self], savesOutput: true) { g, y, _ in
            [g * y]
        }
    }

    /// Natural logarithm.
    public func log() -> Tensor {
        let x = self
        return Tensor.record("log", output: mapKernel { Foundationless.log($0) }, inputs: [x]) { g, _, _ in [g / x] }
    }

    /// Square root.
    public func sqrt() -> Tensor {
        Tensor.record("sqrt", output: mapKernel(SquareRoot()), inputs: [self], savesOutput: true) { g, y, _ in
            [g / (2 * y)]
        }
    }

    /// 1 / √x.
    public func rsqrt() -> Tensor {
        Tensor.record("rsqrt", output: mapKernel(ReciprocalSquareRoot()), inputs: [self], savesOutput: true) { g, y, _ in
            [g * (-0.5) * y * y * y]
        }
    }

    /// |x| (the derivative at 0 is taken as 0).
    public func abs() -> Tensor {
        let x = self
        return Tensor.record("abs", output: mapKernel { Swift.abs($0) }, inputs: [x]) { g, _, _ in [g * x.sign()] }
    }

    /// −1, 0 or 1 by the sign of each element (not differentiable).
    public func sign() -> Tensor { mapKernel { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } }

    /// x².
    public func square() -> Tensor {
        let x = self
        return Tensor.record("square", output: mapKernel(Square()), inputs: [x]) { g, _, _ in [g * 2 * x] }
    }

    /// x raised to a constant power.
    public func pow(_ exponent: Float) -> Tensor {
        let x = self
        return Tensor.record("pow", output: mapKernel { Foundationless.pow($0, exponent) }, inputs: [x]) { g, _, _ in
            [g * exponent * x.pow(exponent - 1)]
        }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor {
        Tensor.record("tanh", output: mapKernel { Foundationless.tanh($0) }, inputs: [self], savesOutput: true) { g, y, _ in
            [g * (1 - y * y)]
        }
    }

    /// Logistic sigmoid 1 / (1 + e^−x), computed without overflow.
    public func sigmoid() -> Tensor {
        Tensor.record("sigmoid", output: mapKernel(Foundationless.sigmoid), inputs: [self], savesOutput: true) { g, y, _ in
            [g * y * (1 - y)]
        }
    }

    /// max(x, 0).
    public func relu() -> Tensor {
        let x = self
        return Tensor.record("relu", output: mapKernel(ReLU()), inputs: [x]) { g, _, _ in
            [g.gated(byPositive: x, negativeSlope: 0)]
        }
    }

    /// x for x > 0, `negativeSlope`·x otherwise.
    public func leakyReLU(negativeSlope: Float = 0.2) -> Tensor {
        let x = self
        return Tensor.record("leakyReLU", output: mapKernel(LeakyReLU(negativeSlope: negativeSlope)), inputs: [x]) { g, _, _ in
            [g.gated(byPositive: x, negativeSlope: negativeSlope)]
        }
    }

    /// The backward of (leaky) ReLU in one pass: this gradient where `input` > 0, and
    /// `negativeSlope` times it elsewhere (same shapes). Linear in `self`, so it is differentiable
    /// with respect to it (double backward); `input` only selects, and gets no gradient.
    func gated(byPositive input: Tensor, negativeSlope: Float) -> Tensor {
        precondition(shape == input.shape, "gated(byPositive:): shapes \(shape) and \(input.shape) differ")
        let gate = PositiveGate(negativeSlope: negativeSlope)
        return Tensor.record("reluBackward", output: Tensor.broadcastKernel(self, input, "reluBackward", gate),
                             inputs: [self]) { h, _, _ in
            [h.gated(byPositive: input, negativeSlope: negativeSlope)]
        }
    }

    /// log(1 + e^x), computed stably as max(x, 0) + log1p(e^−|x|).
    public func softplus() -> Tensor {
        let x = self
        return Tensor.record("softplus", output: mapKernel(Foundationless.softplus), inputs: [x]) { g, _, _ in
            [g * x.sigmoid()]
        }
    }

    /// Each element limited to `lower...upper` (the gradient passes where the input is inside).
    public func clamped(to range: ClosedRange<Float>) -> Tensor {
        let x = self, lo = range.lowerBound, hi = range.upperBound
        return Tensor.record("clamp", output: mapKernel(Clamp(lower: lo, upper: hi)), inputs: [x]) { g, _, _ in
            [g * x.mapKernel { $0 >= lo && $0 <= hi ? 1 : 0 }]
        }
    }
}

/// Scalar maths from the C library, so that Tensor needs no Foundation.
enum Foundationless {
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }
    @inline(__always) static func softplus(_ x: Float) -> Float { Swift.max(x, 0) + log1pf(expf(-Swift.abs(x))) }
}
