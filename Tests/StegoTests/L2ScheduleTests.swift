import XCTest
@testable import Stego

/// The λ schedules of artificial-fingerprints spec §4.4.
final class L2ScheduleTests: XCTestCase {
    func testAccuracyGatedScheduleOpensOnceAndRamps() {
        let schedule = L2Schedule.official
        var state = L2ScheduleState()
        // Closed while accuracy stays at or below 0.9 (strictly greater opens it).
        for _ in 0..<50 {
            XCTAssertEqual(state.weight(schedule), 0)
            state.advance(schedule, bitAccuracy: 0.9)
        }
        state.advance(schedule, bitAccuracy: 0.95)           // trigger
        var weights: [Float] = []
        for _ in 1...4100 {
            weights.append(state.weight(schedule))
            state.advance(schedule, bitAccuracy: 0.1)       // the gate never closes again
        }
        // k-th step after the trigger: w = 10·(k − 1 − 1000)/3000.
        XCTAssertEqual(weights[1000], 0)                      // k = 1001
        XCTAssertEqual(weights[1001], 10.0 / 3000, accuracy: 1e-6)
        XCTAssertEqual(weights[2500], 10 * 1500 / 3000, accuracy: 1e-4)
        XCTAssertEqual(weights[4000], 10)                     // k = 4001
        XCTAssertEqual(weights[4099], 10)
    }

    func testFixedScheduleFollowsTheGlobalStep() {
        let schedule = L2Schedule.fixed()
        var state = L2ScheduleState()
        var weights: [Float] = []
        for _ in 0..<4200 {
            weights.append(state.weight(schedule))
            state.advance(schedule, bitAccuracy: 0)
        }
        XCTAssertEqual(weights[999], 0)                        // global step 1000
        XCTAssertEqual(weights[2499], 5, accuracy: 1e-4)       // global step 2500
        XCTAssertEqual(weights[4199], 10)
    }

    /// A fine-tuning run's schedule starts at the end of the gated ramp, whatever the accuracy.
    func testCompletedScheduleStartsAtTheMaximum() {
        let schedule = L2Schedule.accuracyGated(maximum: 3, await: 20, ramp: 50)
        var state = L2ScheduleState.completed(schedule)
        XCTAssertEqual(state.step, 0)
        for _ in 0..<10 {
            XCTAssertEqual(state.weight(schedule), 3)
            state.advance(schedule, bitAccuracy: 0.2)
        }
        XCTAssertEqual(L2ScheduleState.completed(.fixed()).weight(.fixed()), 0, "the fixed schedule keys on the step")
    }
}
