import Foundation
import XCTest
@testable import NN
import Tensor

/// Optimisers against PyTorch trajectories (Tools/make_optimizer_fixtures.py), state round trips
/// and the exponential moving average.
final class OptimizerTests: XCTestCase {
    struct Trajectory: Decodable {
        let name: String
        let shape: [Int]
        let initial: [Float]
        let gradients: [[Float]]
        let parameters: [[Float]]
    }

    func trajectories() throws -> [String: Trajectory] {
        struct File: Decodable { let cases: [Trajectory] }
        let url = try XCTUnwrap(Bundle.module.url(forResource: "optimizers", withExtension: "json", subdirectory: "Fixtures"))
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        return Dictionary(uniqueKeysWithValues: file.cases.map { ($0.name, $0) })
    }

    /// Feeds the recorded gradients and compares every step with PyTorch.
    func replay(_ t: Trajectory, _ make: ([(key: String, parameter: Parameter)]) -> Optimizer) {
        let parameter = Parameter(Tensor(shape: t.shape, scalars: t.initial))
        let optimizer = make([("p", parameter)])
        for (step, (gradient, expected)) in zip(t.gradients, t.parameters).enumerated() {
            let g = Tensor(shape: t.shape, scalars: gradient)
            (parameter.value * g).sum().backward()       // accumulates exactly g into the leaf
            XCTAssertTrue(optimizer.step())
            XCTAssertNil(parameter.gradient, "step clears gradients")
            for (a, b) in zip(parameter.value.scalars, expected) {
                XCTAssertEqual(a, b, accuracy: 2e-6 * max(1, abs(b)), "\(t.name) step \(step)")
            }
        }
    }

    func testAdamMatchesPyTorch() throws {
        let all = try trajectories()
        replay(try XCTUnwrap(all["adam_default"])) { Adam(parameters: $0, learningRate: 1e-2) }
        replay(try XCTUnwrap(all["adam_beta1_zero"])) { Adam(parameters: $0, learningRate: 2e-3, beta1: 0, beta2: 0.99) }
    }

    func testSGDMatchesPyTorch() throws {
        replay(try XCTUnwrap(try trajectories()["sgd_momentum"])) { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9) }
    }

    func testStateRoundTripContinuesIdentically() throws {
        let t = try XCTUnwrap(try trajectories()["adam_default"])
        func run(split: Bool) -> [Float] {
            var parameter = Parameter(Tensor(shape: t.shape, scalars: t.initial))
            var adam = Adam(parameters: [("p", parameter)], learningRate: 1e-2)
            for (step, gradient) in t.gradients.enumerated() {
                if split && step == 3 {
                    // Save, rebuild from scratch, restore: the continuation must be identical.
                    let state = adam.stateDictionary(), value = parameter.value
                    parameter = Parameter(value)
                    adam = Adam(parameters: [("p", parameter)], learningRate: 1e-2)
                    XCTAssertNoThrow(try adam.loadStateDictionary(state))
                }
                (parameter.value * Tensor(shape: t.shape, scalars: gradient)).sum().backward()
                adam.step()
            }
            return parameter.value.scalars
        }
        XCTAssertEqual(run(split: true), run(split: false))
    }

    func testNonFiniteGradientSkipsTheStep() {
        let parameter = Parameter(Tensor([1, 2]))
        let adam = Adam(parameters: [("p", parameter)], learningRate: 0.1)
        (parameter.value * Tensor([Float.nan, 1])).sum().backward()
        XCTAssertFalse(adam.step())
        XCTAssertEqual(parameter.value.scalars, [1, 2])
        XCTAssertEqual(adam.stepCount, 0)
        XCTAssertThrowsError(try adam.loadStateDictionary(["step": Tensor(1)]))
    }

    func testLearningRateMultiplierScalesTheStep() {
        let a = Parameter(Tensor([0])), b = Parameter(Tensor([0]))
        let adam = Adam(parameters: [("mapping.w", a), ("synthesis.w", b)], learningRate: 0.1,
                        learningRateMultipliers: ["mapping": 0.01])
        (a.value + b.value).sum().backward()
        adam.step()
        // The first Adam step moves by lr·sign(g) (up to ε).
        XCTAssertEqual(a.value.scalar, -0.001, accuracy: 1e-7)
        XCTAssertEqual(b.value.scalar, -0.1, accuracy: 1e-6)
    }

    func testExponentialMovingAverage() {
        let model = Parameter(Tensor([10])), average = Parameter(Tensor([0]))
        let buffer = Parameter(Tensor([5]), trainable: false), averageBuffer = Parameter(Tensor([0]), trainable: false)
        final class Holder: Module {
            let w: Parameter, noise: Parameter
            init(_ w: Parameter, _ noise: Parameter) { self.w = w; self.noise = noise; super.init() }
        }
        let ema = ExponentialMovingAverage(decay: 0.9)
        ema.update(Holder(average, averageBuffer), toward: Holder(model, buffer))
        XCTAssertEqual(average.value.scalar, 1, accuracy: 1e-6)
        XCTAssertEqual(averageBuffer.value.scalar, 5)
        XCTAssertEqual(ExponentialMovingAverage(halfLifeImages: 10_000, batchSize: 16).decay, 0.998892, accuracy: 1e-6)
    }
}
