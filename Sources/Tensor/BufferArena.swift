#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A large reserved range of address space from which `BufferPool` carves page-aligned tensor
/// buffers: a request takes the best-fitting free range (split if larger), freed ranges merge
/// with free neighbours, and the top of the used part rises only when nothing free fits.
///
/// Pages below the top stay resident when their buffer is freed, so a training loop does not
/// fault its memory in again every step; and unlike a cache of buffers by size, a freed range
/// serves a request of any size that fits in it, so sizes busy at different moments share pages.
/// The resident memory is then about the most that was ever live at once (plus fragmentation),
/// not the sum of each size's own busiest moment.
///
/// Not thread-safe: `BufferPool` calls it under its lock. Offsets and sizes are in bytes, multiples
/// of the page size.
struct BufferArena: ~Copyable {
    /// Start of the reservation; nil when the system refused it (the pool then uses `malloc`).
    let base: UnsafeMutableRawPointer?
    /// Bytes reserved.
    let capacity: Int
    /// End of the part ever handed out: everything above is untouched address space.
    private(set) var top = 0
    /// Free ranges below `top`: start → size, and end → start (to merge with the range before).
    private var freeStarts: [Int: Int] = [:]
    private var freeEnds: [Int: Int] = [:]
    /// Bytes of the free ranges, and of those whose pages were given back (`releaseFreePages`).
    private(set) var freeBytes = 0
    private var releasedBytes: [Int: Int] = [:]
    private(set) var releasedTotal = 0

    /// Reserves `capacity` bytes of address space (no memory is committed until touched).
    init(capacity: Int) {
        let reserved = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        if let reserved, reserved != MAP_FAILED {
            base = reserved
            self.capacity = capacity
        } else {
            base = nil
            self.capacity = 0
        }
    }

    /// Free bytes whose pages are resident (what keeping them costs).
    var residentFreeBytes: Int { freeBytes - releasedTotal }

    /// Whether `pointer` lies in the arena.
    func contains(_ pointer: UnsafeMutableRawPointer) -> Bool {
        guard let base else { return false }
        return pointer >= base && pointer < base + capacity
    }

    /// A range of `bytes` (a multiple of the page size), or nil when the reservation is full.
    /// `reused` tells whether it came from a free range (false: it raised the top).
    mutating func allocate(bytes: Int) -> (pointer: UnsafeMutableRawPointer, reused: Bool)? {
        guard let base else { return nil }
        // Best fit: the smallest free range that holds the request, the lowest on ties.
        var best: (start: Int, size: Int)?
        for (start, size) in freeStarts where size >= bytes {
            if let b = best, size > b.size || (size == b.size && start > b.start) { continue }
            best = (start, size)
        }
        if let (start, size) = best {
            removeFree(start: start, size: size, carved: bytes)
            if size > bytes { insertFree(start: start + bytes, size: size - bytes) }
            return (base + start, true)
        }
        // Nothing fits: extend the free range at the top, if there is one, or start a new one.
        let start = freeEnds[top] ?? top
        guard start + bytes <= capacity else { return nil }
        takeRangeAtTop()
        top = start + bytes
        return (base + start, false)
    }

    /// Takes back a range from `allocate(bytes:)`.
    mutating func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        insertFree(start: pointer - base!, size: bytes)
    }

    /// Gives the pages of every free range back to the system (the ranges stay usable: their
    /// pages are faulted in again when used) and lowers the top over a free range at the top.
    mutating func releaseFreePages() {
        guard let base else { return }
        if let (start, size) = takeRangeAtTop() {
            madvise(base + start, size, MADV_DONTNEED)
            top = start
        }
        for (start, size) in freeStarts where (releasedBytes[start] ?? 0) < size {
            madvise(base + start, size, MADV_DONTNEED)
            releasedTotal += size - (releasedBytes[start] ?? 0)
            releasedBytes[start] = size
        }
    }

    /// Removes the free range that ends at `top`, if there is one (it is about to be used or
    /// given back whole).
    @discardableResult
    private mutating func takeRangeAtTop() -> (start: Int, size: Int)? {
        guard let start = freeEnds[top], let size = freeStarts[start] else { return nil }
        removeFree(start: start, size: size, carved: size)
        return (start, size)
    }

    private mutating func insertFree(start: Int, size: Int) {
        var (start, size) = (start, size)
        var released = releasedBytes.removeValue(forKey: start) ?? 0
        freeBytes += size
        if let previous = freeEnds[start] {
            let previousSize = freeStarts.removeValue(forKey: previous)!
            freeEnds[start] = nil
            released += releasedBytes.removeValue(forKey: previous) ?? 0
            (start, size) = (previous, size + previousSize)
        }
        if let nextSize = freeStarts.removeValue(forKey: start + size) {
            freeEnds[start + size + nextSize] = nil
            released += releasedBytes.removeValue(forKey: start + size) ?? 0
            size += nextSize
        }
        freeStarts[start] = size
        freeEnds[start + size] = start
        if released > 0 { releasedBytes[start] = released }
    }

    /// Removes a free range that `carved` bytes of are about to be used.
    private mutating func removeFree(start: Int, size: Int, carved: Int) {
        freeStarts[start] = nil
        freeEnds[start + size] = nil
        freeBytes -= size
        if let released = releasedBytes.removeValue(forKey: start) {
            // Where in the range the released pages are is not tracked: count them as used first.
            let used = min(released, carved)
            releasedTotal -= used
            if released > used { releasedBytes[start + carved] = released - used }
        }
    }
}
