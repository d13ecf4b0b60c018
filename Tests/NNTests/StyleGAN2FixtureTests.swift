import Foundation
import XCTest
import TestSupport
@testable import NN
import Tensor

/// The StyleGAN2 layers matched forward and backward to an independent PyTorch implementation
/// of the TensorFlow semantics (Fixtures/stylegan2.json).
final class StyleGAN2FixtureTests: XCTestCase {
    /// Builds the module of a case; the result maps named inputs to named outputs.
    private func make(_ op: String, _ p: [String: Any]) -> (Module, ([String: Tensor]) -> [String: Tensor]) {
        var g = SeededGenerator(seed: 0)
        func int(_ key: String) -> Int { (p[key] as! NSNumber).intValue }
        func bool(_ key: String) -> Bool { p[key] as! Bool }
        func activation() -> StyleActivation { (p["activation"] as? String) == "lrelu" ? .leakyReLU : .linear }
        switch op {
        case "equalized_linear":
            let m = EqualizedLinear(inputCount: int("in_features"), outputCount: int("out_features"), bias: bool("bias"),
                                    learningRateMultiplier: (p["lrmul"] as! NSNumber).floatValue, activation: activation(),
                                    generator: &g)
            return (m, { ["output": m($0["x"]!)] })
        case "equalized_conv2d":
            let m = EqualizedConv2d(inputChannels: int("in_channels"), outputChannels: int("out_channels"),
                                    kernelSize: int("kernel"), bias: bool("bias"), downsample: bool("down"),
                                    activation: activation(), generator: &g)
            return (m, { ["output": m($0["x"]!)] })
        case "modulated_conv2d":
            let m = ModulatedConv2d(inputChannels: int("in_channels"), outputChannels: int("out_channels"),
                                    kernelSize: int("kernel"), styleDimension: int("w_dim"), demodulate: bool("demodulate"),
                                    upsample: bool("up"), generator: &g)
            return (m, { ["output": m($0["x"]!, style: $0["w"]!)] })
        case "synthesis_layer":
            let m = SynthesisLayer(inputChannels: int("in_channels"), outputChannels: int("out_channels"),
                                   styleDimension: int("w_dim"), upsample: bool("up"), generator: &g)
            return (m, { ["output": m($0["x"]!, style: $0["w"]!, noise: $0["noise"]!)] })
        case "to_rgb":
            let m = ToRGB(inputChannels: int("in_channels"), imageChannels: int("out_channels"), styleDimension: int("w_dim"),
                          generator: &g)
            return (m, { ["output": m($0["x"]!, style: $0["w"]!)] })
        case "synthesis_block":
            let m = SynthesisBlock(inputChannels: int("in_channels"), outputChannels: int("out_channels"),
                                   imageChannels: int("img_channels"), styleDimension: int("w_dim"), generator: &g)
            return (m, { t in
                let w = t["w"]!
                let (x, image) = m(t["x"]!, image: t["img"]!, styles: [w, w, w], noise: [t["noise0"]!, t["noise1"]!])
                return ["x": x, "img": image]
            })
        case "mapping_network":
            let m = MappingNetwork(inputCount: int("in_features"), width: int("width"), outputCount: int("width"),
                                   depth: int("depth"), learningRateMultiplier: (p["lrmul"] as! NSNumber).floatValue,
                                   generator: &g)
            return (m, { ["output": m($0["c"]!)] })
        case "discriminator_block":
            let m = DiscriminatorBlock(inputChannels: int("in_channels"), outputChannels: int("out_channels"), generator: &g)
            return (m, { ["output": m($0["x"]!)] })
        case "minibatch_stddev":
            let m = MinibatchStdDev(groupSize: int("group_size"))
            return (m, { ["output": m($0["x"]!)] })
        case "discriminator_epilogue":
            let m = DiscriminatorEpilogue(channels: int("channels"), denseChannels: int("channels"), outputCount: int("outputs"),
                                          minibatchGroupSize: bool("mbstd") ? int("mbstd_group_size") : nil, generator: &g)
            return (m, { ["output": m($0["x"]!)] })
        default:
            preconditionFailure("unknown fixture op \(op)")
        }
    }

    func testAllCases() throws {
        let keyMap = KeyMap(componentRenames: ["torgb": "toRGB"])
        let cases = try Fixtures.cases("stylegan2")
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for c in cases {
            let name = c["name"] as! String
            let (module, forward) = make(c["op"] as! String, c["params"] as! [String: Any])
            try module.loadStateDictionary(keyMap.apply(to: Fixtures.tensors(c["parameters"])))
            let inputs = Fixtures.tensors(c["inputs"]).mapValues { $0.requiringGradient() }
            let outputs = forward(inputs)
            let expected = c["outputs"].map(Fixtures.tensors) ?? ["output": Fixtures.tensor(c["output"])]
            let seeds = c["grad_outputs"].map(Fixtures.tensors) ?? ["output": Fixtures.tensor(c["grad_output"])]
            var objective: Tensor?
            for (key, value) in expected {
                let output = try XCTUnwrap(outputs[key], "\(name): output \(key)")
                assertClose(output, value, "\(name) forward \(key)")
                let term = (output * seeds[key]!).sum()
                objective = objective.map { $0 + term } ?? term
            }
            let inputGrads = Fixtures.tensors(c["grads"])
            let parameterGrads = keyMap.apply(to: Fixtures.tensors(c["parameter_grads"]))
            let parameters = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.key, $0.parameter) })
            let inputNames = inputGrads.keys.sorted(), parameterNames = parameterGrads.keys.sorted()
            let targets = inputNames.map { inputs[$0]! } + parameterNames.map { parameters[$0]!.value }
            let computed = gradients(of: objective!, with: targets)
            for (i, key) in inputNames.enumerated() {
                assertClose(computed[i], inputGrads[key]!, "\(name) gradient of input \(key)")
            }
            for (i, key) in parameterNames.enumerated() {
                assertClose(computed[inputNames.count + i], parameterGrads[key]!, "\(name) gradient of \(key)")
            }
        }
    }
}
