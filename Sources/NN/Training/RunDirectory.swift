import Foundation

/// The folder of one training run: `config.json`, `log.csv`, `checkpoints/latest.h5` and
/// `samples/`. Creating it for a new run refuses a folder that already holds a run, so nothing
/// is overwritten by accident; resuming requires the checkpoint.
public struct RunDirectory: Sendable {
    public let url: URL

    public var configurationURL: URL { url.appendingPathComponent("config.json") }
    public var logURL: URL { url.appendingPathComponent("log.csv") }
    public var checkpointsURL: URL { url.appendingPathComponent("checkpoints") }
    public var latestCheckpointURL: URL { checkpointsURL.appendingPathComponent("latest.h5") }
    public var samplesURL: URL { url.appendingPathComponent("samples") }

    /// Opens `url` for a new run (`resume == false`: the folder must not hold a checkpoint) or
    /// for resuming one (`resume == true`: the checkpoint must exist).
    public init(_ url: URL, resume: Bool) throws(TrainingRunError) {
        self.url = url
        let manager = FileManager.default
        let hasCheckpoint = manager.fileExists(atPath: latestCheckpointURL.path)
        if resume && !hasCheckpoint { throw .nothingToResume(path: latestCheckpointURL.path) }
        if !resume && hasCheckpoint { throw .runExists(path: url.path) }
        do {
            try manager.createDirectory(at: checkpointsURL, withIntermediateDirectories: true)
            try manager.createDirectory(at: samplesURL, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// The checkpoint file to read for `url`: the latest checkpoint when `url` is a run folder (or
    /// a symbolic link to one), otherwise `url` itself. Throws `missingCheckpoint` when that file
    /// does not exist, so that callers can check a path before they create anything.
    public static func checkpointFile(at url: URL) throws(TrainingRunError) -> URL {
        let manager = FileManager.default
        guard (try? url.resolvingSymlinksInPath().resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true else {
            guard manager.fileExists(atPath: url.path) else { throw .missingCheckpoint(path: url.path) }
            return url
        }
        // Only read: a folder given to be read must not gain checkpoints/ and samples/ folders.
        let latest = RunDirectory(readingOnly: url).latestCheckpointURL
        guard manager.fileExists(atPath: latest.path) else { throw .missingCheckpoint(path: latest.path) }
        return latest
    }

    /// The paths of the run in `url`, without checking or creating anything.
    private init(readingOnly url: URL) { self.url = url }

    /// Writes `configuration` as pretty JSON to `config.json`.
    public func writeConfiguration(_ configuration: some Encodable) throws(TrainingRunError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(configuration).write(to: configurationURL, options: .atomic)
        } catch {
            throw .unwritable(path: configurationURL.path, reason: error.localizedDescription)
        }
    }

    /// The path of a sample grid for `step`.
    public func sampleURL(step: Int) -> URL {
        samplesURL.appendingPathComponent(String(format: "step%07d.png", step))
    }
}

/// Errors of a training run's folder and files.
public enum TrainingRunError: Error, Equatable, CustomStringConvertible {
    case runExists(path: String)
    case nothingToResume(path: String)
    /// A checkpoint to read (a file, or a run folder's latest checkpoint) does not exist.
    case missingCheckpoint(path: String)
    case unwritable(path: String, reason: String)
    case corruptLog(path: String, reason: String)
    case incompatibleCheckpoint(path: String, reason: String)
    /// A stop was requested (`TrainingInterruption`); a checkpoint after `step` steps was written.
    /// `signal` is the signal's number, or `TrainingInterruption.requestedByCode`.
    case interrupted(step: Int, signal: Int32)

    public var description: String {
        switch self {
        case .runExists(let path): "\(path) already holds a training run (pass --resume to continue it, or choose another folder)"
        case .nothingToResume(let path): "nothing to resume: \(path) does not exist"
        case .missingCheckpoint(let path): "no checkpoint at \(path): give a run folder that holds checkpoints/latest.h5, or a checkpoint file"
        case let .unwritable(path, reason): "cannot write \(path): \(reason)"
        case let .corruptLog(path, reason): "\(path) is not a training log: \(reason)"
        case let .incompatibleCheckpoint(path, reason): "\(path) cannot be resumed here: \(reason)"
        case let .interrupted(step, signal):
            "stopped \(signal > 0 ? "by signal \(signal)" : "on request") after step \(step); "
                + "its checkpoint is written: continue with --resume"
        }
    }
}
