/// The weight λ of the image-fidelity (MSE) loss over training (artificial-fingerprints spec §4.4).
public enum L2Schedule: Codable, Hashable, Sendable {
    /// The official schedule: λ = 0 until the first batch whose bit accuracy exceeds
    /// `accuracyThreshold`; then `await` more steps at 0; then a linear ramp over `ramp` steps to
    /// `maximum`, held to the end.
    case accuracyGated(maximum: Float = 10, await: Int = 1000, ramp: Int = 3000, accuracyThreshold: Float = 0.9)
    /// The older fixed schedule: λ = clamp(maximum·(step − start)/ramp, 0, maximum) by global step.
    case fixed(maximum: Float = 10, start: Int = 1000, ramp: Int = 3000)

    /// The official accuracy-gated schedule with its defaults.
    public static let official = L2Schedule.accuracyGated()
}

/// The state the schedule carries between steps (saved in checkpoints).
public struct L2ScheduleState: Codable, Hashable, Sendable {
    /// Steps since the accuracy gate opened, or −1 while it is closed (the spec's `s`).
    public var stepsSinceTrigger = -1
    /// Steps taken.
    public var step = 0

    public init() {}

    /// The state at the end of `schedule`'s ramp, so that λ is at its maximum from the first
    /// step: where a run fine-tuning a finished encoder and decoder begins (their training went
    /// through the ramp already; a second ramp from 0 would let the encoder trade fidelity for
    /// bits again). The accuracy gate counts as opened. The fixed schedule keys on the step count,
    /// which a new run starts at 0: its ramp runs again.
    public static func completed(_ schedule: L2Schedule) -> L2ScheduleState {
        var state = L2ScheduleState()
        switch schedule {
        case let .accuracyGated(_, delay, ramp, _): state.stepsSinceTrigger = delay + ramp
        case .fixed: break
        }
        return state
    }

    /// The weight for the next step.
    public func weight(_ schedule: L2Schedule) -> Float {
        switch schedule {
        case let .accuracyGated(maximum, delay, ramp, _):
            return min(max(0, maximum * Float(stepsSinceTrigger - delay) / Float(max(ramp, 1))), maximum)
        case let .fixed(maximum, start, ramp):
            return min(max(0, maximum * Float(step + 1 - start) / Float(max(ramp, 1))), maximum)
        }
    }

    /// Advances after a step whose batch reached `bitAccuracy`.
    public mutating func advance(_ schedule: L2Schedule, bitAccuracy: Float) {
        step += 1
        if case let .accuracyGated(_, _, _, threshold) = schedule {
            if stepsSinceTrigger == -1 {
                if bitAccuracy > threshold { stepsSinceTrigger = 0 }
            } else {
                stepsSinceTrigger += 1
            }
        }
    }
}
