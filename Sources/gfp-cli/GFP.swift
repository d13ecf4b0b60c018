import ArgumentParser
import Foundation
import NN

/// The `gfp` command: generative-model fingerprinting from the command line.
///
/// Exit statuses (`ExitStatus`): 0 success or match, 1 no match, 2 error, 64 usage error,
/// 128 + N for a training stopped by signal N (after writing its checkpoint).
@main
struct GFP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gfp",
        abstract: "Proactive fingerprinting and attribution of generative image models.",
        discussion: """
            Exit status: 0 on success (for verify and registry match: every verdict is "match"), \
            1 when a verdict is "no match", 2 on an error (the message is one line on standard \
            error), 64 on a usage error; a training stopped by SIGINT or SIGTERM checkpoints the \
            steps done and exits with 128 + the signal's number.
            """,
        subcommands: [DataCommand.self, StegoCommand.self, GANCommand.self, Metrics.self, Verify.self, Registry.self, Bench.self])

    /// Runs the command, mapping library errors to one line on standard error and exit status 2,
    /// so that scripts can tell "no match" (1) from "could not decide" (2).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Self.exit(withError: exit)
        } catch TrainingRunError.interrupted(let step, let signal) {
            // A training stopped by Ctrl-C or kill: its checkpoint is written; exit as the signal would.
            let error = TrainingRunError.interrupted(step: step, signal: signal)
            FileHandle.standardError.write(Data("gfp: \(error)\n".utf8))
            Foundation.exit(signal > 0 ? 128 + signal : ExitStatus.error)
        } catch {
            // ArgumentParser's own errors (help, usage) keep its messages and codes (0 or 64).
            if exitCode(for: error) != .failure { Self.exit(withError: error) }
            let message = String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            FileHandle.standardError.write(Data("gfp: error: \(message)\n".utf8))
            Foundation.exit(ExitStatus.error)
        }
    }
}
