import Imaging

/// Why a perturbation could not be applied.
public enum PerturbationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A batch that is not `[N, C, H, W]` with N, C > 0, or too small or with the wrong channel
    /// count for the perturbation (`perturbation` is its CLI spelling).
    case invalidImages(shape: [Int], perturbation: String, reason: String)
    /// A parameter outside its valid range (a perturbation built in code, not parsed).
    case invalidParameter(perturbation: String, reason: String)
    /// The JPEG codec failed.
    case imaging(ImagingError)

    public var description: String {
        switch self {
        case let .invalidImages(shape, perturbation, reason):
            return "\(perturbation): images of shape \(shape): \(reason)"
        case let .invalidParameter(perturbation, reason):
            return "\(perturbation): \(reason)"
        case let .imaging(error):
            return "JPEG perturbation: \(error)"
        }
    }
}

/// A perturbation specification (`noise:0.05+jpeg:50`) that does not parse. `description` is one
/// line naming the bad part.
public struct PerturbationParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The whole specification.
    public var specification: String
    /// The `+`-separated part at fault.
    public var part: String
    /// What is wrong with it.
    public var reason: String

    public init(specification: String, part: String, reason: String) {
        self.specification = specification
        self.part = part
        self.reason = reason
    }

    public var description: String {
        specification == part
            ? "invalid perturbation \"\(part)\": \(reason)"
            : "invalid perturbation \"\(part)\" in \"\(specification)\": \(reason)"
    }
}
