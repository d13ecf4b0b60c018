import ArgumentParser
import Forensics

/// `gfp verify`: the binomial verdict on decoded bits against an expected fingerprint.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decide whether decoded bits carry an expected fingerprint (one-sided binomial test).",
        discussion: """
            Prints one verdict per decoded bit string: matching bits k of n, the p-value \
            P(X >= k) for X ~ Binomial(n, 1/2) (times --candidates, capped at 1) and the \
            threshold for --false-positive-rate. Exit status 0 when every verdict is "match", \
            1 otherwise, 2 on an error.
            """)

    @Argument(help: ArgumentHelp(
        "The decoded bits and the expected fingerprint, bit 0 first (e.g. 0110... 0111...); only the expected one with --decoded-file.",
        valueName: "decoded-bits> <expected-bits"))
    var bitStrings: [String] = []

    @Option(help: "A file of decoded bit strings, one per line ('-' for standard input).")
    var decodedFile: String?

    @Option(help: "The accepted false-positive rate α: a match needs a p-value at most α.")
    var falsePositiveRate = 1e-6

    @Option(help: "The number of fingerprints the bits are compared with (Bonferroni correction).")
    var candidates = 1

    @Flag(help: "Print one JSON object per verdict instead of text.")
    var json = false

    func validate() throws {
        guard bitStrings.count == (decodedFile == nil ? 2 : 1) else {
            throw ValidationError(decodedFile == nil
                ? "expected two bit strings, the decoded bits and the expected fingerprint"
                : "with --decoded-file, expected one bit string, the expected fingerprint")
        }
        guard falsePositiveRate > 0 && falsePositiveRate <= 1 else {
            throw ValidationError("--false-positive-rate must lie in (0, 1]")
        }
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
    }

    func run() throws {
        let expectedFingerprint = try Fingerprint(parsing: bitStrings.last!)
        let decodedStrings = try decodedFile.map(readBitStrings) ?? [bitStrings[0]]
        var allMatched = !decodedStrings.isEmpty
        for text in decodedStrings {
            let verdict = try Verdict(decoded: Fingerprint(parsing: text), expected: expectedFingerprint,
                                      falsePositiveRate: falsePositiveRate, candidates: candidates)
            if json { try printJSON(verdict) } else { print(verdict) }
            allMatched = allMatched && verdict.matched
        }
        if !allMatched { throw ExitCode(ExitStatus.noMatch) }
    }
}
