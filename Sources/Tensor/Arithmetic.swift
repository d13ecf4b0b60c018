/// Broadcasting element-wise arithmetic, comparisons and selection.
extension Tensor {
    /// Applies `op` element-wise to `a` and `b` broadcast together (no autograd recording).
    /// Closures are called through a pointer in the loops; the hot operations pass a
    /// `BinaryElementFunction` value instead, which the optimiser inlines and vectorises.
    static func broadcastKernel(_ a: Tensor, _ b: Tensor, _ name: String,
                                _ op: @escaping (Float, Float) -> Float) -> Tensor {
        broadcastKernel(a, b, name, BinaryClosure(body: op))
    }

    /// Applies `op` element-wise to `a` and `b` broadcast together (no autograd recording),
    /// specialised for `F`.
    static func broadcastKernel<F: BinaryElementFunction>(_ a: Tensor, _ b: Tensor, _ name: String, _ op: F) -> Tensor {
        guard let shape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        if let blocked = blockedOperands(a, b, shape: shape) {
            // Operands still in a convolution's layout (or scalars): so is the result.
            return Tensor.blockedLike(blocked.layout, shape: shape) { po in
                switch (blocked.a, blocked.b) {
                case let (.some(x), .some(y)):
                    parallelRanges(a.count) { r in for i in r { po[i] = op(x[i], y[i]) } }
                case let (.some(x), nil):
                    let s = b.storage.pointer[0]
                    parallelRanges(a.count) { r in for i in r { po[i] = op(x[i], s) } }
                case let (nil, .some(y)):
                    let s = a.storage.pointer[0]
                    parallelRanges(b.count) { r in for i in r { po[i] = op(s, y[i]) } }
                case (nil, nil):
                    preconditionFailure("blockedOperands returned no blocked operand")
                }
            }
        }
        if let result = channelBlockedKernel(a, b, shape: shape, op) { return result }
        let pa = a.storage.pointer, pb = b.storage.pointer
        return Tensor(shape: shape) { out in
            let po = out.baseAddress!
            if a.shape == b.shape {
                parallelRanges(out.count) { r in for i in r { po[i] = op(pa[i], pb[i]) } }
            } else if b.count == 1 && a.count == out.count {
                let s = pb[0]
                parallelRanges(out.count) { r in for i in r { po[i] = op(pa[i], s) } }
            } else if a.count == 1 && b.count == out.count {
                let s = pa[0]
                parallelRanges(out.count) { r in for i in r { po[i] = op(s, pb[i]) } }
            } else {
                let loop = StridedLoop(shape: shape, strides: [contiguousStrides(shape),
                                                               broadcastStrides(a.shape, to: shape),
                                                               broadcastStrides(b.shape, to: shape)])
                let n = loop.rowLength, sa = loop.rowStride(1), sb = loop.rowStride(2)
                let rowsPerChunk = Swift.max(1, (1 << 15) / Swift.max(n, 1))
                let chunks = (loop.rowCount + rowsPerChunk - 1) / rowsPerChunk
                parallelRanges(chunks, grain: 1) { chunkRange in
                    let rows = (chunkRange.lowerBound * rowsPerChunk)..<Swift.min(loop.rowCount, chunkRange.upperBound * rowsPerChunk)
                    loop.forEachRow(in: rows) { _, offsets in
                        let o = po + offsets[0], x = pa + offsets[1], y = pb + offsets[2]
                        if sa == 1 && sb == 1 {
                            for i in 0..<n { o[i] = op(x[i], y[i]) }
                        } else if sa == 1 && sb == 0 {
                            let s = y[0]
                            for i in 0..<n { o[i] = op(x[i], s) }
                        } else if sa == 0 && sb == 1 {
                            let s = x[0]
                            for i in 0..<n { o[i] = op(s, y[i]) }
                        } else {
                            for i in 0..<n { o[i] = op(x[i * sa], y[i * sb]) }
                        }
                    }
                }
            }
        }
    }

    /// The blocked buffers of `a` and `b` when the element-wise result can be computed on them:
    /// both hold only dense blocked values of one layout (same shape), or one does and the other
    /// is a single element. `a` and `b` in the result are nil for the scalar operand.
    private static func blockedOperands(_ a: Tensor, _ b: Tensor, shape: [Int])
        -> (layout: BlockedBuffer, a: UnsafeMutablePointer<Float>?, b: UnsafeMutablePointer<Float>?)? {
        let ba = a.storage.denseBlockedOnly, bb = b.storage.denseBlockedOnly
        func values(_ buffer: BlockedBuffer) -> UnsafeMutablePointer<Float> { buffer.pointer.assumingMemoryBound(to: Float.self) }
        switch (ba, bb) {
        case let (.some(x), .some(y)) where a.shape == b.shape && x.layout.matches(y.layout):
            return (x, values(x), values(y))
        case let (.some(x), nil) where b.count == 1 && a.shape == shape:
            return (x, values(x), nil)
        case let (nil, .some(y)) where a.count == 1 && b.shape == shape:
            return (y, nil, values(y))
        default:
            return nil
        }
    }

