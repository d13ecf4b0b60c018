import XCTest
@testable import NN
import Tensor

/// Reflection, naming, loading with verification, freezing and modes.
final class ModuleTests: XCTestCase {
    final class Block: Module {
        let conv: Conv2d
        let extra: Parameter?
        let _cache = Parameter(Tensor.zeros([1]))     // ignored: leading underscore
        init(generator: inout SeededGenerator, extra: Bool) {
            conv = Conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: 1, generator: &generator)
            self.extra = extra ? Parameter(Tensor.ones([4])) : nil
            super.init()
        }
    }

    final class Model: Module {
        let blocks: [Block]
        let head: Sequential
        let scale = Parameter(Tensor(2), trainable: false)
        init(generator: inout SeededGenerator) {
            blocks = [Block(generator: &generator, extra: true), Block(generator: &generator, extra: false)]
            head = Sequential([Linear(inputCount: 3, outputCount: 2, generator: &generator), ReLU(),
                               Linear(inputCount: 2, outputCount: 1, bias: false, generator: &generator)])
            super.init()
        }
    }

    func makeModel(seed: UInt64 = 1) -> Model {
        var generator = SeededGenerator(seed: seed)
        return Model(generator: &generator)
    }

    func testDottedParameterPaths() {
        let keys = makeModel().namedParameters().map(\.key)
        XCTAssertEqual(keys, ["blocks.0.conv.weight", "blocks.0.conv.bias", "blocks.0.extra",
                              "blocks.1.conv.weight", "blocks.1.conv.bias",
                              "head.0.weight", "head.0.bias", "head.2.weight", "scale"])
        XCTAssertEqual(makeModel().trainableParameters().count, 8)
        XCTAssertEqual(makeModel().parameterCount, 2 * (54 + 3) + 4 + 6 + 2 + 2 + 1)
    }

    func testSameSeedSameWeights() {
        XCTAssertEqual(makeModel(seed: 5).stateDictionary()["blocks.1.conv.weight"]?.scalars,
                       makeModel(seed: 5).stateDictionary()["blocks.1.conv.weight"]?.scalars)
        XCTAssertNotEqual(makeModel(seed: 5).stateDictionary()["blocks.1.conv.weight"]?.scalars,
                          makeModel(seed: 6).stateDictionary()["blocks.1.conv.weight"]?.scalars)
    }

    func testLoadReportsEveryProblemAndChangesNothing() {
        let model = makeModel()
        let before = model.stateDictionary()
        var state = makeModel(seed: 9).stateDictionary()
        state["blocks.0.extra"] = nil
        state["head.0.weight"] = Tensor.zeros([2, 4])
        state["surplus.weight"] = Tensor.zeros([1])
        XCTAssertThrowsError(try model.loadStateDictionary(state)) { error in
            let e = error as! ParameterLoadError
            XCTAssertEqual(e.missing, ["blocks.0.extra"])
            XCTAssertEqual(e.unexpected, ["surplus.weight"])
            XCTAssertEqual(e.mismatched, [.init(key: "head.0.weight", expected: [2, 3], found: [2, 4])])
            XCTAssertTrue(e.description.contains("blocks.0.extra"))
        }
        XCTAssertEqual(model.stateDictionary()["blocks.1.conv.weight"]?.scalars, before["blocks.1.conv.weight"]?.scalars)
        // Non-strict loading accepts a subset but never a wrong shape.
        XCTAssertNoThrow(try model.loadStateDictionary(["scale": Tensor(3)], strict: false))
        XCTAssertEqual(model.scale.value.scalar, 3)
    }

    func testCopyParametersGivesSameOutputs() throws {
        let a = makeModel(seed: 1), b = makeModel(seed: 2)
        var generator = SeededGenerator(seed: 3)
        let x = Tensor.normal([2, 2, 5, 5], using: &generator)
        XCTAssertNotEqual(a.blocks[0].conv(x).scalars, b.blocks[0].conv(x).scalars)
        try b.copyParameters(from: a)
        XCTAssertEqual(a.blocks[0].conv(x).scalars, b.blocks[0].conv(x).scalars)
    }

    func testFreezeStopsGradients() {
        let model = makeModel()
        model.freeze(["blocks.0"])
        XCTAssertFalse(model.blocks[0].conv.weight.isTrainable)
        XCTAssertTrue(model.blocks[1].conv.weight.isTrainable)
        var generator = SeededGenerator(seed: 4)
        let x = Tensor.normal([1, 2, 4, 4], using: &generator)
        model.blocks[1].conv(model.blocks[0].conv(x).sliced(0..<2, alongAxis: 1)).sum().backward()
        XCTAssertNil(model.blocks[0].conv.weight.gradient)
        XCTAssertNotNil(model.blocks[1].conv.weight.gradient)
        model.unfreeze()
        XCTAssertEqual(model.trainableParameters().count, 8)
    }

    func testTrainingMode() {
        let model = makeModel()
        XCTAssertTrue(model.blocks[1].conv.isTraining)
        model.eval()
        XCTAssertFalse(model.blocks[1].conv.isTraining)
        XCTAssertFalse(model.head.isTraining)
        model.train()
        XCTAssertTrue(model.head.isTraining)
    }

    func testKeyMap() {
        let map = KeyMap(componentRenames: ["torgb": "toRGB"])
        XCTAssertEqual(map("secret_dense.weight"), "secretDense.weight")
        XCTAssertEqual(map("b8.torgb.conv.noise_strength"), "b8.toRGB.conv.noiseStrength")
        XCTAssertEqual(map("decoder.10.bias"), "decoder.10.bias")
        XCTAssertEqual(KeyMap.identity("secret_dense.weight"), "secret_dense.weight")
    }
}
