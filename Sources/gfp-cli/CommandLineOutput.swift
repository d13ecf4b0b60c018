import ArgumentParser
import Foundation

/// The `gfp` exit statuses that scripts rely on (README.md, "Exit codes").
enum ExitStatus {
    /// The decision was "match" (or the command simply succeeded).
    static let success: Int32 = 0
    /// A verdict was reached and it is "no match" (`gfp verify`, `gfp registry match`).
    static let noMatch: Int32 = 1
    /// The command could not run: a missing or corrupt registry, malformed bits, a failed write.
    static let error: Int32 = 2
    /// The command line itself is wrong (ArgumentParser's usage errors, EX_USAGE).
    static let usage: Int32 = 64
}

/// Prints `value` as one line of JSON with sorted keys.
func printJSON<Value: Encodable>(_ value: Value) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Reads bit strings, one per line (blank lines skipped), from `path` or standard input for `-`.
func readBitStrings(from path: String) throws -> [String] {
    let text: String
    if path == "-" {
        text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    } else {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandLineError("cannot read \(path)")
        }
        text = String(decoding: data, as: UTF8.self)
    }
    return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// An error the command line itself reports (a file it cannot read or write).
struct CommandLineError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
