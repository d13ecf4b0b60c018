#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Recycles the large buffers of tensor storage.
///
/// A training step allocates and frees the same activation and gradient sizes every step. glibc
/// serves blocks above its mmap threshold (at most 32 MiB) with fresh mappings and returns them to
/// the system on `free`, so each step paid for faulting and zeroing every page again: a quarter
/// of the CPU time of a stego training step went to `clear_page` and page faults. Buffers of at
/// least `minimumBytes` therefore come from a `BufferArena`, whose freed ranges keep their pages
/// and serve later requests of any size that fits.
///
/// (A first version kept freed buffers by size and handed them out for the same size only. At
/// R = 128 a stego training step then peaked at 2.1 GB of live tensors plus 0.9 GB of kept
/// buffers of sizes idle at that moment; limiting what it kept cost page faults: at 256 MB kept,
/// the step took 1.5x as long.)
///
/// At most `limit` bytes of freed pages are kept: a release that would exceed it gives the pages
/// of every free range back to the system.
enum BufferPool {
    /// Smaller buffers go to `malloc`, which recycles them itself.
    static let minimumBytes = 64 << 10
    private static let pageBytes = 4096

    private struct State: ~Copyable {
        var arena = BufferArena(capacity: BufferPool.physicalMemoryBytes)
        var limit = BufferPool.defaultLimit
        var hits = 0
        var misses = 0
        /// Bytes of pooled-size buffers handed out and not yet released, and the most there were
        /// (with and without the free pages kept at that moment).
        var liveBytes = 0
        var peakLiveBytes = 0
        var peakHeldBytes = 0

        var cachedBytes: Int { arena.residentFreeBytes }

        mutating func noteAllocation(_ bytes: Int) {
            liveBytes += bytes
            peakLiveBytes = max(peakLiveBytes, liveBytes)
            peakHeldBytes = max(peakHeldBytes, liveBytes + cachedBytes)
        }

        mutating func enforceLimit() {
            if cachedBytes > limit { arena.releaseFreePages() }
        }
    }

    private static let state = Mutex(State())

    /// The machine's memory: the arena's address range (nothing is committed until used).
    static var physicalMemoryBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : 8 << 30
    }

    /// `GFP_BUFFER_POOL_MB` from the environment when set, else a quarter of the physical memory,
    /// at most 8 GiB.
    static var defaultLimit: Int {
        if let text = getenv("GFP_BUFFER_POOL_MB").map({ String(cString: $0) }), let megabytes = Int(text), megabytes >= 0 {
            return megabytes << 20
        }
        return min(physicalMemoryBytes / 4, 8 << 30)
    }

    /// The size class of a request: whole pages above `minimumBytes`, the request itself below.
    static func roundedBytes(_ bytes: Int) -> Int {
        let bytes = max(bytes, 1)
        guard bytes >= minimumBytes else { return bytes }
        return (bytes + pageBytes - 1) / pageBytes * pageBytes
    }

    /// 64-byte aligned memory for `bytes` bytes (recycled pages when a freed range fits);
    /// running out is fatal, as for any Swift allocation. Give it back with `release`, with the
    /// same `bytes`.
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let rounded = roundedBytes(bytes)
        if rounded >= minimumBytes {
            let pointer: UnsafeMutableRawPointer? = state.withLock { state in
                let range = state.arena.allocate(bytes: rounded)
                if range?.reused == true { state.hits += 1 } else { state.misses += 1 }
                state.noteAllocation(rounded)
                return range?.pointer
            }
            if let pointer { return pointer }
        }
        // Small buffers, and large ones when the arena's range is exhausted.
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, 64, rounded)
        precondition(status == 0 && raw != nil, "out of memory allocating \(bytes) bytes")
        return raw!
    }

    /// Takes back a buffer from `allocate(bytes:)` (same `bytes`).
    static func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        let rounded = roundedBytes(bytes)
        guard rounded >= minimumBytes else { return free(pointer) }
        let address = UInt(bitPattern: pointer)   // Sendable, unlike the pointer
        let inArena: Bool = state.withLock { state in
            state.liveBytes -= rounded
            let pointer = UnsafeMutableRawPointer(bitPattern: address)!
            guard state.arena.contains(pointer) else { return false }
            state.arena.release(pointer, bytes: rounded)
            state.enforceLimit()
            return true
        }
        if !inArena { free(pointer) }
    }

    /// Gives the pages of every freed buffer back to the system.
    static func trim() {
        state.withLock { $0.arena.releaseFreePages() }
    }

    static var statistics: Engine.BufferPoolStatistics {
        state.withLock { state in
            Engine.BufferPoolStatistics(cachedBytes: state.cachedBytes, limit: state.limit,
                                        hits: state.hits, misses: state.misses, liveBytes: state.liveBytes,
                                        peakLiveBytes: state.peakLiveBytes, peakHeldBytes: state.peakHeldBytes)
        }
    }

    static func resetPeaks() {
        state.withLock { state in
            state.peakLiveBytes = state.liveBytes
            state.peakHeldBytes = state.liveBytes + state.cachedBytes
        }
    }

    /// A new limit; when more freed pages than that are kept, they go back to the system.
    static func setLimit(_ limit: Int) {
        state.withLock { state in
            state.limit = max(limit, 0)
            state.enforceLimit()
        }
    }
}

extension Engine {
    /// What the buffer pool of tensor storage holds (see `trimBufferPool()`).
    public struct BufferPoolStatistics: Sendable, Equatable {
        /// Bytes of freed buffers whose pages are kept for reuse.
        public var cachedBytes: Int
        /// The most the pool keeps.
        public var limit: Int
        /// Allocations of pooled sizes served from freed memory, and those that needed more.
        public var hits: Int
        public var misses: Int
        /// Bytes of tensor buffers of pooled sizes (64 KiB and more) in use now, and the most
        /// that were in use at once since the start or the last `resetBufferPoolPeaks()`.
        public var liveBytes: Int
        public var peakLiveBytes: Int
        /// The most bytes in use and kept by the pool together (what the pool adds to the
        /// resident memory on top of the live tensors is `peakHeldBytes − peakLiveBytes` at most).
        public var peakHeldBytes: Int
    }

    /// Restarts `peakLiveBytes` and `peakHeldBytes` from the current figures.
    public static func resetBufferPoolPeaks() { BufferPool.resetPeaks() }

    /// The pages of freed tensor buffers of 64 KiB and more are kept for later tensors of any
    /// size that fits (so that a training loop does not fault its memory in again every step);
    /// these are the pool's figures.
    public static var bufferPoolStatistics: BufferPoolStatistics { BufferPool.statistics }

    /// The most memory the pool keeps (default: a quarter of the physical memory, at most 8 GiB);
    /// 0 turns recycling off.
    public static var bufferPoolLimit: Int {
        get { BufferPool.statistics.limit }
        set { BufferPool.setLimit(newValue) }
    }

    /// Returns every buffer the pool keeps to the system (say, between two phases of a program
    /// that use different tensor sizes).
    public static func trimBufferPool() { BufferPool.trim() }
}
