import Tensor

/// A source of real image batches for a trainer: `[N, C, H, W]` tensors in the range the
/// trainer expects ([−1, 1] for the GAN trainer).
///
/// Sources must be deterministic for a given seed so that a resumed run sees the same data:
/// `skipBatches(_:)` moves past batches already consumed (by default by drawing and dropping them).
public protocol TrainingBatchSource {
    /// The next batch.
    mutating func nextBatch() throws -> Tensor
    /// Moves past `count` batches.
    mutating func skipBatches(_ count: Int) throws
}

extension TrainingBatchSource {
    public mutating func skipBatches(_ count: Int) throws {
        for _ in 0..<count { _ = try nextBatch() }
    }
}

/// A batch source made of a closure (adapts loaders from other modules).
public struct ClosureBatchSource: TrainingBatchSource {
    private let next: () throws -> Tensor

    public init(_ next: @escaping () throws -> Tensor) { self.next = next }

    public mutating func nextBatch() throws -> Tensor { try next() }
}
