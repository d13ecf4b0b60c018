#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A contiguous, 64-byte aligned buffer of `Float` values shared by `Tensor` values.
///
/// Storage is never mutated while more than one `Tensor` refers to it: `Tensor` checks
/// `isKnownUniquelyReferenced` and copies first (copy on write). That is what makes sharing a
/// storage between threads safe, hence `@unchecked Sendable`.
///
/// **Blocked copies.** The values may also, or only, exist in one of oneDNN's blocked layouts
/// (`blocked`, e.g. nChw16c), so that a convolution's output can feed the next convolution, and
/// element-wise functions in between, without being reordered to row-major and back:
/// - a convolution's output starts with the blocked values only; the row-major buffer is filled
///   by a reorder the first time `pointer` is read (`DNNL.materializePlain`);
/// - a row-major input of a convolution keeps the blocked copy the convolution made of it, so its
///   backward pass (or the next step, for weights) does not reorder it again;
/// - element-wise kernels compute directly on blocked values when every operand has only those.
///
/// Invariants: `blocked`, once set, changes only when the storage is uniquely referenced (before
/// an in-place mutation, `prepareForMutation`) or at deinit; while the row-major values are not
/// valid, `blocked` holds them. Setting a cache on a row-major storage happens under DNNL's lock.
final class TensorStorage: @unchecked Sendable {
    /// Number of `Float` elements.
    let count: Int
    /// The row-major buffer: allocated up front, or, for a storage that starts with blocked values
    /// only, when they are first reordered into it (under DNNL's lock, before `plainValid` is set,
    /// so a reader that sees the values valid also sees the buffer).
    private var plain: UnsafeMutablePointer<Float>?
    /// Whether `plain` holds the values. Only ever goes from false to true, except through
    /// `prepareForMutation` on a uniquely referenced storage.
    private let plainValid: Atomic<Bool>
    /// The values in a oneDNN layout (see the type's documentation).
    var blocked: BlockedBuffer?

    /// Allocates uninitialised row-major storage for `count` elements.
    init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count \(count)")
        self.count = count
        plainValid = Atomic(true)
        plain = Self.allocate(bytes: plainBytes).bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Storage whose values are only in `blocked` (a convolution's output), taking ownership of it.
    init(blockedOnly blocked: BlockedBuffer, count: Int) {
        self.count = count
        plain = nil   // most of these are never read in row-major order
        plainValid = Atomic(false)
        self.blocked = blocked
    }

    /// A new storage whose values exist only in `layout`, written by `fill` into a fresh buffer.
    convenience init(count: Int, blockedIn layout: BlockedLayout, _ fill: (UnsafeMutablePointer<Float>) -> Void) {
        let pointer = Self.allocate(bytes: layout.bytes)
        fill(pointer.assumingMemoryBound(to: Float.self))
        self.init(blockedOnly: BlockedBuffer(layout: layout, pointer: pointer), count: count)
    }

    /// Allocates storage filled with `value`.
    convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        plainBufferUnchecked.initialize(repeating: value, count: count)
    }

    /// Allocates a copy of `count` elements starting at `source`.
    convenience init(copying source: UnsafePointer<Float>, count: Int) {
        self.init(uninitializedCount: count)
        plainBufferUnchecked.initialize(from: source, count: count)
    }

    deinit {
        if let plain { BufferPool.release(UnsafeMutableRawPointer(plain), bytes: plainBytes) }
        if let blocked { BufferPool.release(blocked.pointer, bytes: blocked.layout.bytes) }
    }

    /// 64-byte aligned memory, recycled through `BufferPool`; running out is fatal, as for any
    /// Swift allocation. A blocked buffer allocated here is released by the storage that owns it.
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        BufferPool.allocate(bytes: bytes)
    }

    /// Start of the row-major elements, filled from the blocked copy first if needed.
    var pointer: UnsafeMutablePointer<Float> {
        if !plainValid.load(ordering: .acquiring) { DNNL.materializePlain(self) }
        return plain!
    }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// Whether the row-major values are valid (without filling them).
    var hasPlainValues: Bool { plainValid.load(ordering: .acquiring) }

    /// The row-major buffer whatever its state: for DNNL, under its lock, to fill or read it.
    /// (allocating it on first use).
    var plainBufferUnchecked: UnsafeMutablePointer<Float> {
        if let plain { return plain }
        let buffer = Self.allocate(bytes: plainBytes).bindMemory(to: Float.self, capacity: max(count, 1))
        plain = buffer
        return buffer
    }

    private var plainBytes: Int { max(count, 1) * MemoryLayout<Float>.stride }

    /// Records that `plainBufferUnchecked` now holds the values (DNNL, under its lock).
    func markPlainValid() { plainValid.store(true, ordering: .releasing) }

    /// The blocked buffer when the values exist only there and it has no padding, so that an
    /// element-wise function can run on it element by element (nil otherwise).
    var denseBlockedOnly: BlockedBuffer? {
        guard !hasPlainValues, let blocked, blocked.layout.isDense(count: count) else { return nil }
        return blocked
    }

    /// Before the row-major values are changed in place (the storage must be uniquely
    /// referenced): fills them if needed and drops the blocked copy, which would go stale.
    func prepareForMutation() {
        _ = pointer
        if let blocked {
            BufferPool.release(blocked.pointer, bytes: blocked.layout.bytes)
            self.blocked = nil
        }
    }
}

/// Values of a storage in a oneDNN layout: the buffer (owned by the storage) and its layout.
struct BlockedBuffer: @unchecked Sendable {
    let layout: BlockedLayout
    let pointer: UnsafeMutableRawPointer
}
