import Foundation
import XCTest
import TestSupport
@testable import NN
import Tensor

/// The StegaStamp encoder and decoder at 32×32 (1 channel) and 128×128 (3 channels), with the
/// official PyTorch key names, matched forward and backward to PyTorch (Fixtures/stegastamp.json;
/// parameters and inputs are regenerated here from the fixture's SplitMix64 seed).
final class StegaStampFixtureTests: XCTestCase {
    /// SplitMix64 and the uniform draw of Tools/make_nn_fixtures.py.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }
    }

    /// The tensors of a case's binary side file by name (possibly truncated along axis 0).
    func binaryTensors(_ c: [String: Any]) throws -> [String: Tensor] {
        let file = (c["binary_file"] as! String).replacingOccurrences(of: ".bin", with: "")
        let data = try Data(contentsOf: Fixtures.url(file, "bin"))
        let floats: [Float] = data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        var result: [String: Tensor] = [:]
        for entry in c["binary"] as! [[String: Any]] {
            let shape = (entry["shape"] as! [NSNumber]).map(\.intValue)
            let offset = (entry["offset"] as! NSNumber).intValue
            let count = shape.reduce(1, *)
            result[entry["name"] as! String] = Tensor(shape: shape, scalars: Array(floats[offset..<(offset + count)]))
        }
        return result
    }

    /// Error relative to the reference tensor's own largest magnitude.
    func assertMatches(_ actual: Tensor, _ expected: Tensor, tolerance: Float, _ message: String) {
        // A stored gradient may be the leading rows only: compare that many leading elements.
        let prefix = Array(actual.scalars.prefix(expected.count))
        XCTAssertEqual(prefix.count, expected.count, message)
        let scale = expected.scalars.map { abs($0) }.max() ?? 0
        let error = zip(prefix, expected.scalars).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(error, tolerance * max(scale, 1e-30), "\(message): max error \(error), scale \(scale)")
    }

    func testAllCases() throws {
        let cases = try Fixtures.cases("stegastamp")
        XCTAssertEqual(cases.count, 4)
        let keyMap = KeyMap()   // snake_case → camelCase: secret_dense → secretDense
        for c in cases {
            let name = c["name"] as! String
            let p = c["params"] as! [String: Any]
            let (r, channels, bits) = ((p["resolution"] as! NSNumber).intValue, (p["channels"] as! NSNumber).intValue,
                                       (p["fingerprint_length"] as! NSNumber).intValue)
            let generation = c["parameter_generation"] as! [String: Any]
            var random = SplitMix64(state: (generation["seed"] as! NSNumber).uint64Value)
            func draw(_ shape: [Int], _ transform: (Float) -> Float) -> Tensor {
                Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in transform(random.uniform()) })
            }
            var parameters: [String: Tensor] = [:]
            for entry in generation["order"] as! [[String: Any]] {
                let shape = (entry["shape"] as! [NSNumber]).map(\.intValue)
                let bound = Float(1) / Float((entry["fan_in"] as! NSNumber).intValue).squareRoot()
                parameters[keyMap(entry["key"] as! String)] = draw(shape) { (2 * $0 - 1) * bound }
            }
            var generator = SeededGenerator(seed: 0)
            let isEncoder = (c["op"] as! String) == "stegastamp_encoder"
            let n = (p["batch"] as! NSNumber).intValue
            let module: Module, forward: ([String: Tensor]) -> Tensor, inputs: [String: Tensor]
            if isEncoder {
                let encoder = StegaStampEncoder(resolution: r, imageChannels: channels, fingerprintLength: bits, generator: &generator)
                let fingerprint = draw([n, bits]) { $0 < 0.5 ? 1 : 0 }
                let image = draw([n, channels, r, r]) { $0 }
                (module, inputs) = (encoder, ["fingerprint": fingerprint, "image": image])
                forward = { encoder(fingerprints: $0["fingerprint"]!, images: $0["image"]!) }
            } else {
                let decoder = StegaStampDecoder(resolution: r, imageChannels: channels, fingerprintLength: bits, generator: &generator)
                (module, inputs) = (decoder, ["image": draw([n, channels, r, r]) { $0 }])
                forward = { decoder($0["image"]!) }
            }
            try module.loadStateDictionary(parameters)
            XCTAssertEqual(module.parameterCount, (p["parameter_count"] as! NSNumber).intValue, name)

            let binary = try binaryTensors(c)
            let leaves = inputs.mapValues { $0.requiringGradient() }
            let output = forward(leaves)
            let expectedOutput = c["output"].map(Fixtures.tensor) ?? binary["output"]!
            assertMatches(output, expectedOutput, tolerance: 1e-4, "\(name) forward")
            let seed = draw(output.shape) { 2 * $0 - 1 }
            if let stored = c["grad_output"].map(Fixtures.tensor) ?? binary["grad_output"] {
                XCTAssertEqual(seed.scalars, stored.scalars, "\(name): regenerated grad_output")
            }
            var expectedGrads = Fixtures.tensors(c["grads"])
            for (key, tensor) in binary where key.hasPrefix("grads.") { expectedGrads[String(key.dropFirst(6))] = tensor }
            let parameterGrads = binary.filter { $0.key.hasPrefix("parameter_grads.") }
                .map { (keyMap(String($0.key.dropFirst(16))), $0.value) }
            let moduleParameters = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.key, $0.parameter) })
            let inputNames = expectedGrads.keys.sorted()
            let targets = inputNames.map { leaves[$0]! } + parameterGrads.map { moduleParameters[$0.0]!.value }
            let computed = gradients(of: (output * seed).sum(), with: targets)
            for (i, key) in inputNames.enumerated() {
                assertMatches(computed[i], expectedGrads[key]!, tolerance: 1e-4, "\(name) gradient of input \(key)")
            }
            XCTAssertFalse(parameterGrads.isEmpty)
            for (i, (key, expected)) in parameterGrads.enumerated() {
                assertMatches(computed[inputNames.count + i], expected, tolerance: 1e-4, "\(name) gradient of \(key)")
            }
        }
    }
}
