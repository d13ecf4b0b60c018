#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A request to stop training early, set by a signal (Ctrl-C, `kill`) or by code.
///
/// `runTrainingLoop` looks at it after every step: when it is set, the loop writes a checkpoint
/// for the steps done and throws `TrainingRunError.interrupted`, so that `--resume` continues
/// from exactly there instead of from the last scheduled checkpoint.
///
/// Libraries never install signal handlers on their own: a program opts in with
/// `installSignalHandlers()` (the `gfp` training commands do). A second signal while the first is
/// being honoured ends the process at once, as the signal normally would.
public enum TrainingInterruption {
    /// 0 when no stop is requested, else the signal number (or `requestedByCode`).
    private static let pending = Atomic<Int32>(0)

    /// The value `request()` records when no signal is involved.
    public static let requestedByCode: Int32 = -1

    /// Whether a stop has been requested and not yet reset.
    public static var isRequested: Bool { pending.load(ordering: .relaxed) != 0 }

    /// The signal that requested the stop (`requestedByCode` for `request()`), if any.
    public static var requestingSignal: Int32? {
        let value = pending.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    /// Requests a stop from code (a test, an embedding application's own stop button).
    public static func request() { pending.store(requestedByCode, ordering: .relaxed) }

    /// Forgets a request (after it was honoured, before another run in the same process).
    public static func reset() { pending.store(0, ordering: .relaxed) }

    /// Routes SIGINT and SIGTERM to a stop request. Each handler is used once: it restores the
    /// default action, so a second signal terminates the process.
    public static func installSignalHandlers() {
        for number in [SIGINT, SIGTERM] {
            signal(number) { received in
                // Async-signal-safe: an atomic store and signal() only.
                TrainingInterruption.pending.store(received, ordering: .relaxed)
                signal(received, SIG_DFL)
            }
        }
    }
}
