import CBLAS
import Tensor

/// The Fréchet distance between the Gaussians fitted to two feature sets (FID, when the
/// features come from Inception):
///
///     FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½.
///
/// The last trace equals tr (Σ₁Σ₂)^½, which the reference code takes from `scipy.linalg.sqrtm`;
/// here it is computed from two symmetric eigendecompositions (LAPACK `dsyevd` from OpenBLAS):
/// Σ₁ = V Λ Vᵀ gives Σ₁^½ = V Λ^½ Vᵀ, and the trace is the sum of the square roots of the
/// eigenvalues of the symmetric positive semi-definite Σ₁^½ Σ₂ Σ₁^½. Eigenvalues that rounding
/// makes slightly negative count as zero, so rank-deficient covariances (fewer samples than
/// dimensions) need no added ε. All arithmetic is in Double.
///
/// - Throws: `ForensicsError.dimensionMismatch` when the feature dimensions differ,
///   `.lapackFailure` when an eigendecomposition does not converge.
public func frechetDistance(_ a: FeatureStatistics, _ b: FeatureStatistics) throws -> Double {
    guard a.dimension == b.dimension else {
        throw ForensicsError.dimensionMismatch(expected: a.dimension, found: b.dimension)
    }
    let d = a.dimension
    var meanDistance = 0.0, traces = 0.0
    for i in 0..<d {
        let difference = a.mean[i] - b.mean[i]
        meanDistance += difference * difference
        traces += a.covariance[i * d + i] + b.covariance[i * d + i]
    }
    return meanDistance + traces - 2 * (try traceOfSquareRootOfProduct(a.covariance, b.covariance, dimension: d))
}

/// The Fréchet distance between the feature sets `a` and `b`, one row per sample.
///
/// - Throws: as `FeatureStatistics(features:)` and `frechetDistance(_:_:)`.
public func frechetDistance(between a: [[Double]], and b: [[Double]]) throws -> Double {
    try frechetDistance(FeatureStatistics(features: a), FeatureStatistics(features: b))
}

/// The Fréchet distance between two `[samples, features]` tensors (statistics in Double).
public func frechetDistance(between a: Tensor, and b: Tensor) throws -> Double {
    try frechetDistance(FeatureStatistics(features: a), FeatureStatistics(features: b))
}

/// tr (Σ₁^½ Σ₂ Σ₁^½)^½ for symmetric positive semi-definite d × d matrices (row-major).
func traceOfSquareRootOfProduct(_ first: [Double], _ second: [Double], dimension d: Int) throws -> Double {
    guard d > 0 else { return 0 }
    let root = try symmetricSquareRoot(first, dimension: d)
    // M = root · second · root: two general products (dgemm), then symmetrised against rounding.
    var product = [Double](repeating: 0, count: d * d), middle = [Double](repeating: 0, count: d * d)
    let n = Int32(d)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, root, n, second, n, 0, &product, n)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, product, n, root, n, 0, &middle, n)
    for i in 0..<d {
        for j in 0..<i {
            let average = (middle[i * d + j] + middle[j * d + i]) / 2
            middle[i * d + j] = average
            middle[j * d + i] = average
        }
    }
    let eigenvalues = try symmetricEigenvalues(&middle, dimension: d, vectors: false)
    return eigenvalues.reduce(0) { $0 + max($1, 0).squareRoot() }
}

/// The principal square root V Λ^½ Vᵀ of a symmetric positive semi-definite matrix.
func symmetricSquareRoot(_ matrix: [Double], dimension d: Int) throws -> [Double] {
    var vectors = matrix
    let eigenvalues = try symmetricEigenvalues(&vectors, dimension: d, vectors: true)
    // Columns of `vectors` are eigenvectors; scale column j by √λⱼ and multiply by Vᵀ.
    var scaled = vectors
    for j in 0..<d {
        let factor = max(eigenvalues[j], 0).squareRoot()
        for i in 0..<d { scaled[i * d + j] *= factor }
    }
    var root = [Double](repeating: 0, count: d * d)
    let n = Int32(d)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, scaled, n, vectors, n, 0, &root, n)
    return root
}

/// The eigenvalues (ascending) of a symmetric matrix by LAPACK `dsyevd`; with `vectors`, the
/// matrix is overwritten by the eigenvectors (one per column, row-major storage).
func symmetricEigenvalues(_ matrix: inout [Double], dimension d: Int, vectors: Bool) throws -> [Double] {
    var eigenvalues = [Double](repeating: 0, count: d)
    let job = CChar(UInt8(ascii: vectors ? "V" : "N")), upper = CChar(UInt8(ascii: "U"))
    let info = matrix.withUnsafeMutableBufferPointer { a in
        eigenvalues.withUnsafeMutableBufferPointer { w in
            LAPACKE_dsyevd(LAPACK_ROW_MAJOR, job, upper, Int32(d), a.baseAddress, Int32(d), w.baseAddress)
        }
    }
    guard info == 0 else { throw ForensicsError.lapackFailure(routine: "dsyevd", info: Int(info)) }
    return eigenvalues
}
