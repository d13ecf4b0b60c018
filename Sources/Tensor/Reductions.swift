/// Sums, means, extrema and variances along axes.
extension Tensor {
    /// Reduces along `axes` (no autograd recording); the result keeps the reduced axes with
    /// extent 1. Rows are spread over the engine's threads, each with private partial results
    /// that are merged at the end, and reduced with 16-lane SIMD accumulators.
    private func reduceKernel(axes: [Int], kind: ReductionKind) -> Tensor {
        let axes = Set(axes.map(normalizedAxis))
        let keptShape = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
        let src = storage.pointer
        let loop = StridedLoop(shape: shape, strides: [contiguousStrides(shape), broadcastStrides(keptShape, to: shape)])
        let n = loop.rowLength, rowsReduce = loop.rowStride(1) == 0
        let outCount = Tensor.elementCount(keptShape)
        let chunks = Swift.min(engineThreadCount, Swift.max(1, count / (1 << 16)), loop.rowCount)
        return Tensor(shape: keptShape) { out in
            // Chunk 0 accumulates into the output; the others into private buffers.
            let partials = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, (chunks - 1) * outCount))
            defer { partials.deallocate() }
            out.initialize(repeating: kind.identity)
            if chunks > 1 { partials.initialize(repeating: kind.identity, count: (chunks - 1) * outCount) }
            let rowsPerChunk = (loop.rowCount + chunks - 1) / chunks
            let po = out.baseAddress!
            parallelFor(chunks) { chunk in
                let target = chunk == 0 ? po : partials + (chunk - 1) * outCount
                let rows = (chunk * rowsPerChunk)..<Swift.min(loop.rowCount, (chunk + 1) * rowsPerChunk)
                loop.forEachRow(in: rows) { _, offsets in
                    let x = src + offsets[0], o = target + offsets[1]
                    if rowsReduce {
                        o[0] = kind.combine(o[0], kind.reduceRow(x, n))
                    } else {
                        for i in 0..<n { o[i] = kind.combine(o[i], x[i]) }
                    }
                }
            }
            for chunk in 1..<Swift.max(chunks, 1) {
                let p = partials + (chunk - 1) * outCount
                for i in 0..<outCount { po[i] = kind.combine(po[i], p[i]) }
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
        let kept = Tensor.record("sum", output: reduceKernel(axes: axes, kind: .sum), inputs: [x]) { g, _, _ in
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
        extremum(axes ?? Array(0..<rank), keepingDimensions, kind: .max)
    }

    /// Minimum along `axes`; the gradient is shared equally between tied minima.
    public func min(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        extremum(axes ?? Array(0..<rank), keepingDimensions, kind: .min)
    }

    private func extremum(_ axes: [Int], _ keep: Bool, kind: ReductionKind) -> Tensor {
        if axes.isEmpty { return self }
        let x = self
        let kept = Tensor.record(kind == .max ? "max" : "min", output: reduceKernel(axes: axes, kind: kind), inputs: [x],
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

/// The associative reductions the kernel knows.
enum ReductionKind {
    case sum, max, min

    var identity: Float {
        switch self {
        case .sum: 0
        case .max: -.infinity
        case .min: .infinity
        }
    }

    @inline(__always) func combine(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .sum: a + b
        case .max: Swift.max(a, b)
        case .min: Swift.min(a, b)
        }
    }

    /// Reduces `count` contiguous elements with 16 independent lanes (vectorised).
    @inline(__always) func reduceRow(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var lanes = SIMD16<Float>(repeating: identity)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            switch self {
            case .sum: lanes += v
            case .max: lanes = pointwiseMax(lanes, v)
            case .min: lanes = pointwiseMin(lanes, v)
            }
            i += 16
        }
        var result: Float
        switch self {
        case .sum: result = lanes.sum()
        case .max: result = lanes.max()
        case .min: result = lanes.min()
        }
        while i < count {
            result = combine(result, x[i])
            i += 1
        }
        return result
    }
}
