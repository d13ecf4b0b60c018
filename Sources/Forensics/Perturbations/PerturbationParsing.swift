import Foundation

/// The CLI spelling of perturbations: `name[:argument...]`, joined by `+` to compose.
///
/// | spelling | perturbation |
/// |---|---|
/// | `noise:0.05` | Gaussian noise, σ in [0, 1] units |
/// | `blur:5`, `blur:5:1.5` | Gaussian blur, kernel size (and sigma) |
/// | `jpeg:50` | JPEG at quality 50 |
/// | `crop:86`, `crop:0.9`, `crop:86:resize` | centre crop to pixels (an integer) or a fraction of each side (a decimal), optionally resized back |
/// | `cropresize:0.8` | random crop of 80 % of the area, resized back |
/// | `brightness:0.1` | `x + 0.1` |
/// | `contrast:1.2` | contrast factor 1.2 |
/// | `quantize:16` | 16 levels (`quantize:256` is 8 bits) |
/// | `lightramp:0.3` | lighting ramp (relighting stand-in) |
/// | `combo`, `combo:std` | the ICCV'19 random combination |
/// | `none` | the identity |
extension Perturbation: CustomStringConvertible, LosslessStringConvertible {
    /// The names the parser knows, in the order of the table above.
    public static let specificationNames = ["noise", "blur", "jpeg", "crop", "cropresize", "brightness", "contrast",
                                            "quantize", "lightramp", "combo", "none"]

    /// The CLI spelling, which `Perturbation(parsing:)` reads back to an equal value (for the
    /// combination only with the paper's settings).
    public var description: String {
        switch self {
        case .gaussianNoise(let deviation): return "noise:\(deviation)"
        case .gaussianBlur(let size, nil): return "blur:\(size)"
        case let .gaussianBlur(size, sigma?): return "blur:\(size):\(sigma)"
        case .jpeg(let quality): return "jpeg:\(quality)"
        case let .centerCrop(size, resizedBack): return "crop:\(size)" + (resizedBack ? ":resize" : "")
        case .randomCropResize(let area): return "cropresize:\(area)"
        case .brightness(let offset): return "brightness:\(offset)"
        case .contrast(let factor): return "contrast:\(factor)"
        case .quantization(let levels): return "quantize:\(levels)"
        case .lightingRamp(let amplitude): return "lightramp:\(amplitude)"
        case .randomCombination(let combination): return combination.description
        case .sequence(let list): return list.isEmpty ? "none" : list.map(\.description).joined(separator: "+")
        }
    }

    /// Parses a specification such as `noise:0.05+jpeg:50` (see the table above). Names are
    /// case-insensitive; spaces around parts are ignored. A composition is returned flattened, as
    /// `composed(_:)` builds it.
    /// - Throws: `PerturbationParseError` naming the first bad part.
    public init(parsing specification: String) throws(PerturbationParseError) {
        let parts = specification.split(separator: "+", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var stages: [Perturbation] = []
        for part in parts {
            do throws(ParseFailure) {
                stages.append(try Perturbation.parsePart(part))
            } catch {
                throw PerturbationParseError(specification: specification, part: part, reason: error.reason)
            }
        }
        self = Perturbation.composed(stages)
    }

    /// `Perturbation(parsing:)`, nil on error (`LosslessStringConvertible`).
    public init?(_ description: String) {
        guard let parsed = try? Perturbation(parsing: description) else { return nil }
        self = parsed
    }

    private static func parsePart(_ part: String) throws(ParseFailure) -> Perturbation {
        guard !part.isEmpty else { throw ParseFailure("empty perturbation (two '+' in a row, or one at an end?)") }
        let fields = part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let name = fields[0].lowercased()
        let arguments = Array(fields.dropFirst())
        func expect(_ counts: ClosedRange<Int>, _ usage: String) throws(ParseFailure) {
            guard counts.contains(arguments.count) else { throw ParseFailure("\(name) takes \(usage)") }
        }
        let perturbation: Perturbation
        switch name {
        case "noise":
            try expect(1...1, "a standard deviation (noise:0.05)")
            perturbation = .gaussianNoise(standardDeviation: try float(arguments[0]))
        case "blur":
            try expect(1...2, "a kernel size and optionally a sigma (blur:5 or blur:5:1.1)")
            perturbation = .gaussianBlur(kernelSize: try integer(arguments[0]),
                                         sigma: arguments.count == 2 ? try float(arguments[1]) : nil)
        case "jpeg":
            try expect(1...1, "a quality 1...100 (jpeg:50)")
            perturbation = .jpeg(quality: try integer(arguments[0]))
        case "crop":
            try expect(1...2, "a size in pixels or a fraction, optionally ':resize' (crop:86, crop:0.9:resize)")
            let size: CropSize
            if let pixels = Int(arguments[0]) { size = .pixels(pixels) } else { size = .fraction(try float(arguments[0])) }
            if arguments.count == 2 && arguments[1].lowercased() != "resize" {
                throw ParseFailure("crop's second field must be 'resize', not \"\(arguments[1])\"")
            }
            perturbation = .centerCrop(size, resizedBack: arguments.count == 2)
        case "cropresize":
            try expect(1...1, "an area fraction (cropresize:0.8)")
            perturbation = .randomCropResize(areaFraction: try float(arguments[0]))
        case "brightness":
            try expect(1...1, "an offset (brightness:0.1)")
            perturbation = .brightness(offset: try float(arguments[0]))
        case "contrast":
            try expect(1...1, "a factor (contrast:1.2)")
            perturbation = .contrast(factor: try float(arguments[0]))
        case "quantize":
            try expect(1...1, "a number of levels (quantize:16, or quantize:256 for 8 bits)")
            perturbation = .quantization(levels: try integer(arguments[0]))
        case "lightramp":
            try expect(1...1, "an amplitude in [0, 1] (lightramp:0.3)")
            perturbation = .lightingRamp(amplitude: try float(arguments[0]))
        case "combo":
            try expect(0...1, "no argument, or 'std' to read the noise range as σ (combo, combo:std)")
            var combination = RandomCombination.iccv19
            if let argument = arguments.first {
                guard argument.lowercased() == "std" else { throw ParseFailure("combo's argument must be 'std', not \"\(argument)\"") }
                combination.noiseScale = .standardDeviation
            }
            perturbation = .randomCombination(combination)
        case "none":
            try expect(0...0, "no argument")
            perturbation = .identity
        default:
            throw ParseFailure("unknown perturbation \"\(fields[0])\" (known: \(specificationNames.joined(separator: ", ")))")
        }
        if let reason = perturbation.invalidParameterReason { throw ParseFailure(reason) }
        return perturbation
    }
}

/// A part's parse failure, before the specification is attached.
private struct ParseFailure: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

private func float(_ text: String) throws(ParseFailure) -> Float {
    guard let value = Float(text), value.isFinite else { throw ParseFailure("\"\(text)\" is not a finite number") }
    return value
}

private func integer(_ text: String) throws(ParseFailure) -> Int {
    guard let value = Int(text) else { throw ParseFailure("\"\(text)\" is not an integer") }
    return value
}
