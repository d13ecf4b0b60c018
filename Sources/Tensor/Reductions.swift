/// Sums, means, extrema and variances along axes.
extension Tensor {
    /// Reduces along `axes` with `combine`, starting from `initial` (no autograd recording).
    /// The result keeps the reduced axes with extent 1.
    private func reduceKernel(axes: [Int], initial: Float, _ combine: (Float, Float) -> Float) -> Tensor {
        let axes = Set(axes.map(normalizedAxis))
        let keptShape = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
        let src = storage.pointer
        return Tensor(shape: keptShape) { out in
            out.initialize(repeating: initial)
            let po = out.baseAddress!
            let loop = StridedLoop(shape: shape, strides: [contiguousStrides(shape), broadcastStrides(keptShape, to: shape)])
            let n = loop.rowLength, so = loop.rowStride(1)
            if so == 0 {
                // Each row reduces to one output element: rows are independent when outputs differ.
                loop.forEachRow(in: 0..<loop.rowCount) { _, offsets in
                    let x = src + offsets[0]
                    var acc = initial
                    for i in 0..<n { acc = combine(acc, x[i]) }
                    po[offsets[1]] = combine(po[offsets[1]], acc)
                }
            } else {
                loop.forEachRow(in: 0..<loop.rowCount) { _, offsets in
                    let x = src + offsets[0], o = po + offsets[1]
                    for i in 0..<n { o[i] = combine(o[i], x[i]) }
                }
            }
        }
    }

    private func droppingAxes(_ reduced: Tensor, _ axes: [Int], keepingDimensions: Bool) -> Tensor {
        if keepingDimensions { return reduced }
        let set = Set(axes.map(normalizedAxis))
        return reduced.reshaped(to: shape.indices.filter { !set.contains($0) }.map { shape[$0] })
    }

    /// Sum along `axes` (all axes by default, giving a scalar).
    public func sum(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let axes = axes ?? Array(0..<rank)
        if axes.isEmpty { return self }
        let x = self
        let kept = Tensor.record("sum", output: reduceKernel(axes: axes, initial: 0, +), inputs: [x]) { g, _, _ in
            [g.expanded(to: x.shape)]
        }
        return droppingAxes(kept, axes, keepingDimensions: keepingDimensions)
    }

    /// Mean along `axes` (all axes by default).
    public func mean(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let n = Set(axes.map(normalizedAxis)).map { shape[$0] }.reduce(1, *)
        return sum(alongAxes: axes, keepingDimensions: keepingDimensions) / Float(n)
    }

    /// Maximum along `axes`; the gradient is shared equally between tied maxima.
    public func max(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        extremum(axes ?? Array(0..<rank), keepingDimensions, initial: -.infinity, name: "max") { Swift.max($0, $1) }
    }

    /// Minimum along `axes`; the gradient is shared equally between tied minima.
    public func min(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        extremum(axes ?? Array(0..<rank), keepingDimensions, initial: .infinity, name: "min") { Swift.min($0, $1) }
    }

    private func extremum(_ axes: [Int], _ keep: Bool, initial: Float, name: String,
                          _ combine: (Float, Float) -> Float) -> Tensor {
        if axes.isEmpty { return self }
        let x = self
        let kept = Tensor.record(name, output: reduceKernel(axes: axes, initial: initial, combine), inputs: [x],
                                 savesOutput: true) { g, y, _ in
            let mask = x.detached().isEqual(to: y.detached())
            let ties = mask.sum(alongAxes: axes, keepingDimensions: true)
            return [mask * (g / ties)]
        }
        return droppingAxes(kept, axes, keepingDimensions: keep)
    }

    /// Variance along `axes`: the mean squared deviation, divided by n − 1 instead of n when
    /// `unbiased` (PyTorch's `var` default is unbiased; StyleGAN's minibatch deviation is not).
    public func variance(alongAxes axes: [Int]? = nil, unbiased: Bool = false, keepingDimensions: Bool = false) -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let n = Set(axes.map(normalizedAxis)).map { shape[$0] }.reduce(1, *)
        let deviation = self - mean(alongAxes: axes, keepingDimensions: true)
        let squares = deviation.square().sum(alongAxes: axes, keepingDimensions: keepingDimensions)
        return squares / Float(unbiased ? n - 1 : n)
    }
}
