import Foundation

/// How long a run trains and how often it logs, samples and checkpoints.
public struct TrainingSchedule: Codable, Hashable, Sendable {
    /// Total steps of the run (a resumed run continues up to this).
    public var totalSteps: Int
    /// Steps between checkpoints (a checkpoint is also written at the end).
    public var checkpointInterval: Int
    /// Steps between sample grids (`nil`: none).
    public var sampleInterval: Int?
    /// Steps between log rows.
    public var logInterval: Int
    /// Seconds between progress lines.
    public var progressInterval: Double

    public init(totalSteps: Int, checkpointInterval: Int = 500, sampleInterval: Int? = 1000, logInterval: Int = 10,
                progressInterval: Double = 10) {
        self.totalSteps = totalSteps
        self.checkpointInterval = max(1, checkpointInterval)
        self.sampleInterval = sampleInterval
        self.logInterval = max(1, logInterval)
        self.progressInterval = progressInterval
    }
}

/// Runs steps `startStep..<schedule.totalSteps`: after each, logs (every `logInterval`), reports
/// progress, writes samples and checkpoints on schedule, and always checkpoints at the end.
/// When a stop is requested (`TrainingInterruption`, e.g. Ctrl-C), it checkpoints after the
/// step under way and throws `TrainingRunError.interrupted`.
///
/// - Parameters:
///   - step: performs step number `s` and returns its metrics (the log's columns).
///   - checkpoint: saves everything needed to resume after `s + 1` steps.
///   - samples: writes a sample grid after `s + 1` steps.
public func runTrainingLoop(
    from startStep: Int, schedule: TrainingSchedule, log: CSVLog, progress: inout ProgressReporter,
    step: (Int) throws -> [String: Double], checkpoint: (Int) throws -> Void, samples: ((Int) throws -> Void)? = nil
) throws {
    guard startStep < schedule.totalSteps else { return }
    progress.update(step: startStep)
    for s in startStep..<schedule.totalSteps {
        let metrics = try step(s)
        let done = s + 1
        if s % schedule.logInterval == 0 { try log.append(step: s, metrics) }
        progress.update(step: done, metrics.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        if let interval = schedule.sampleInterval, let samples, done % interval == 0 || done == schedule.totalSteps {
            try samples(done)
        }
        let stop = TrainingInterruption.requestingSignal   // read once: a signal may come at any time
        if done % schedule.checkpointInterval == 0 || done == schedule.totalSteps || stop != nil { try checkpoint(done) }
        if let stop, done < schedule.totalSteps { throw TrainingRunError.interrupted(step: done, signal: stop) }
    }
}
