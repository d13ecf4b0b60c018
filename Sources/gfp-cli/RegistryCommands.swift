import ArgumentParser
import Forensics
import Foundation
import Tensor

/// `gfp registry ...`: the persistent registry of issued fingerprints.
struct Registry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue fingerprints, record their recipients and find who received some decoded bits.",
        subcommands: [Create.self, Issue.self, List.self, Match.self, Export.self, Import.self])

    /// The `--database` option every registry subcommand takes.
    struct DatabaseOption: ParsableArguments {
        @Option(name: .long, help: "The registry's SQLite file.")
        var database: String
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty registry file.")

        @OptionGroup var options: DatabaseOption

        @Option(help: "The fingerprint length in bits.")
        var bits = 128

        @Option(help: "The least Hamming distance between two fingerprints (default: a quarter of the bits).")
        var minimumDistance: Int?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            let registry = try FingerprintRegistry.create(
                at: options.database, bitCount: bits,
                minimumDistance: minimumDistance ?? FingerprintRegistry.defaultMinimumDistance(bitCount: bits))
            if json {
                try printJSON(["path": registry.path, "bitCount": String(registry.bitCount),
                               "minimumDistance": String(registry.minimumDistance)])
            } else {
                print("created \(registry.path): \(registry.bitCount)-bit fingerprints, minimum distance \(registry.minimumDistance)")
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue new random fingerprints (one transaction each; safe from several processes at once).")

        @OptionGroup var options: DatabaseOption

        @Option(help: "Who receives the fingerprinted model.")
        var recipient: String

        @Option(help: "Which model is fingerprinted.")
        var modelID = ""

        @Option(help: "Free text stored with each entry.")
        var note = ""

        @Option(help: "How many fingerprints to issue.")
        var count = 1

        @Option(help: "Seed for reproducible fingerprints (default: the system's unpredictable generator).")
        var seed: UInt64?

        @Flag(help: "Print the issued entries as a JSON array.")
        var json = false

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        }

        func run() throws {
            let registry = try FingerprintRegistry(path: options.database)
            var issued: [RegistryEntry] = []
            if let seed {
                var generator = SeededGenerator(seed: seed)
                for _ in 0..<count { issued.append(try registry.issue(recipient: recipient, modelID: modelID, note: note, using: &generator)) }
            } else {
                var generator = SystemRandomNumberGenerator()
                for _ in 0..<count { issued.append(try registry.issue(recipient: recipient, modelID: modelID, note: note, using: &generator)) }
            }
            if json { try printJSON(issued) } else { issued.forEach { print(line($0)) } }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the entries in order of issue.")

        @OptionGroup var options: DatabaseOption

        @Flag(help: "Print the entries as a JSON array.")
        var json = false

        func run() throws {
            let entries = try FingerprintRegistry(path: options.database).entries()
            if json { try printJSON(entries) } else { entries.forEach { print(line($0)) } }
        }
    }

    struct Match: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the entry nearest to decoded bits and decide whether they match it.",
            discussion: """
                The p-value is corrected for the registry's size (Bonferroni). Exit status 0 when \
                every query matches, 1 otherwise (also for an empty registry), 2 on an error.
                """)

        @OptionGroup var options: DatabaseOption

        @Argument(help: "Decoded bit strings, bit 0 first.")
        var decoded: [String] = []

        @Option(help: "A file of decoded bit strings, one per line ('-' for standard input).")
        var decodedFile: String?

        @Option(help: "The accepted false-positive rate α over the whole registry.")
        var falsePositiveRate = 1e-6

        @Flag(help: "Print one JSON object per query (null for an empty registry).")
        var json = false

        func validate() throws {
            guard !decoded.isEmpty || decodedFile != nil else { throw ValidationError("give decoded bits or --decoded-file") }
            guard falsePositiveRate > 0 && falsePositiveRate <= 1 else {
                throw ValidationError("--false-positive-rate must lie in (0, 1]")
            }
        }

        func run() throws {
            let registry = try FingerprintRegistry(path: options.database)
            let queries = try (decoded + (decodedFile.map(readBitStrings) ?? [])).map { try Fingerprint(parsing: $0) }
            let matches = try registry.nearestMatches(to: queries, falsePositiveRate: falsePositiveRate)
            for match in matches {
                if json {
                    try printJSON(match)
                } else if let match {
                    let entry = match.entry
                    print("nearest entry \(entry.id) (recipient \(entry.recipient), model \(entry.modelID)) "
                          + "at distance \(match.distance): \(match.verdict)")
                } else {
                    print("no match: the registry is empty")
                }
            }
            if !matches.allSatisfy({ $0?.verdict.matched == true }) { throw ExitCode(ExitStatus.noMatch) }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the registry as JSON.")

        @OptionGroup var options: DatabaseOption

        @Option(help: "The output file (default: standard output).")
        var output: String?

        func run() throws {
            let data = try FingerprintRegistry(path: options.database).export().jsonData()
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: data) else {
                    throw CommandLineError("cannot write \(output)")
                }
            } else {
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add the entries of a JSON export, keeping their ids (all or nothing).")

        @OptionGroup var options: DatabaseOption

        @Argument(help: "The JSON file written by `gfp registry export`.")
        var file: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandLineError("cannot read \(file)") }
            let added = try FingerprintRegistry(path: options.database).importEntries(RegistryExport(jsonData: data))
            print("imported \(added) entries into \(options.database)")
        }
    }
}

/// `id  bits  recipient  modelID  createdAt  note`, tab-separated.
private func line(_ entry: RegistryEntry) -> String {
    [String(entry.id), entry.fingerprint.description, entry.recipient, entry.modelID,
     entry.createdAt.formatted(.iso8601), entry.note].joined(separator: "\t")
}
