/// Errors of the Forensics module's metrics on features: malformed feature sets and failures
/// of the linear algebra behind Fréchet distances. The registry has its own, `RegistryError`.
public enum ForensicsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A feature set has fewer samples than the computation needs (a covariance needs two).
    case tooFewSamples(count: Int, minimum: Int)
    /// Row `row` of a feature set has `found` values where the first row had `expected`.
    case raggedFeatures(row: Int, expected: Int, found: Int)
    /// Two feature sets, or a set and a class, have different feature dimensions.
    case dimensionMismatch(expected: Int, found: Int)
    /// A feature tensor is not of rank 2 (`[samples, features]`).
    case invalidFeatureShape([Int])
    /// A feature is NaN or infinite.
    case nonFiniteFeatures
    /// An FD ratio needs at least two classes.
    case tooFewClasses(count: Int)
    /// A LAPACK routine reported failure (`info` as LAPACK returns it).
    case lapackFailure(routine: String, info: Int)

    /// A one-line explanation for users.
    public var description: String {
        switch self {
        case let .tooFewSamples(count, minimum):
            return "feature set of \(count) samples; at least \(minimum) are needed"
        case let .raggedFeatures(row, expected, found):
            return "feature row \(row) has \(found) values, the first row \(expected)"
        case let .dimensionMismatch(expected, found):
            return "feature dimension mismatch: expected \(expected), found \(found)"
        case let .invalidFeatureShape(shape):
            return "features must be a [samples, features] tensor, got shape \(shape)"
        case .nonFiniteFeatures:
            return "features contain NaN or infinite values"
        case let .tooFewClasses(count):
            return "an FD ratio needs at least two classes, got \(count)"
        case let .lapackFailure(routine, info):
            return "LAPACK \(routine) failed with info = \(info)"
        }
    }
}
