import Foundation

/// A progress line with rate and ETA, printed at most every `interval` seconds (and at the end):
/// `step 1200/5000 (24.0%)  3.10 steps/s  ETA 20m 26s  loss 0.412  accuracy 0.973`.
public struct ProgressReporter {
    public let totalSteps: Int
    public let interval: TimeInterval
    private let output: (String) -> Void
    private var start: Date?
    private var startStep = 0
    private var lastPrint: Date?

    public init(totalSteps: Int, interval: TimeInterval = 10, output: @escaping (String) -> Void = {
        FileHandle.standardError.write(Data(($0 + "\n").utf8))
    }) {
        self.totalSteps = totalSteps
        self.interval = interval
        self.output = output
    }

    /// A reporter for `schedule`, printing to `output` or, when `nil`, to standard error.
    public init(schedule: TrainingSchedule, output: ((String) -> Void)?) {
        if let output {
            self.init(totalSteps: schedule.totalSteps, interval: schedule.progressInterval, output: output)
        } else {
            self.init(totalSteps: schedule.totalSteps, interval: schedule.progressInterval)
        }
    }

    /// Reports that `step` steps are done; `values` are shown in order after the ETA.
    public mutating func update(step: Int, _ values: [(String, Double)] = [], force: Bool = false) {
        let now = Date()
        if start == nil {
            start = now
            startStep = step
            lastPrint = now
            return
        }
        guard force || step >= totalSteps || now.timeIntervalSince(lastPrint!) >= interval else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start!)
        let rate = elapsed > 0 ? Double(step - startStep) / elapsed : 0
        let remaining = rate > 0 ? Double(totalSteps - step) / rate : .infinity
        var line = String(format: "step %d/%d (%.1f%%)  %.2f steps/s  ETA %@", step, totalSteps,
                          100 * Double(step) / Double(max(totalSteps, 1)), rate, Self.duration(remaining))
        for (name, value) in values { line += String(format: "  %@ %.4g", name, value) }
        output(line)
    }

    /// `1h 02m`, `3m 05s` or `42s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh %02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm %02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
