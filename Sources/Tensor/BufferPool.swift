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
/// of the CPU time of a stego training step went to `clear_page` and page faults. Freed buffers
/// of at least `minimumBytes` are therefore kept here, by size rounded up to whole pages, and
/// handed out again for the same size.
///
/// At most `limit` bytes are kept: a release that would exceed it first lets go of the buffers
/// released longest ago (sizes that are no longer used, say after a change of batch size, go
/// first). The pool never holds memory that a live tensor uses, so the peak resident memory of a
/// step is that of its live tensors plus buffers of sizes the step is not using at that moment:
/// at R = 128 a stego training step peaks at 2.1 GB of tensors and the pool keeps 0.9 GB beside
/// them. A lower limit trades that memory for page faults (`GFP_BUFFER_POOL_MB=256`: 2.4 GB
/// peak resident, but the step takes 1.5x as long; see Docs/benchmarks.md).
enum BufferPool {
    /// Smaller buffers go to `malloc`, which recycles them itself.
    static let minimumBytes = 64 << 10
    private static let pageBytes = 4096

    private struct State: ~Copyable {
        /// Kept buffers by size class, each class in release order, with the release's number.
        var buffers: [Int: [(address: UInt, released: Int)]] = [:]
        var releases = 0
        var cachedBytes = 0
        var limit = BufferPool.defaultLimit
        var hits = 0
        var misses = 0
        /// Bytes of pooled-size buffers handed out and not yet released, and the most there were
        /// (with and without what the pool kept at that moment).
        var liveBytes = 0
        var peakLiveBytes = 0
        var peakHeldBytes = 0

        mutating func noteAllocation(_ bytes: Int) {
            liveBytes += bytes
            peakLiveBytes = max(peakLiveBytes, liveBytes)
            peakHeldBytes = max(peakHeldBytes, liveBytes + cachedBytes)
        }

        /// Takes out the buffers released longest ago until at most `bytes` stay kept, handing
        /// them to the caller to free outside the lock.
        mutating func evict(downTo bytes: Int) -> [UInt] {
            var evicted: [UInt] = []
            while cachedBytes > bytes {
                // Each class's first buffer is its oldest.
                guard let size = buffers.lazy.filter({ !$0.value.isEmpty })
                        .min(by: { $0.value[0].released < $1.value[0].released })?.key else { break }
                evicted.append(buffers[size]!.removeFirst().address)
                cachedBytes -= size
            }
            return evicted
        }
    }

    // Buffers are kept as addresses (Sendable); the pool owns them while they are in it.
    private static let state = Mutex(State())

    /// `GFP_BUFFER_POOL_MB` from the environment when set, else a quarter of the physical memory,
    /// at most 8 GiB.
    static var defaultLimit: Int {
        if let text = getenv("GFP_BUFFER_POOL_MB").map({ String(cString: $0) }), let megabytes = Int(text), megabytes >= 0 {
            return megabytes << 20
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 1 << 30 }
        return min(pages * size / 4, 8 << 30)
    }

    /// The size class of a request: whole pages above `minimumBytes`, the request itself below.
    static func roundedBytes(_ bytes: Int) -> Int {
        let bytes = max(bytes, 1)
        guard bytes >= minimumBytes else { return bytes }
        return (bytes + pageBytes - 1) / pageBytes * pageBytes
    }

    /// 64-byte aligned memory for `bytes` bytes (a recycled buffer when one of that size class is
    /// free); running out is fatal, as for any Swift allocation. Give it back with `release`,
    /// with the same `bytes`.
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let rounded = roundedBytes(bytes)
        if rounded >= minimumBytes {
            let recycled: UInt? = state.withLock { state in
                defer { state.noteAllocation(rounded) }
                guard let address = state.buffers[rounded]?.popLast()?.address else {
                    state.misses += 1
                    return nil
                }
                state.cachedBytes -= rounded
                state.hits += 1
                return address
            }
            if let recycled, let pointer = UnsafeMutableRawPointer(bitPattern: recycled) { return pointer }
        }
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, 64, rounded)
        precondition(status == 0 && raw != nil, "out of memory allocating \(bytes) bytes")
        return raw!
    }

    /// Takes back a buffer from `allocate(bytes:)` (same `bytes`): kept for reuse, or freed.
    static func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        let rounded = roundedBytes(bytes)
        guard rounded >= minimumBytes else { return free(pointer) }
        let address = UInt(bitPattern: pointer)
        let evicted: [UInt] = state.withLock { state in
            state.liveBytes -= rounded
            guard rounded <= state.limit else { return [address] }
            let evicted = state.evict(downTo: state.limit - rounded)
            state.releases += 1
            state.buffers[rounded, default: []].append((address, state.releases))
            state.cachedBytes += rounded
            return evicted
        }
        freeAll(evicted)
    }

    /// Frees every cached buffer.
    static func trim() {
        freeAll(state.withLock { $0.evict(downTo: 0) })
    }

    private static func freeAll(_ addresses: [UInt]) {
        for address in addresses { free(UnsafeMutableRawPointer(bitPattern: address)) }
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

    /// A new limit; when the pool holds more than it, it lets go of the buffers released longest ago.
    static func setLimit(_ limit: Int) {
        freeAll(state.withLock { state in
            state.limit = max(limit, 0)
            return state.evict(downTo: state.limit)
        })
    }
}

extension Engine {
    /// What the buffer pool of tensor storage holds (see `trimBufferPool()`).
    public struct BufferPoolStatistics: Sendable, Equatable {
        /// Bytes of freed buffers kept for reuse.
        public var cachedBytes: Int
        /// The most the pool keeps.
        public var limit: Int
        /// Allocations of pooled sizes served from the pool, and those that were not.
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

    /// Freed tensor buffers of 64 KiB and more are kept for reuse by later tensors of the same
    /// size (so that a training loop does not fault its memory in again every step); these are
    /// the pool's figures.
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
