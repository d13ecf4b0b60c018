import ArgumentParser

/// The `gfp` command: generative-model fingerprinting from the command line.
@main
struct GFP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gfp",
        abstract: "Proactive fingerprinting and attribution of generative image models.",
        subcommands: [DataCommand.self, StegoCommand.self, GANCommand.self, Bench.self])
}
