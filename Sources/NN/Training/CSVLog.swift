import Foundation

/// A CSV training log with a header row and one row per logged step (first column `step`).
///
/// Resuming at step s drops the rows of steps ≥ s (written after the last checkpoint by the run
/// that was killed), so the resumed run continues the same curve without duplicates.
public final class CSVLog {
    public let url: URL
    public let columns: [String]
    private let handle: FileHandle

    /// Opens the log, creating it with a header or, when `resumingAt` is given, truncating rows
    /// from that step on. An existing log must have the same columns.
    public init(url: URL, columns: [String], resumingAt step: Int? = nil) throws(TrainingRunError) {
        self.url = url
        self.columns = ["step"] + columns
        let header = self.columns.joined(separator: ",")
        var contents = header + "\n"
        if let step, let existing = try? String(contentsOf: url, encoding: .utf8) {
            var lines = existing.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            guard lines.first == header else {
                throw .corruptLog(path: url.path, reason: "its header is not \(header)")
            }
            lines.removeFirst()
            let kept = lines.filter { line in
                guard let first = line.split(separator: ",").first, let s = Int(first) else { return false }
                return s < step
            }
            contents = ([header] + kept).joined(separator: "\n") + "\n"
        }
        do {
            try Data(contents.utf8).write(to: url, options: .atomic)
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw .unwritable(path: url.path, reason: error.localizedDescription)
        }
    }

    deinit { try? handle.close() }

    /// Appends the row of `step`; missing values are left empty.
    public func append(step: Int, _ values: [String: Double]) throws(TrainingRunError) {
        let cells = [String(step)] + columns.dropFirst().map { values[$0].map { String(format: "%.6g", $0) } ?? "" }
        do {
            try handle.write(contentsOf: Data((cells.joined(separator: ",") + "\n").utf8))
        } catch {
            throw .unwritable(path: url.path, reason: error.localizedDescription)
        }
    }
}
