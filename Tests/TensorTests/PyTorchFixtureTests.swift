import Foundation
import XCTest
import TestSupport
@testable import Tensor

/// Forward and backward results matched to fixtures produced by PyTorch
/// (`Tools/make_tensor_fixtures.py`; see Fixtures/README.md).
final class PyTorchFixtureTests: XCTestCase {
    /// One case of a fixture file.
    struct Case {
        let name: String
        let op: String
        let params: [String: Any]
        let inputs: [String: Tensor]
        let output: Tensor
        let gradOutput: Tensor
        let grads: [String: Tensor]

        func ints(_ key: String) -> [Int] { (params[key] as! [NSNumber]).map(\.intValue) }
        func int(_ key: String) -> Int { (params[key] as! NSNumber).intValue }
        func size(_ key: String) -> Size2D { let v = ints(key); return Size2D(v[0], v[1]) }
    }

    static func tensor(_ object: Any) -> Tensor {
        let dictionary = object as! [String: Any]
        let shape = (dictionary["shape"] as! [NSNumber]).map(\.intValue)
        // Parse each number's text as Float directly (the fixtures hold float32 values).
        let data = (dictionary["data"] as! [NSNumber]).map { Float($0.stringValue) ?? $0.floatValue }
        return Tensor(shape: shape, scalars: data)
    }

    static func cases(_ file: String) throws -> [Case] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: file, withExtension: "json", subdirectory: "Fixtures"),
                                "fixture \(file).json missing")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { c in
            Case(name: c["name"] as! String, op: c["op"] as! String, params: c["params"] as! [String: Any],
                 inputs: (c["inputs"] as! [String: Any]).mapValues(tensor), output: tensor(c["output"]!),
                 gradOutput: tensor(c["grad_output"]!),
                 grads: (c["grads"] as? [String: Any] ?? [:]).mapValues(tensor))
        }
    }

    /// Runs every case of `file` through `compute` and compares output and input gradients.
    func check(_ file: String, tolerance: Float = 1e-4, _ compute: (Case, [String: Tensor]) -> Tensor) throws {
        let all = try Self.cases(file)
        XCTAssertFalse(all.isEmpty)
        for c in all {
            let names = c.grads.keys.sorted()
            let leaves = Dictionary(uniqueKeysWithValues: c.inputs.map { name, t in
                (name, names.contains(name) ? t.requiringGradient() : t)
            })
            let output = compute(c, leaves)
            XCTAssertEqual(output.shape, c.output.shape, "\(c.name) output shape")
            assertClose(output, c.output, tolerance: tolerance, "\(c.name) forward")
            guard !names.isEmpty else { continue }
            let grads = gradients(of: output, with: names.map { leaves[$0]! }, seed: c.gradOutput)
            for (name, grad) in zip(names, grads) {
                assertClose(grad, c.grads[name]!, tolerance: tolerance, "\(c.name) gradient of \(name)")
            }
        }
    }

    func testConv2d() throws {
        try check("conv2d") { c, t in
            let p = c.ints("padding")
            return Tensor.conv2d(t["x"]!, weight: t["w"]!, bias: t["b"], stride: c.size("stride"),
                                 padding: Padding2D(top: p[0], bottom: p[1], left: p[2], right: p[3]),
                                 dilation: c.size("dilation"), groups: c.int("groups"))
        }
    }

    func testConvTranspose2d() throws {
        try check("conv_transpose2d") { c, t in
            Tensor.convTranspose2d(t["x"]!, weight: t["w"]!, bias: t["b"], stride: c.size("stride"),
                                   padding: c.size("padding"), outputPadding: c.size("output_padding"),
                                   dilation: c.size("dilation"), groups: c.int("groups"))
        }
    }

    func testResampling() throws {
        try check("resample") { c, t in
            let x = t["x"]!
            switch c.op {
            case "upsample_nearest": return x.upsampledNearest(scale: c.size("scale"))
            case "upsample_bilinear": return x.resizedBilinear(to: c.size("size"))
            case "avg_pool2d":
                return x.averagePooled(kernel: c.size("kernel"), stride: c.size("stride"), padding: c.size("padding"))
            default: XCTFail("unknown op \(c.op)"); return x
            }
        }
    }

    func testUpfirdn2d() throws {
        try check("upfirdn2d") { c, t in
            let p = c.ints("pad")  // StyleGAN order: x0, x1, y0, y1; up/down are [y, x]
            return t["x"]!.upfirdn2d(filter: Self.tensor(c.params["filter"]!), up: c.size("up"), down: c.size("down"),
                                     padding: Padding2D(top: p[2], bottom: p[3], left: p[0], right: p[1]),
                                     flipFilter: c.params["flip_filter"] as! Bool,
                                     gain: (c.params["gain"] as! NSNumber).floatValue)
        }
    }

    func testPad() throws {
        try check("pad") { c, t in
            let pairs = (c.params["pads"] as! [[NSNumber]]).map { (before: $0[0].intValue, after: $0[1].intValue) }
            return t["x"]!.padded(pairs, value: (c.params["value"] as! NSNumber).floatValue)
        }
    }

    func testLosses() throws {
        try check("losses") { c, t in
            let x = t["x"]!
            switch c.op {
            case "bce_with_logits": return Tensor.binaryCrossEntropyWithLogits(logits: x, targets: t["z"]!)
            case "cross_entropy": return Tensor.crossEntropy(logits: x, labels: c.ints("labels"))
            case "log_softmax": return x.logSoftmax(alongAxis: c.int("axis"))
            case "logsumexp": return x.logSumExp(alongAxis: c.int("axis"))
            default: XCTFail("unknown op \(c.op)"); return x
            }
        }
    }

    func testMatmul() throws {
        try check("matmul") { _, t in Tensor.matmul(t["a"]!, t["b"]!) }
    }

    /// Gradients of a gradient penalty with respect to every input, matched to PyTorch's
    /// `autograd.grad(create_graph=True)` followed by a second backward pass.
    func testGradientPenalty() throws {
        try check("double_backward") { c, t in
            let x = t["x"]!
            let input = x.requiresGradient ? x : x.requiringGradient()
            let softplus = (c.params["activation"] as! String) == "softplus"
            var h = Tensor.conv2d(input, weight: t["w1"]!, bias: t["b1"], padding: 1)
            h = softplus ? h.softplus() : h.leakyReLU(negativeSlope: 0.2)
            var d = Tensor.conv2d(h, weight: t["w2"]!, stride: 2, padding: 1)
            if (c.params["output_activation"] as! String) == "softplus" { d = d.softplus() }
            let gx = gradients(of: d.sum(), with: [input], createGraph: true)[0]
            return gx.square().sum()
        }
    }
}
