import Foundation
import NN
import Tensor

/// A perturbation of a model's weights, the model-level attacks of the artificial-fingerprints
/// paper (Yu et al., ICCV'21, §5.3): quantising every weight to a decimal precision and adding
/// Gaussian noise to every weight.
///
/// Weights are a module's parameters that are not buffers (trainable or frozen); buffers (state
/// such as StyleGAN2's fixed noise maps) are kept as they are. NN copies modules by rebuilding
/// them from their configuration, so a perturbed copy is made in two steps: build a module of
/// the same configuration (`StyleGenerator.copy()`, or the model's initialiser), then
/// `applyPerturbation(_:to:from:using:)` loads the original's perturbed weights into it.
public enum ModelPerturbation: Hashable, Sendable, CustomStringConvertible {
    /// Each weight rounded to the nearest multiple of `10^−decimals` (half to even, as
    /// `torch.round`), computed in double precision (`weight-quantize:1` keeps one decimal).
    case weightQuantization(decimals: Int)
    /// i.i.d. Gaussian noise of `standardDeviation` added to each weight (`weight-noise:0.1`).
    case weightNoise(standardDeviation: Float)

    /// The perturbed value of one weight tensor (noise drawn from `generator`).
    public func perturbed(_ weights: Tensor, using generator: inout SeededGenerator) -> Tensor {
        switch self {
        case .weightQuantization(let decimals):
            let scale = pow(10, Double(decimals))
            var result = weights.detached()
            result.withUnsafeMutableBufferPointer { values in
                for i in values.indices { values[i] = Float((Double(values[i]) * scale).rounded(.toNearestOrEven) / scale) }
            }
            return result
        case .weightNoise(let deviation):
            return withoutGradients {
                weights.detached() + Tensor.normal(weights.shape, standardDeviation: deviation, using: &generator)
            }
        }
    }

    /// Throws `ModelPerturbationError.invalidParameter` for a decimal precision outside −30...30
    /// or a negative or non-finite standard deviation.
    public func validate() throws(ModelPerturbationError) {
        switch self {
        case .weightQuantization(let decimals) where !(-30...30).contains(decimals):
            throw .invalidParameter(perturbation: description, reason: "decimal precision \(decimals) is outside -30...30")
        case .weightNoise(let deviation) where !(deviation.isFinite && deviation >= 0):
            throw .invalidParameter(perturbation: description, reason: "weight noise standard deviation \(deviation) must be finite and ≥ 0")
        default:
            break
        }
    }

    /// `weight-quantize:d` or `weight-noise:σ`.
    public var description: String {
        switch self {
        case .weightQuantization(let decimals): return "weight-quantize:\(decimals)"
        case .weightNoise(let deviation): return "weight-noise:\(deviation)"
        }
    }

    /// Parses `weight-quantize:d` or `weight-noise:σ`.
    /// - Throws: `PerturbationParseError` naming the problem.
    public init(parsing specification: String) throws(PerturbationParseError) {
        let text = specification.trimmingCharacters(in: .whitespaces)
        let fields = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func fail(_ reason: String) -> PerturbationParseError {
            PerturbationParseError(specification: specification, part: text, reason: reason)
        }
        guard fields.count == 2 else {
            throw fail("expected weight-quantize:<decimals> or weight-noise:<standard deviation>")
        }
        switch fields[0].lowercased() {
        case "weight-quantize":
            guard let decimals = Int(fields[1]) else { throw fail("\"\(fields[1])\" is not an integer") }
            self = .weightQuantization(decimals: decimals)
        case "weight-noise":
            guard let deviation = Float(fields[1]), deviation.isFinite else { throw fail("\"\(fields[1])\" is not a finite number") }
            self = .weightNoise(standardDeviation: deviation)
        default:
            throw fail("unknown model perturbation \"\(fields[0])\" (known: weight-quantize, weight-noise)")
        }
        do throws(ModelPerturbationError) { try validate() } catch {
            if case .invalidParameter(_, let reason) = error { throw fail(reason) }
            throw fail("\(error)")
        }
    }
}

/// The perturbed values of every parameter of `module`, keyed by dotted path: weights perturbed
/// in `namedParameters()` order (so a seed gives the same noise), buffers unchanged. The module
/// is not modified.
/// - Throws: `ModelPerturbationError.invalidParameter`.
public func perturbedParameters(of module: Module, by perturbation: ModelPerturbation,
                                using generator: inout SeededGenerator) throws(ModelPerturbationError) -> [String: Tensor] {
    try perturbation.validate()
    var values: [String: Tensor] = [:]
    for (key, parameter) in module.namedParameters() {
        values[key] = parameter.isBuffer ? parameter.value.detached() : perturbation.perturbed(parameter.value, using: &generator)
    }
    return values
}

/// Loads the perturbed parameters of `original` into `copy`, a distinct module with the same
/// keys and shapes (built from the same configuration); `original` is left untouched.
/// - Throws: `ModelPerturbationError.invalidParameter`, or `.incompatibleModules` naming every
///   missing, unexpected and mis-shaped key (then `copy` is unchanged).
public func applyPerturbation(_ perturbation: ModelPerturbation, to copy: Module, from original: Module,
                              using generator: inout SeededGenerator) throws(ModelPerturbationError) {
    precondition(copy !== original, "applyPerturbation: the copy must be a different module from the original")
    let values = try perturbedParameters(of: original, by: perturbation, using: &generator)
    do throws(ParameterLoadError) {
        try copy.loadStateDictionary(values)
    } catch {
        throw .incompatibleModules(error.description)
    }
}

/// Why a model perturbation could not be applied.
public enum ModelPerturbationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A parameter outside its valid range.
    case invalidParameter(perturbation: String, reason: String)
    /// The module receiving the perturbed weights has other keys or shapes than the original
    /// (the message of NN's `ParameterLoadError`).
    case incompatibleModules(String)

    public var description: String {
        switch self {
        case let .invalidParameter(perturbation, reason): return "\(perturbation): \(reason)"
        case let .incompatibleModules(reason): return "the copy does not match the original module: \(reason)"
        }
    }
}
