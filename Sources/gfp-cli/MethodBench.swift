import ArgumentParser
import Foundation
import NN
import Stego
import Tensor

/// `gfp bench stego`: the workloads of shared/bench/torch_reference.py, same names and meanings.
struct StegoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stego",
        abstract: "Steganography encoder/decoder training step and inference throughput (torch_reference.py's workloads).",
        discussion: """
            stego_train_step_ms: one Adam step of encoder + decoder on a batch (BCE-with-logits + 10 · MSE); \
            stego_decode_img_s and stego_embed_img_s: forward throughput at batch 256 without gradients; \
            conv3x3_fwd_bwd_gflops: Conv2d(32→32, 3×3, pad 1) forward + backward on [64, 32, 32, 32]; \
            stego_train_peak_rss_mb: the process's peak resident memory after the training steps. \
            Medians of --repeats runs after two warm-ups.
            """)

    @Option(help: "Image side R.") var resolution = 32
    @Option(help: "Image channels.") var channels = 3
    @Option(help: "Fingerprint length L.") var bits = 100
    @Option(help: "Training batch.") var batch = 64
    @Option(help: "Timed repetitions per workload (the median is reported).") var repeats = 7
    @Option(help: "Seed of the weights and inputs.") var seed: UInt64 = 0
    @Option(help: "Run one workload only (train, decode, embed or conv), say under a profiler.")
    var only: Workload?

    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case train, decode, embed, conv
    }

    func runs(_ workload: Workload) -> Bool { only == nil || only == workload }

    func validate() throws {
        guard repeats > 0, batch > 0 else { throw ValidationError("--repeats and --batch must be positive") }
    }

    func run() throws {
        let architecture = StegoArchitecture(resolution: resolution, imageChannels: channels, fingerprintLength: bits)
        try architecture.validate()
        var configuration = StegoTrainingConfiguration()
        configuration.batchSize = batch
        configuration.seed = seed
        // torch_reference.py trains with λ = 10 from the first step.
        configuration.l2Schedule = .fixed(maximum: 10, start: 0, ramp: 1)
        let trainer = try StegoTrainer(architecture: architecture, configuration: configuration)
        var generator = SeededGenerator(seed: seed &+ 1)
        let images = Tensor.uniform([batch, channels, resolution, resolution], using: &generator)
        let tag: [String: Any] = ["resolution": resolution, "channels": channels, "bits": bits, "batch": batch,
                                  "engine": "gfp " + Engine.kernelDescription]

        if runs(.train) {
            try trainingWorkload(trainer, images: images, tag: tag)
        }
        let encoder = trainer.networks.encoder, decoder = trainer.networks.decoder
        let inferenceImages = Tensor.uniform([256, channels, resolution, resolution], using: &generator)
        let fingerprints = Tensor.bernoulli([256, bits], using: &generator)
        if runs(.decode) {
            let decode = medianSeconds(repeats) { _ = withoutGradients { decoder(inferenceImages) } }
            printLine(workload: "stego_decode_img_s", value: 256 / decode, extra: tag)
        }
        if runs(.embed) {
            let embed = medianSeconds(repeats) { _ = withoutGradients { encoder(fingerprints: fingerprints, images: inferenceImages) } }
            printLine(workload: "stego_embed_img_s", value: 256 / embed, extra: tag)
        }
        guard runs(.conv) else { return }

        let x = Tensor.normal([64, 32, 32, 32], using: &generator).requiringGradient()
        let bound = 1 / Float(32 * 9).squareRoot()
        let weight = Tensor.uniform([32, 32, 3, 3], low: -bound, high: bound, using: &generator).requiringGradient()
        let bias = Tensor.uniform([32], low: -bound, high: bound, using: &generator).requiringGradient()
        let conv = medianSeconds(repeats) { Tensor.conv2d(x, weight: weight, bias: bias, padding: 1).sum().backward() }
        let flops: Double = 3.0 * 2 * 64 * 32 * 32 * 32 * 32 * 9
        printLine(workload: "conv3x3_fwd_bwd_gflops", value: flops / conv / 1e9, extra: tag)
    }

    private func trainingWorkload(_ trainer: StegoTrainer, images: Tensor, tag: [String: Any]) throws {
        let step = try medianSeconds(repeats) { _ = try trainer.trainStep(images: images) }
        printLine(workload: "stego_train_step_ms", value: step * 1e3, extra: tag)
        // The process's peak so far: weights, optimiser state and the training steps (the inference
        // workloads run later). Tools/torch_train_step_rss.py measures PyTorch the same way. With
        // the tensor buffers' own peak (live at once) and that plus the freed pages the pool kept.
        let pool = Engine.bufferPoolStatistics
        printLine(workload: "stego_train_peak_rss_mb", value: peakResidentMegabytes(),
                  extra: tag.merging(["tensor_peak_mb": Double(pool.peakLiveBytes) / 1048576,
                                      "tensor_and_pool_peak_mb": Double(pool.peakHeldBytes) / 1048576]) { a, _ in a })
    }
}

