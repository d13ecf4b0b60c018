/// Matrix products through oneDNN's sgemm.
extension Tensor {
    /// The matrix product `op(a) · op(b)`, where `op` transposes the last two axes when asked.
    ///
    /// Shapes: `[M, K] · [K, N]`, or batched `[B, M, K] · [B, K, N]` (a 2-D operand is shared by
    /// every batch element).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition((a.rank == 2 || a.rank == 3) && (b.rank == 2 || b.rank == 3),
                     "matmul of shapes \(a.shape) and \(b.shape): ranks must be 2 or 3")
        let batch = Swift.max(a.rank == 3 ? a.shape[0] : 1, b.rank == 3 ? b.shape[0] : 1)
        precondition((a.rank == 2 || a.shape[0] == batch) && (b.rank == 2 || b.shape[0] == batch),
                     "matmul batch sizes of \(a.shape) and \(b.shape) disagree")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == k2, "matmul inner dimensions disagree: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batched = a.rank == 3 || b.rank == 3
        let outShape = batched ? [batch, m, n] : [m, n]
        let pa = a.storage.pointer, pb = b.storage.pointer
        let output = Tensor(shape: outShape) { out in
            for i in 0..<batch {
                DNNL.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                           a: pa + (a.rank == 3 ? i * ar * ac : 0), lda: ac,
                           b: pb + (b.rank == 3 ? i * br * bc : 0), ldb: bc,
                           beta: 0, c: out.baseAddress! + i * m * n, ldc: n)
            }
        }
        return record("matmul", output: output, inputs: [a, b]) { g, _, needed in
            var ga: Tensor?, gb: Tensor?
            switch (transposeA, transposeB) {
            case (false, false):
                if needed[0] { ga = matmul(g, b, transposeB: true) }
                if needed[1] { gb = matmul(a, g, transposeA: true) }
            case (true, false):
                if needed[0] { ga = matmul(b, g, transposeB: true) }
                if needed[1] { gb = matmul(a, g) }
            case (false, true):
                if needed[0] { ga = matmul(g, b) }
                if needed[1] { gb = matmul(g, a, transposeA: true) }
            case (true, true):
                if needed[0] { ga = matmul(b, g, transposeA: true, transposeB: true) }
                if needed[1] { gb = matmul(g, a, transposeA: true, transposeB: true) }
            }
            // A 2-D operand shared across the batch collects the gradient of every batch element.
            if let g = ga, g.rank > a.rank { ga = g.sum(alongAxes: [0]) }
            if let g = gb, g.rank > b.rank { gb = g.sum(alongAxes: [0]) }
            return [ga, gb]
        }
    }
}
