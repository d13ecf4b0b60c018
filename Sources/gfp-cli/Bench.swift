import ArgumentParser
import Foundation
import Tensor

/// `gfp bench ...`: throughput benchmarks printed as JSON lines (build with `-c release`).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput; prints one JSON object per line.",
        subcommands: [TensorBench.self, StegoBench.self, GANBench.self, ImagingBench.self, RegistryBench.self])
}

/// `gfp bench tensor`: the engine's matrix product and 3×3 convolution.
struct TensorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "sgemm (1024³ through Tensor.matmul) and conv3x3 forward+backward GFLOP/s.")

    @Option(help: "Timed repetitions per workload (the median is reported).")
    var repeats = 7

    @Option(help: "Seed for the random inputs.")
    var seed: UInt64 = 0

    func run() throws {
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
        var generator = SeededGenerator(seed: seed)
        printLine(workload: "kernels", value: Engine.kernelDescription)

        let a = Tensor.normal([1024, 1024], using: &generator), b = Tensor.normal([1024, 1024], using: &generator)
        let gemmSeconds = medianSeconds(repeats) { _ = withoutGradients { Tensor.matmul(a, b) } }
        printLine(workload: "sgemm_gflops", value: 2 * pow(1024.0, 3) / gemmSeconds / 1e9)

        // The workload of the same name in shared/bench/torch_reference.py:
        // Conv2d(32→32, 3×3, pad 1) on [64, 32, 32, 32], forward and backward.
        let x = Tensor.normal([64, 32, 32, 32], using: &generator).requiringGradient()
        let bound = 1 / Float(32 * 9).squareRoot()
        let weight = Tensor.uniform([32, 32, 3, 3], low: -bound, high: bound, using: &generator).requiringGradient()
        let bias = Tensor.uniform([32], low: -bound, high: bound, using: &generator).requiringGradient()
        let convSeconds = medianSeconds(repeats) {
            Tensor.conv2d(x, weight: weight, bias: bias, padding: 1).sum().backward()
        }
        let flops = 3.0 * 2 * 64 * 32 * 32 * 32 * 32 * 9
        printLine(workload: "conv3x3_fwd_bwd_gflops", value: flops / convSeconds / 1e9)
    }
}

/// Median wall-clock seconds of `repeats` runs after two warm-up runs.
func medianSeconds(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    try body()
    var samples: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return samples.sorted()[samples.count / 2]
}

/// Prints `{"workload": ..., "value": ..., "threads": ...}` and any `extra` fields on one line.
func printLine(workload: String, value: Any, extra: [String: Any] = [:]) {
    var object: [String: Any] = extra.merging(["workload": workload, "value": value]) { _, new in new }
    object["threads"] = ProcessInfo.processInfo.activeProcessorCount
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