    /// `op` of a 4-D tensor held only in a channel-blocked layout (a convolution's output) and a
    /// row-major tensor broadcast to it (per channel `[N, C, 1, 1]`, per pixel `[N, 1, H, W]`, …),
    /// in either order, computed in the blocked layout; nil when the operands are not of that kind.
    @inline(__always)
    private static func channelBlockedKernel<F: BinaryElementFunction>(_ a: Tensor, _ b: Tensor, shape: [Int], _ op: F) -> Tensor? {
        guard shape.count == 4 else { return nil }
        let blockedFirst: Bool
        let blocked: BlockedBuffer, other: Tensor
        if let x = a.storage.denseBlockedOnly, a.shape == shape, b.storage.hasPlainValues {
            (blockedFirst, blocked, other) = (true, x, b)
        } else if let y = b.storage.denseBlockedOnly, b.shape == shape, a.storage.hasPlainValues {
            (blockedFirst, blocked, other) = (false, y, a)
        } else {
            return nil
        }
        // The strides describe the dimensions the layout was made for, not those of a reshape.
        guard let (block, s) = blocked.layout.channelBlocking, blocked.layout.dimensions == shape else { return nil }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let t = broadcastStrides(other.shape, to: shape)
        let source = blocked.pointer.assumingMemoryBound(to: Float.self), pb = other.storage.pointer
        let blocks = (c + block - 1) / block
        let (s0, s1, s2, s3) = (s[0], s[1], s[2], s[3]), (t0, t1, t2, t3) = (t[0], t[1], t[2], t[3])
        return blockedLike(blocked, shape: shape) { po in
            // One row = one (n, channel block, y): w pixels of `block` channels each.
            parallelRanges(n * blocks * h, grain: Swift.max(1, 4096 / Swift.max(1, w * block))) { rows in
                for row in rows {
                    let y = row % h, cb = (row / h) % blocks, image = row / (h * blocks)
                    let channels = Swift.min(block, c - cb * block)
                    for x in 0..<w {
                        let o = po + (image * s0 + cb * s1 + y * s2 + x * s3)
                        let p = source + (image * s0 + cb * s1 + y * s2 + x * s3)
                        let q = pb + (image * t0 + cb * block * t1 + y * t2 + x * t3)
                        switch (t1, blockedFirst) {
                        case (0, true): let v = q[0]; for i in 0..<channels { o[i] = op(p[i], v) }
                        case (0, false): let v = q[0]; for i in 0..<channels { o[i] = op(v, p[i]) }
                        case (1, true): for i in 0..<channels { o[i] = op(p[i], q[i]) }
                        case (1, false): for i in 0..<channels { o[i] = op(q[i], p[i]) }
                        case (_, true): for i in 0..<channels { o[i] = op(p[i], q[i * t1]) }
                        case (_, false): for i in 0..<channels { o[i] = op(q[i * t1], p[i]) }
                        }
                    }
                }
            }
        }
    }

    /// A tensor of `shape` whose values `fill` writes into a new buffer in `like`'s layout.
    static func blockedLike(_ like: BlockedBuffer, shape: [Int],
                            _ fill: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        Tensor(shape: shape, storage: TensorStorage(count: elementCount(shape), blockedIn: like.layout, fill))
    }

    /// Adds `other` (same shape) into this tensor's elements, without recording, copying the
    /// storage first only if it is shared.
    mutating func addInPlace(_ other: Tensor) {
        precondition(shape == other.shape, "addInPlace: \(shape) vs \(other.shape)")
        let source = other.storage.pointer
        withUnsafeMutableBufferPointer { buffer in
            let target = buffer.baseAddress!
            parallelRanges(buffer.count) { range in for i in range { target[i] += source[i] } }
        }
    }

