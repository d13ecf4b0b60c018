import Tensor

/// The ratio of inter-class to intra-class Fréchet distance with which the ICCV'19 paper
/// ("Attributing fake images to GANs", §4.1) measures how well a feature representation
/// separates image sources: the larger, the more distinguishable.
///
/// The paper leaves the definition to a supplement that is not available; this follows the
/// protocol of shared/spec/gan-fingerprints-spec.md §7. Each class's samples are shuffled (with
/// the caller's generator) and split into two disjoint halves A and B of ⌊N/2⌋ samples (an odd
/// sample out is dropped), so that every distance below compares two sets of the same size and
/// carries the same small-sample bias:
/// - intra = the mean over classes c of FD(A_c, B_c);
/// - inter = the mean over unordered pairs of classes a < b of FD(A_a, A_b);
/// - ratio = inter / intra.
///
/// Feature dimensions above the half size give singular covariances; the Fréchet distance
/// handles them (see `frechetDistance(_:_:)`), but the estimate is then noisy: the spec uses halves
/// of 500 samples for 128-dimensional features.
public struct FDRatio: Hashable, Codable, Sendable {
    /// The mean Fréchet distance between halves of different classes.
    public let interClass: Double
    /// The mean Fréchet distance between the two halves of each class.
    public let intraClass: Double
    /// The per-class intra-class distances, in class order.
    public let intraClassByClass: [Double]

    /// `interClass / intraClass`.
    public var ratio: Double { interClass / intraClass }

    /// The FD ratio of per-class feature sets, `featuresByClass[c]` holding one row per sample.
    ///
    /// - Throws: `ForensicsError.tooFewClasses` for fewer than two classes, `.tooFewSamples` for a
    ///   class of fewer than four samples, `.dimensionMismatch` when classes differ in dimension,
    ///   and the errors of `FeatureStatistics(features:)`.
    public init<Generator: RandomNumberGenerator>(featuresByClass: [[[Double]]], using generator: inout Generator) throws {
        guard featuresByClass.count >= 2 else { throw ForensicsError.tooFewClasses(count: featuresByClass.count) }
        var halves: [(FeatureStatistics, FeatureStatistics)] = []
        for features in featuresByClass {
            guard features.count >= 4 else { throw ForensicsError.tooFewSamples(count: features.count, minimum: 4) }
            let order = features.indices.shuffled(using: &generator)
            let half = features.count / 2
            let first = try FeatureStatistics(features: order[..<half].map { features[$0] })
            let second = try FeatureStatistics(features: order[half..<2 * half].map { features[$0] })
            if let dimension = halves.first?.0.dimension, dimension != first.dimension {
                throw ForensicsError.dimensionMismatch(expected: dimension, found: first.dimension)
            }
            halves.append((first, second))
        }
        let intra = try halves.map { try frechetDistance($0.0, $0.1) }
        var inter: [Double] = []
        for a in halves.indices {
            for b in halves.indices where b > a { inter.append(try frechetDistance(halves[a].0, halves[b].0)) }
        }
        self.intraClassByClass = intra
        self.intraClass = intra.reduce(0, +) / Double(intra.count)
        self.interClass = inter.reduce(0, +) / Double(inter.count)
    }

    /// The FD ratio of per-class `[samples, features]` tensors.
    public init<Generator: RandomNumberGenerator>(featuresByClass: [Tensor], using generator: inout Generator) throws {
        let rows = try featuresByClass.map { features -> [[Double]] in
            guard features.rank == 2 else { throw ForensicsError.invalidFeatureShape(features.shape) }
            let (count, dimension) = (features.shape[0], features.shape[1])
            return features.withUnsafeBufferPointer { buffer in
                (0..<count).map { row in (0..<dimension).map { Double(buffer[row * dimension + $0]) } }
            }
        }
        try self.init(featuresByClass: rows, using: &generator)
    }

    /// The FD ratio of a feature extractor the caller supplies (a classifier's penultimate layer,
    /// Inception, PCA of the pixels) applied to each class's samples, for example a batch of
    /// images `[N, C, H, W]` mapped to features `[N, d]`.
    public init<Samples, Generator: RandomNumberGenerator>(
        samplesByClass: [Samples], extractor: (Samples) throws -> Tensor, using generator: inout Generator
    ) throws {
        try self.init(featuresByClass: samplesByClass.map(extractor), using: &generator)
    }
}
