import ArgumentParser
import Dispatch
import Forensics
import Foundation
import Tensor

/// `gfp bench registry`: nearest-match queries over an in-memory index of random fingerprints.
struct RegistryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Milliseconds per nearest-match query over random fingerprints (median over queries).",
        discussion: """
            Prints registry_nearest_ms for each index size, and beside it memory_stream_ms: the \
            time to read the same packed words once on all cores (an XOR fold), the memory-bandwidth \
            bound of a scan in the same sitting.
            """)

    @Option(help: "Index sizes to measure (repeat the option for several).")
    var entries: [Int] = [1_000_000, 10_000_000]

    @Option(help: "The fingerprint length in bits.")
    var bits = 128

    @Option(help: "Timed queries per index size, after two warm-up queries.")
    var queries = 21

    @Option(help: "Seed for the random index and queries.")
    var seed: UInt64 = 0

    func validate() throws {
        guard queries > 0, bits > 0, entries.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--queries, --bits and --entries must be positive")
        }
    }

    func run() throws {
        var generator = SeededGenerator(seed: seed)
        for count in entries {
            let index = FingerprintIndex.random(count: count, bitCount: bits, using: &generator)
            let probes = (0..<queries + 2).map { _ in Fingerprint.random(bitCount: bits, using: &generator) }
            var milliseconds: [Double] = []
            for (i, probe) in probes.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                let neighbour = index.nearest(to: probe)
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                precondition(neighbour != nil)
                if i >= 2 { milliseconds.append(elapsed) }
            }
            printLine(workload: "registry_nearest_ms", value: milliseconds.sorted()[milliseconds.count / 2],
                      extra: ["entries": count, "bits": bits, "queries": queries, "kernel": index.searchKernel])
            printLine(workload: "memory_stream_ms", value: streamMilliseconds(index.words),
                      extra: ["entries": count, "bits": bits, "megabytes": index.words.count * 8 / 1_000_000])
        }
    }
}

/// The median time to read `words` once, split over the active cores: the floor under any scan.
private func streamMilliseconds(_ words: [UInt64]) -> Double {
    let threads = ProcessInfo.processInfo.activeProcessorCount
    var samples: [Double] = []
    var sink: UInt64 = 0
    words.withUnsafeBufferPointer { buffer in
        nonisolated(unsafe) let shared = buffer
        for _ in 0..<11 {
            let folds = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: threads)
            nonisolated(unsafe) let sharedFolds = folds
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var fold: UInt64 = 0
                for i in (thread * shared.count / threads)..<((thread + 1) * shared.count / threads) { fold ^= shared[i] }
                sharedFolds[thread] = fold
            }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            sink ^= folds.reduce(0, ^)
            folds.deallocate()
        }
    }
    precondition(sink != 1 || samples.count > 0)  // keeps the folds observable
    return samples.sorted()[samples.count / 2]
}
