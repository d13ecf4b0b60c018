import CBLAS
import Tensor

/// The mean and covariance of a set of feature vectors: what a Fréchet distance compares.
///
/// The covariance is the unbiased estimate with N − 1 in the denominator, as `np.cov` computes
/// it in the reference code of the ICCV'19 paper and in pytorch-fid. All arithmetic is in Double.
public struct FeatureStatistics: Hashable, Codable, Sendable {
    /// The feature dimension d.
    public let dimension: Int
    /// The number of samples N the statistics were computed from.
    public let count: Int
    /// The mean feature vector, d values.
    public let mean: [Double]
    /// The covariance matrix, d × d values row-major (symmetric).
    public let covariance: [Double]

    /// Statistics given directly (for example loaded from a file of reference statistics).
    ///
    /// - Throws: `ForensicsError.dimensionMismatch` when `covariance` is not `mean.count`².
    public init(mean: [Double], covariance: [Double], count: Int) throws {
        guard covariance.count == mean.count * mean.count else {
            throw ForensicsError.dimensionMismatch(expected: mean.count * mean.count, found: covariance.count)
        }
        self.dimension = mean.count
        self.count = count
        self.mean = mean
        self.covariance = covariance
    }

    /// The statistics of `features`, one row of d values per sample.
    ///
    /// - Throws: `ForensicsError.tooFewSamples` for fewer than two rows, `.raggedFeatures` when
    ///   rows differ in length, `.nonFiniteFeatures` for NaN or infinite values.
    public init(features: [[Double]]) throws {
        guard features.count >= 2 else { throw ForensicsError.tooFewSamples(count: features.count, minimum: 2) }
        let dimension = features[0].count
        var flat: [Double] = []
        flat.reserveCapacity(features.count * dimension)
        for (row, values) in features.enumerated() {
            guard values.count == dimension else {
                throw ForensicsError.raggedFeatures(row: row, expected: dimension, found: values.count)
            }
            flat.append(contentsOf: values)
        }
        try self.init(flatFeatures: flat, count: features.count, dimension: dimension)
    }

    /// The statistics of a `[samples, features]` tensor (computed in Double).
    ///
    /// - Throws: as `init(features:)` for `[[Double]]`, and `.invalidFeatureShape` for a tensor of
    ///   another rank.
    public init(features: Tensor) throws {
        guard features.rank == 2 else { throw ForensicsError.invalidFeatureShape(features.shape) }
        let flat = features.withUnsafeBufferPointer { $0.map(Double.init) }
        try self.init(flatFeatures: flat, count: features.shape[0], dimension: features.shape[1])
    }

    /// Mean and N − 1 covariance of `count` row-major rows of `dimension` values.
    init(flatFeatures: [Double], count: Int, dimension: Int) throws {
        guard count >= 2 else { throw ForensicsError.tooFewSamples(count: count, minimum: 2) }
        guard flatFeatures.allSatisfy(\.isFinite) else { throw ForensicsError.nonFiniteFeatures }
        var mean = [Double](repeating: 0, count: dimension)
        for row in 0..<count {
            for j in 0..<dimension { mean[j] += flatFeatures[row * dimension + j] }
        }
        for j in 0..<dimension { mean[j] /= Double(count) }
        var centred = flatFeatures
        for row in 0..<count {
            for j in 0..<dimension { centred[row * dimension + j] -= mean[j] }
        }
        // Σ = Xcᵀ Xc / (N − 1) for the upper triangle (dsyrk), mirrored to the lower.
        var covariance = [Double](repeating: 0, count: dimension * dimension)
        if dimension > 0 {
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(dimension), Int32(count),
                        1 / Double(count - 1), centred, Int32(dimension), 0, &covariance, Int32(dimension))
        }
        for i in 0..<dimension {
            for j in 0..<i { covariance[i * dimension + j] = covariance[j * dimension + i] }
        }
        self.dimension = dimension
        self.count = count
        self.mean = mean
        self.covariance = covariance
    }
}