    /// Reduces a broadcast gradient back to `shape` by summing over the broadcast dimensions.
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(target.count <= rank, "cannot reduce shape \(shape) to \(target)")
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for (i, extent) in target.enumerated() where extent == 1 && shape[lead + i] != 1 {
            axes.append(lead + i)
        }
        return sum(alongAxes: axes).reshaped(to: target)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        record("add", output: broadcastKernel(a, b, "add", Add()), inputs: [a, b]) { g, _, _ in
            [g.summed(toShape: a.shape), g.summed(toShape: b.shape)]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        record("subtract", output: broadcastKernel(a, b, "subtract", Subtract()), inputs: [a, b]) { g, _, needed in
            [g.summed(toShape: a.shape), needed[1] ? (-g).summed(toShape: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        record("multiply", output: broadcastKernel(a, b, "multiply", Multiply()), inputs: [a, b]) { g, _, needed in
            [needed[0] ? (g * b).summed(toShape: a.shape) : nil,
             needed[1] ? (g * a).summed(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        record("divide", output: broadcastKernel(a, b, "divide", Divide()), inputs: [a, b]) { g, _, needed in
            [needed[0] ? (g / b).summed(toShape: a.shape) : nil,
             needed[1] ? (-(g * a) / (b * b)).summed(toShape: b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        record("negate", output: a.mapKernel(Negate()), inputs: [a]) { g, _, _ in [-g] }
    }

    public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
    public static func + (a: Float, b: Tensor) -> Tensor { Tensor(a) + b }
    public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }
    public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }
    public static func / (a: Tensor, b: Float) -> Tensor { a / Tensor(b) }
    public static func / (a: Float, b: Tensor) -> Tensor { Tensor(a) / b }
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }

    /// Element-wise maximum of two broadcast tensors (ties send the gradient to `self`).
    public func maximum(_ other: Tensor) -> Tensor {
        let a = self, b = other
        return Tensor.record("maximum", output: Tensor.broadcastKernel(a, b, "maximum", Maximum()),
                             inputs: [a, b]) { g, _, _ in
            let mask = a.isGreaterOrEqual(to: b)
            return [(g * mask).summed(toShape: a.shape), (g * (1 - mask)).summed(toShape: b.shape)]
        }
    }

    /// Element-wise minimum of two broadcast tensors (ties send the gradient to `self`).
    public func minimum(_ other: Tensor) -> Tensor {
        let a = self, b = other
        return Tensor.record("minimum", output: Tensor.broadcastKernel(a, b, "minimum", Minimum()),
                             inputs: [a, b]) { g, _, _ in
            let mask = a.isLessOrEqual(to: b)
            return [(g * mask).summed(toShape: a.shape), (g * (1 - mask)).summed(toShape: b.shape)]
        }
    }

    // MARK: Comparisons (results are 0/1 masks and are not differentiable)

    /// 1 where `self > other`, else 0.
    public func isGreater(than other: Tensor) -> Tensor { Tensor.broadcastKernel(self, other, "isGreater", IsGreater()) }
    /// 1 where `self >= other`, else 0.
    public func isGreaterOrEqual(to other: Tensor) -> Tensor { Tensor.broadcastKernel(self, other, "isGreaterOrEqual", IsGreaterOrEqual()) }
    /// 1 where `self < other`, else 0.
    public func isLess(than other: Tensor) -> Tensor { Tensor.broadcastKernel(self, other, "isLess", IsLess()) }
    /// 1 where `self <= other`, else 0.
    public func isLessOrEqual(to other: Tensor) -> Tensor { Tensor.broadcastKernel(self, other, "isLessOrEqual", IsLessOrEqual()) }
    /// 1 where `self == other`, else 0.
    public func isEqual(to other: Tensor) -> Tensor { Tensor.broadcastKernel(self, other, "isEqual", IsEqual()) }
    /// 1 where `self > value`, else 0.
    public func isGreater(than value: Float) -> Tensor { isGreater(than: Tensor(value)) }
    /// 1 where `self < value`, else 0.
    public func isLess(than value: Float) -> Tensor { isLess(than: Tensor(value)) }

    /// Picks `a` where `condition` is non-zero and `b` elsewhere, all three broadcast together.
    /// Differentiable with respect to `a` and `b`.
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let ab = broadcastShape(a.shape, b.shape), let shape = broadcastShape(condition.shape, ab) else {
            preconditionFailure("select: shapes \(condition.shape), \(a.shape), \(b.shape) do not broadcast")
        }
        let c = condition.detached().expanded(to: shape)
        let x = a.detached().expanded(to: shape), y = b.detached().expanded(to: shape)
        let pc = c.storage.pointer, px = x.storage.pointer, py = y.storage.pointer
        let output = Tensor(shape: shape) { out in
            let po = out.baseAddress!
            parallelRanges(out.count) { r in for i in r { po[i] = pc[i] != 0 ? px[i] : py[i] } }
        }
        return record("select", output: output, inputs: [a, b]) { g, _, needed in
            let zero = Tensor(0)
            return [needed[0] ? select(c, g, zero).summed(toShape: a.shape) : nil,
                    needed[1] ? select(c, zero, g).summed(toShape: b.shape) : nil]
        }
    }
}