/// `gfp bench gan`: training steps of the GAN of the Stego reproduction (Tools/reproduce-stego.sh).
struct GANBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Training steps of the 32×32 StyleGAN2-type GAN of the reproductions.",
        discussion: """
            gan_train_step_ms: the mean step time over one lazy-R1 period (--r1-interval steps: one \
            of them also computes R1 through a double backward), median over --repeats periods; \
            gan_generate_img_s: moving-average generator throughput at batch 64 without gradients.
            """)

    @Option(help: "Image side R.") var resolution = 32
    @Option(help: "Image channels.") var channels = 1
    @Option(help: "Channel schedule base.") var channelBase = 512
    @Option(help: "Channel schedule maximum.") var channelMax = 64
    @Option(help: "Images per step.") var batchSize = 32
    @Option(help: "Steps between R1 penalties (the period timed).") var r1Interval = 16
    @Option(help: "Timed periods (the median is reported).") var repeats = 3
    @Option(help: "Seed of the weights and inputs.") var seed: UInt64 = 0

    func validate() throws {
        guard repeats > 0, batchSize > 0, r1Interval > 0 else { throw ValidationError("--repeats, --batch-size and --r1-interval must be positive") }
    }

    func run() throws {
        let architecture = GANArchitecture(generator: .init(
            resolution: resolution, imageChannels: channels, latentDimension: 128, styleDimension: 128, mappingDepth: 4,
            channels: ChannelSchedule(base: channelBase, maximum: channelMax)))
        var configuration = GANTrainingConfiguration()
        configuration.batchSize = batchSize
        configuration.r1Interval = r1Interval
        configuration.seed = seed
        let trainer = GANTrainer(architecture: architecture, configuration: configuration)
        var generator = SeededGenerator(seed: seed &+ 1)
        let reals = Tensor.uniform([batchSize, channels, resolution, resolution], low: -1, high: 1, using: &generator)
        let tag: [String: Any] = ["resolution": resolution, "channels": channels, "channelMax": channelMax,
                                  "batch": batchSize, "engine": "gfp " + Engine.kernelDescription]
        let period = try medianSeconds(repeats) {
            for _ in 0..<r1Interval { _ = try trainer.trainStep(reals: reals) }
        }
        printLine(workload: "gan_train_step_ms", value: period / Double(r1Interval) * 1e3, extra: tag)
        let average = trainer.averageGenerator
        let latents = average.sampleLatents(64, generator: &generator)
        let noise = average.synthesis.randomNoise(batchSize: 64, generator: &generator)
        let generate = medianSeconds(repeats) { _ = withoutGradients { average(latents, noise: noise) } }
        printLine(workload: "gan_generate_img_s", value: 64 / generate, extra: tag)
    }
}

/// The peak resident set size of this process so far, in MiB (`getrusage`, which reports KiB on Linux).
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return .nan }
    return Double(usage.ru_maxrss) / 1024
}
