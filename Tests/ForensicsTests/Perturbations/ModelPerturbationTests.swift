import Forensics
import NN
import Tensor
import XCTest

/// A small model with a layer, a parameter of its own and a buffer.
private final class TinyModel: Module {
    let layer: Linear
    let scale: Parameter
    let buffer: Parameter

    init(seed: UInt64, outputs: Int = 64) {
        var generator = SeededGenerator(seed: seed)
        layer = Linear(inputCount: 64, outputCount: outputs, generator: &generator)
        scale = Parameter(Tensor.normal([8], using: &generator))
        buffer = Parameter(Tensor.normal([4], using: &generator), trainable: false)
        super.init()
    }
}

final class ModelPerturbationTests: XCTestCase {
    /// Every weight is rounded to the nearest multiple of 10^−d; buffers and the original are untouched.
    func testWeightQuantizationRoundsEveryWeight() throws {
        let original = TinyModel(seed: 1)
        let before = original.stateDictionary()
        for decimals in [0, 1, 2] {
            let copy = TinyModel(seed: 99)
            var generator = SeededGenerator(seed: 1)
            try applyPerturbation(.weightQuantization(decimals: decimals), to: copy, from: original, using: &generator)
            let scale = pow(10, Double(decimals))
            let perturbed = copy.stateDictionary()
            for (key, value) in before {
                let result = perturbed[key]!.scalars
                if key == "buffer" {
                    XCTAssertEqual(result, value.scalars, "buffers are not weights")
                    continue
                }
                for (w, q) in zip(value.scalars, result) {
                    XCTAssertEqual(Double(q), (Double(w) * scale).rounded(.toNearestOrEven) / scale, accuracy: 1e-6, key)
                    XCTAssertLessThanOrEqual(abs(Double(q) - Double(w)), 0.5 / scale + 1e-6)
                }
                XCTAssertLessThanOrEqual(Set(result).count, Int(2 * 3 * scale) + 1, "\(key): too many distinct values")
            }
            XCTAssertTrue(copy.namedParameters().first { $0.key == "scale" }!.parameter.isTrainable)
        }
        for (key, value) in original.stateDictionary() { XCTAssertEqual(value.scalars, before[key]!.scalars, "original \(key) changed") }
        // Precision 0.1 leaves few values: the layer's weights (|w| < 1/8) round to −0.1, 0 or 0.1.
        var unused = SeededGenerator(seed: 0)
        let coarse = try perturbedParameters(of: original, by: .weightQuantization(decimals: 1), using: &unused)
        XCTAssertEqual(Set(coarse["layer.weight"]!.scalars.map { ($0 * 10).rounded() }), [-1, 0, 1])
    }

    /// Weight noise has the requested standard deviation, is seeded, and changes only the copy.
    func testWeightNoiseIsSeededGaussian() throws {
        let original = TinyModel(seed: 2)
        let before = original.stateDictionary()
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
        let first = try perturbedParameters(of: original, by: .weightNoise(standardDeviation: 0.05), using: &a)
        let second = try perturbedParameters(of: original, by: .weightNoise(standardDeviation: 0.05), using: &b)
        XCTAssertEqual(Set(first.keys), Set(before.keys))
        var differences: [Float] = []
        for key in before.keys {
            XCTAssertEqual(first[key]!.scalars, second[key]!.scalars, "same seed, \(key)")
            if key == "buffer" { XCTAssertEqual(first[key]!.scalars, before[key]!.scalars) } else {
                differences += zip(first[key]!.scalars, before[key]!.scalars).map { $0 - $1 }
            }
        }
        XCTAssertEqual(differences.count, 64 * 64 + 64 + 8)
        let measured = moments(differences)
        XCTAssertEqual(measured.standardDeviation, 0.05, accuracy: 0.0025)
        XCTAssertEqual(measured.mean, 0, accuracy: 0.0025)
        XCTAssertFalse(first["layer.weight"]!.requiresGradient)

        let copy = TinyModel(seed: 3)
        var c = SeededGenerator(seed: 7)
        try applyPerturbation(.weightNoise(standardDeviation: 0.05), to: copy, from: original, using: &c)
        for (key, value) in copy.stateDictionary() { XCTAssertEqual(value.scalars, first[key]!.scalars, key) }
        for (key, value) in original.stateDictionary() { XCTAssertEqual(value.scalars, before[key]!.scalars, "original \(key) changed") }
    }

    /// A StyleGAN2 generator copied by configuration and perturbed: the copy differs, the original not.
    func testPerturbedStyleGeneratorCopy() throws {
        var generator = SeededGenerator(seed: 4)
        let original = StyleGenerator(.init(resolution: 8, imageChannels: 1, latentDimension: 8, styleDimension: 8, mappingDepth: 2,
                                            channels: ChannelSchedule(base: 64, maximum: 16)), generator: &generator)
        let before = original.stateDictionary()
        let copy = original.copy()
        try applyPerturbation(.weightNoise(standardDeviation: 0.1), to: copy, from: original, using: &generator)
        var changed = 0
        for (key, parameter) in copy.namedParameters() {
            let same = parameter.value.scalars == before[key]!.scalars
            XCTAssertEqual(same, parameter.isBuffer, key)
            if !same { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 0)
        for (key, value) in original.stateDictionary() { XCTAssertEqual(value.scalars, before[key]!.scalars, "original \(key) changed") }
    }

    /// A copy of another architecture is refused by name and left unchanged; bad parameters are errors.
    func testIncompatibleCopiesAndBadParametersAreErrors() {
        let original = TinyModel(seed: 1), other = TinyModel(seed: 2, outputs: 32)
        let otherBefore = other.stateDictionary()
        var generator = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try applyPerturbation(.weightNoise(standardDeviation: 0.1), to: other, from: original, using: &generator)) { error in
            guard case .incompatibleModules(let message)? = error as? ModelPerturbationError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("layer.weight"), message)
        }
        for (key, value) in other.stateDictionary() { XCTAssertEqual(value.scalars, otherBefore[key]!.scalars, key) }
        XCTAssertThrowsError(try perturbedParameters(of: original, by: .weightNoise(standardDeviation: -1), using: &generator))
        XCTAssertThrowsError(try perturbedParameters(of: original, by: .weightQuantization(decimals: 40), using: &generator))
    }

    func testModelPerturbationSpellings() throws {
        XCTAssertEqual(try ModelPerturbation(parsing: "weight-quantize:1"), .weightQuantization(decimals: 1))
        XCTAssertEqual(try ModelPerturbation(parsing: "weight-noise:0.18"), .weightNoise(standardDeviation: 0.18))
        for value: ModelPerturbation in [.weightQuantization(decimals: 3), .weightNoise(standardDeviation: 0.05)] {
            XCTAssertEqual(try ModelPerturbation(parsing: value.description), value)
        }
        for bad in ["weight-noise:-1", "weight-quantize:x", "weights:1", "weight-noise"] {
            XCTAssertThrowsError(try ModelPerturbation(parsing: bad), bad)
        }
    }
}
