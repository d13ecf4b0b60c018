/// Row-wise iteration over an n-d index space shared by up to three operands with their own
/// strides (stride 0 broadcasts). Adjacent dimensions that are contiguous for every operand are
/// merged first, so typical broadcasts (`[N,C,H,W] + [1,C,1,1]`) become a few long rows.
struct StridedLoop {
    /// Collapsed extents; the last one is the row length.
    let shape: [Int]
    /// Collapsed strides per operand.
    let strides: [[Int]]

    /// Row length and per-operand stride along the row.
    var rowLength: Int { shape.last ?? 1 }
    func rowStride(_ operand: Int) -> Int { strides[operand].last ?? 0 }
    /// Number of rows.
    var rowCount: Int { shape.dropLast().reduce(1, *) }

    init(shape: [Int], strides: [[Int]]) {
        var dims: [Int] = []
        var merged: [[Int]] = Array(repeating: [], count: strides.count)
        for axis in shape.indices where shape[axis] != 1 {
            if let last = dims.last,
               strides.indices.allSatisfy({ merged[$0].last! == strides[$0][axis] * shape[axis] }) {
                dims[dims.count - 1] = last * shape[axis]
                for o in strides.indices { merged[o][merged[o].count - 1] = strides[o][axis] }
            } else {
                dims.append(shape[axis])
                for o in strides.indices { merged[o].append(strides[o][axis]) }
            }
        }
        if dims.isEmpty {
            dims = [1]
            for o in strides.indices { merged[o] = [0] }
        }
        self.shape = dims
        self.strides = merged
    }

    /// Calls `body(row, offsets)` for rows `rows`, where `offsets[o]` is the start of the row in
    /// operand `o`. Offsets are computed incrementally (no division per row).
    func forEachRow(in rows: Range<Int>, _ body: (Int, UnsafeMutableBufferPointer<Int>) -> Void) {
        let outer = Array(shape.dropLast())
        let operands = strides.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: operands + outer.count) { scratch in
            let offsets = UnsafeMutableBufferPointer(rebasing: scratch[0..<operands])
            let index = UnsafeMutableBufferPointer(rebasing: scratch[operands...])
            // Decompose the first row index.
            var remaining = rows.lowerBound
            for axis in outer.indices.reversed() {
                index[axis] = remaining % outer[axis]
                remaining /= outer[axis]
            }
            for o in 0..<operands {
                var offset = 0
                for axis in outer.indices { offset += index[axis] * strides[o][axis] }
                offsets[o] = offset
            }
            for row in rows {
                body(row, offsets)
                // Advance the multi-index by one row.
                var axis = outer.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    for o in 0..<operands { offsets[o] += strides[o][axis] }
                    if index[axis] < outer[axis] { break }
                    for o in 0..<operands { offsets[o] -= strides[o][axis] * outer[axis] }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }
}

/// Row-major strides of a contiguous array of `shape`.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = Array(repeating: 1, count: shape.count)
    var stride = 1
    for axis in shape.indices.reversed() {
        strides[axis] = stride
        stride *= shape[axis]
    }
    return strides
}

/// Strides that read an array of `shape` as if broadcast to `target` (same rank after left
/// padding with ones): stride 0 along broadcast dimensions.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let padded = Array(repeating: 1, count: target.count - shape.count) + shape
    let strides = contiguousStrides(padded)
    return target.indices.map { padded[$0] == target[$0] ? strides[$0] : 0 }
}

/// The broadcast shape of two shapes (NumPy rules), or `nil` when they are incompatible.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a
    let pb = Array(repeating: 1, count: rank - b.count) + b
    var result: [Int] = []
    for (x, y) in zip(pa, pb) {
        if x == y || y == 1 { result.append(x) } else if x == 1 { result.append(y) } else { return nil }
    }
    return result
}
