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
/// The work runs on OpenMP's thread team, the one oneDNN uses, when that runtime is loaded: a
/// second pool would fight oneDNN's workers, which spin for a while after each primitive, for
/// the same two cores (measured: an 8 MB addition after a convolution took 9 ms instead of 2).
func parallelFor(_ chunks: Int, _ body: (Int) -> Void) {
    if chunks <= 1 || engineThreadCount == 1 {
        for chunk in 0..<chunks { body(chunk) }
        return
    }
    withoutActuallyEscaping(body) { body in
        if let openMP = OpenMP.shared {
            openMP.run(chunks, body)
        } else {
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: chunks) { work($0) }
        }
    }
}

/// The OpenMP runtime (libgomp) that oneDNN loads, reached through `dlsym` so that the package
/// needs no OpenMP headers; `nil` when it is not loaded.
struct OpenMP: Sendable {
    typealias ParallelFunction = @convention(c) (
        @convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    typealias QueryFunction = @convention(c) () -> Int32

    let parallel: ParallelFunction
    let threadNumber: QueryFunction
    let threadCount: QueryFunction

    static let shared: OpenMP? = {
        guard let handle = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD),
              let parallel = dlsym(handle, "GOMP_parallel"),
              let number = dlsym(handle, "omp_get_thread_num"),
              let count = dlsym(handle, "omp_get_num_threads") else { return nil }
        return OpenMP(parallel: unsafeBitCast(parallel, to: ParallelFunction.self),
                      threadNumber: unsafeBitCast(number, to: QueryFunction.self),
                      threadCount: unsafeBitCast(count, to: QueryFunction.self))
    }()

    /// The closure and chunk count handed to every thread of the team.
    private struct Job {
        let chunks: Int
        let body: (Int) -> Void
        let openMP: OpenMP
    }

    func run(_ chunks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var job = Job(chunks: chunks, body: body, openMP: self)
            withUnsafeMutablePointer(to: &job) { pointer in
                parallel({ context in
                    let job = context!.assumingMemoryBound(to: Job.self).pointee
                    let thread = Int(job.openMP.threadNumber()), threads = Int(job.openMP.threadCount())
                    var chunk = thread
                    while chunk < job.chunks {
                        job.body(chunk)
                        chunk += threads
                    }
                }, pointer, UInt32(min(chunks, engineThreadCount)), 0)
            }
        }
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
