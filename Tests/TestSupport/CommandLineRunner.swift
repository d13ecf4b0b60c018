import Foundation

/// Runs the `gfp` executable as scripts use it, its standard output and error going to files in
/// a folder (so that large outputs never block a pipe).
public struct CommandLineRunner {
    /// Where the output files go.
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Why the executable cannot be run.
    public struct MissingExecutable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `gfp` binary built beside the test bundle (`swift build --build-tests` builds both).
    /// A missing binary is a failure, not a skip.
    public static func executable() throws -> URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidate = testBinary.deletingLastPathComponent().appendingPathComponent("gfp")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            throw MissingExecutable(description: "no gfp executable at \(candidate.path); run `swift build --build-tests` first")
        }
        return candidate
    }

    /// Starts `gfp arguments` without waiting for it.
    public func start(_ arguments: [String], name: String) throws -> (process: Process, stdout: URL, stderr: URL) {
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        let stdout = directory.appendingPathComponent("\(name).out"), stderr = directory.appendingPathComponent("\(name).err")
        try Data().write(to: stdout)
        try Data().write(to: stderr)
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
        return (process, stdout, stderr)
    }

    /// Runs `gfp arguments` to completion.
    public func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let (process, stdout, stderr) = try start(arguments, name: "run-\(UUID().uuidString)")
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: stdout, encoding: .utf8),
                try String(contentsOf: stderr, encoding: .utf8))
    }
}
