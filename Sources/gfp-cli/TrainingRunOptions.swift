import ArgumentParser
import NN
import Stego

/// Options shared by the training commands: data, run folder, length, seed and intervals.
struct TrainingRunOptions: ParsableArguments {
    @Option(help: "Training images: a folder, or fashion-mnist (the Debian package's training split).")
    var data: String

    @Option(help: "Image side R, a power of two.")
    var resolution = 32

    @Option(help: "Image channels (default: 1 for fashion-mnist, 3 for folders).")
    var channels: Int?

    @Option(help: "The run folder.")
    var out: String

    @Option(help: "Seed of the initial weights, the data order and every random draw.")
    var seed: UInt64 = 0

    @Option(help: "Steps between checkpoints.")
    var checkpointEvery = 500

    @Option(help: "Steps between sample grids.")
    var sampleEvery = 1000

    @Option(help: "Steps between log rows.")
    var logEvery = 10

    @Flag(help: "Continue the run in --out from its last checkpoint (with the same options).")
    var resume = false

    func validate() throws {
        guard checkpointEvery >= 1, sampleEvery >= 1, logEvery >= 1 else {
            throw ValidationError("--checkpoint-every, --sample-every and --log-every must be positive")
        }
        if let channels, ![1, 3].contains(channels) { throw ValidationError("--channels must be 1 or 3") }
    }

    /// The image source named by `--data`.
    var source: ImageSource { ImageSource(argument: data) }

    /// `--channels`, or 1 for Fashion-MNIST and 3 for folders.
    var imageChannels: Int {
        if let channels { return channels }
        if case .fashionMNIST = source { return 1 }
        return 3
    }

    /// The schedule for `steps` total steps.
    func schedule(steps: Int) -> TrainingSchedule {
        TrainingSchedule(totalSteps: steps, checkpointInterval: checkpointEvery, sampleInterval: sampleEvery,
                         logInterval: logEvery)
    }
}
