#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A contiguous, 64-byte aligned buffer of `Float` values shared by `Tensor` values.
///
/// Storage is never mutated while more than one `Tensor` refers to it: `Tensor` checks
/// `isKnownUniquelyReferenced` and copies first (copy on write). That is what makes sharing a
/// storage between threads safe, hence `@unchecked Sendable`.
final class TensorStorage: @unchecked Sendable {
    /// Number of `Float` elements.
    let count: Int
    /// Start of the elements; valid for `count` elements (at least one byte is always allocated).
    let pointer: UnsafeMutablePointer<Float>

    /// Allocates uninitialised storage for `count` elements.
    init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count \(count)")
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let status = posix_memalign(&raw, 64, bytes)
        precondition(status == 0 && raw != nil, "out of memory allocating \(bytes) bytes")
        pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates storage filled with `value`.
    convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    /// Allocates a copy of `count` elements starting at `source`.
    convenience init(copying source: UnsafePointer<Float>, count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(from: source, count: count)
    }

    deinit { free(pointer) }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
