/// Reshaping, permuting, broadcasting, padding, slicing, concatenation and splitting.
extension Tensor {
    /// The same elements viewed with a new shape; one extent may be −1 (inferred). Shares storage.
    public func reshaped(to newShape: [Int]) -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape \(shape) to \(newShape): sizes do not divide")
            target[hole] = count / known
        }
        precondition(Tensor.elementCount(target) == count, "reshape \(shape) (\(count) elements) to \(newShape)")
        if target == shape { return self }
        let x = self
        return Tensor.record("reshape", output: Tensor(shape: target, storage: storage), inputs: [x]) { g, _, _ in
            [g.reshaped(to: x.shape)]
        }
    }

    /// The tensor flattened from `startAxis` on: `[N, C, H, W]` → `[N, C·H·W]` for `startAxis` 1.
    public func flattened(from startAxis: Int = 0) -> Tensor {
        reshaped(to: Array(shape[..<startAxis]) + [shape[startAxis...].reduce(1, *)])
    }

    /// Dimensions reordered: axis `i` of the result is axis `axes[i]` of `self`.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<rank), "permute \(shape) by \(axes): not a permutation")
        if axes == Array(0..<rank) { return self }
        let newShape = axes.map { shape[$0] }
        let sourceStrides = contiguousStrides(shape)
        let loop = StridedLoop(shape: newShape, strides: [contiguousStrides(newShape), axes.map { sourceStrides[$0] }])
        let src = storage.pointer
        let output = Tensor(shape: newShape) { out in
            let po = out.baseAddress!
            let n = loop.rowLength, s = loop.rowStride(1)
            loop.forEachRow(in: 0..<loop.rowCount) { _, offsets in
                let o = po + offsets[0], x = src + offsets[1]
                for i in 0..<n { o[i] = x[i * s] }
            }
        }
        var inverseAxes = Array(repeating: 0, count: rank)
        for (i, axis) in axes.enumerated() { inverseAxes[axis] = i }
        let inverse = inverseAxes
        return Tensor.record("permute", output: output, inputs: [self]) { g, _, _ in [g.permuted(inverse)] }
    }

    /// The last two dimensions swapped.
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transposed() needs rank ≥ 2, got \(shape)")
        var axes = Array(0..<rank)
        axes.swapAt(rank - 1, rank - 2)
        return permuted(axes)
    }

    /// The tensor broadcast (materialised) to `target`.
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(broadcastShape(shape, target) == target, "cannot expand \(shape) to \(target)")
        let loop = StridedLoop(shape: target, strides: [contiguousStrides(target), broadcastStrides(shape, to: target)])
        let src = storage.pointer
        let result = Tensor(shape: target) { out in
            let po = out.baseAddress!, n = loop.rowLength, s = loop.rowStride(1)
            loop.forEachRow(in: 0..<loop.rowCount) { _, offsets in
                let o = po + offsets[0], x = src + offsets[1]
                if s == 0 { o.update(repeating: x[0], count: n) } else { for i in 0..<n { o[i] = x[i * s] } }
            }
        }
        let x = self
        return Tensor.record("expand", output: result, inputs: [x]) { g, _, _ in [g.summed(toShape: x.shape)] }
    }

    /// Pads (positive amounts) or crops (negative amounts) each axis; `padding[i]` is
    /// `(before, after)` for axis `i` and may be shorter than the rank (it then applies to the
    /// last axes). New elements are `value`.
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        precondition(padding.count <= rank, "pad \(shape) with \(padding.count) pairs")
        let pads = Array(repeating: (before: 0, after: 0), count: rank - padding.count) + padding
        let newShape = shape.indices.map { shape[$0] + pads[$0].before + pads[$0].after }
        precondition(newShape.allSatisfy { $0 >= 0 }, "pad \(shape) by \(padding): negative extent")
        if pads.allSatisfy({ $0.before == 0 && $0.after == 0 }) { return self }
        let output = Tensor.padKernel(self, newShape: newShape, before: pads.map(\.before), value: value)
        let inverse = pads.map { (before: -$0.before, after: -$0.after) }
        return Tensor.record("pad", output: output, inputs: [self]) { g, _, _ in [g.padded(inverse)] }
    }

    /// Copies the overlap of `x` shifted by `before` into a new tensor of `newShape` filled with `value`.
    private static func padKernel(_ x: Tensor, newShape: [Int], before: [Int], value: Float) -> Tensor {
        let rank = x.rank
        // Overlap in each axis, in output coordinates.
        var start = [Int](), extent = [Int](), sourceStart = [Int]()
        for axis in 0..<rank {
            let lo = Swift.max(0, before[axis]), hi = Swift.min(newShape[axis], before[axis] + x.shape[axis])
            start.append(lo)
            extent.append(Swift.max(0, hi - lo))
            sourceStart.append(lo - before[axis])
        }
        let src = x.storage.pointer
        return Tensor(shape: newShape) { out in
            let po = out.baseAddress!
            if extent.contains(0) || extent != newShape {
                out.initialize(repeating: value)
            }
            guard !extent.contains(0) else { return }
            let outStrides = contiguousStrides(newShape), inStrides = contiguousStrides(x.shape)
            let outBase = zip(start, outStrides).map(*).reduce(0, +)
            let inBase = zip(sourceStart, inStrides).map(*).reduce(0, +)
            let loop = StridedLoop(shape: extent, strides: [outStrides, inStrides])
            let n = loop.rowLength
            if loop.rowStride(0) == 1 && loop.rowStride(1) == 1 {
                loop.forEachRow(in: 0..<loop.rowCount) { _, offsets in
                    (po + outBase + offsets[0]).update(from: src + inBase + offsets[1], count: n)
                }
            } else {
                let so = loop.rowStride(0), si = loop.rowStride(1)
                loop.forEachRow(in: 0..<loop.rowCount) { _, offsets in
                    let o = po + outBase + offsets[0], i = src + inBase + offsets[1]
                    for k in 0..<n { o[k * so] = i[k * si] }
                }
            }
        }
    }

    /// The elements with indices `range` along `axis`.
    public func sliced(_ range: Range<Int>, alongAxis axis: Int) -> Tensor {
        let axis = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "slice \(range) out of bounds for axis \(axis) of \(shape)")
        var pads = Array(repeating: (before: 0, after: 0), count: rank)
        pads[axis] = (-range.lowerBound, range.upperBound - shape[axis])
        return padded(pads)
    }

    /// Joins tensors along `axis`; all other extents must agree.
    public static func concatenate(_ tensors: [Tensor], alongAxis axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate of no tensors")
        let first = tensors[0]
        let axis = first.normalizedAxis(axis)
        for t in tensors {
            precondition(t.rank == first.rank && t.shape.indices.allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                         "concatenate along \(axis): shapes \(tensors.map(\.shape)) disagree")
        }
        if tensors.count == 1 { return first }
        var newShape = first.shape
        newShape[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
        let output: Tensor
        if axis == 1, first.rank == 4, let blocked = ChannelBlockedKernels.concatenateChannels(tensors, shape: newShape) {
            // Convolution outputs joined in their blocked layout, for the next convolution.
            output = Tensor(shape: newShape, storage: blocked)
        } else {
            let outer = first.shape[..<axis].reduce(1, *)
            let innerOut = newShape[axis...].reduce(1, *)
            output = Tensor(shape: newShape) { out in
                var offset = 0
                for t in tensors {
                    let block = t.shape[axis...].reduce(1, *)
                    let src = t.storage.pointer, dst = out.baseAddress! + offset
                    for o in 0..<outer { (dst + o * innerOut).update(from: src + o * block, count: block) }
                    offset += block
                }
            }
        }
        let extents = tensors.map { $0.shape[axis] }
        return record("concatenate", output: output, inputs: tensors) { g, _, needed in
            var start = 0
            return extents.enumerated().map { index, extent in
                defer { start += extent }
                guard needed[index] else { return nil }
                let range = start..<(start + extent)
                return axis == 1 && g.rank == 4 ? g.channelPiece(range) : g.sliced(range, alongAxis: axis)
            }
        }
    }

    /// Channels `range` of an NCHW tensor (`sliced(range, alongAxis: 1)`), kept in the blocked
    /// layout when this tensor exists only in a convolution's channel-blocked layout and `range`
    /// is block-aligned (a concatenation's backward pass); its gradient is the zero padding.
    func channelPiece(_ range: Range<Int>) -> Tensor {
        guard let blocked = ChannelBlockedKernels.sliceChannels(self, range) else {
            return sliced(range, alongAxis: 1)
        }
        let output = Tensor(shape: [shape[0], range.count, shape[2], shape[3]], storage: blocked)
        let channels = shape[1]
        return Tensor.record("sliceChannels", output: output, inputs: [self]) { g, _, _ in
            [g.padded([(0, 0), (range.lowerBound, channels - range.upperBound), (0, 0), (0, 0)])]
        }
    }

    /// Splits into consecutive pieces of the given extents along `axis`.
    public func split(sizes: [Int], alongAxis axis: Int) -> [Tensor] {
        let axis = normalizedAxis(axis)
        precondition(sizes.reduce(0, +) == shape[axis], "split sizes \(sizes) do not add up to \(shape[axis])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(start..<(start + size), alongAxis: axis)
        }
    }

    /// `axis` with negative values counted from the end, checked against the rank.
    func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for shape \(shape)")
        return a
    }
}

extension Tensor {
    /// The elements in reverse order along each of `axes` (a spatial flip for `[2, 3]` of NCHW).
    public func reversed(alongAxes axes: [Int]) -> Tensor {
        let flip = Set(axes.map(normalizedAxis))
        if flip.isEmpty { return self }
        let strides = contiguousStrides(shape)
        // Reading with negative strides from the far end of each flipped axis.
        var base = 0
        var sourceStrides = strides
        for axis in flip {
            base += (shape[axis] - 1) * strides[axis]
            sourceStrides[axis] = -strides[axis]
        }
        let loop = StridedLoop(shape: shape, strides: [strides, sourceStrides])
        let src = storage.pointer + base
        let output = Tensor(shape: shape) { out in
            let po = out.baseAddress!, n = loop.rowLength, s = loop.rowStride(1)
            loop.forEachRow(in: 0..<loop.rowCount) { _, offsets in
                let o = po + offsets[0], x = src + offsets[1]
                for i in 0..<n { o[i] = x[i * s] }
            }
        }
        return Tensor.record("reverse", output: output, inputs: [self]) { g, _, _ in [g.reversed(alongAxes: axes)] }
    }
}
