#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// The number of threads the engine's own loops use (oneDNN threads itself through OpenMP).
///
/// Read once from the machine's active processor count, capped at 64.
let engineThreadCount: Int = max(1, min(64, ProcessInfoLite.activeProcessorCount))

/// Runs `body(chunk)` for every `chunk` in `0..<chunks`, spread over the engine's threads.
///
/// Chunks must write to disjoint memory. With one chunk or one thread the loop runs inline.
func parallelFor(_ chunks: Int, _ body: (Int) -> Void) {
    if chunks <= 1 || engineThreadCount == 1 {
        for chunk in 0..<chunks { body(chunk) }
        return
    }
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: chunks) { work($0) }
    }
}

/// Splits `0..<count` into at most `engineThreadCount` contiguous ranges when the work is worth
/// spreading (at least `grain` elements per range), and runs `body` on each range in parallel.
func parallelRanges(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let pieces = min(engineThreadCount, max(1, count / grain))
    if pieces <= 1 {
        body(0..<count)
        return
    }
    let size = (count + pieces - 1) / pieces
    parallelFor(pieces) { piece in
        let start = piece * size
        let end = min(count, start + size)
        if start < end { body(start..<end) }
    }
}

/// Active processor count without Foundation (keeps the Tensor module's dependencies small).
enum ProcessInfoLite {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return Int(sysconf(_SC_NPROCESSORS_ONLN))
        #endif
    }
}
