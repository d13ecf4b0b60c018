import XCTest
import TestSupport
@testable import Tensor

/// `BufferPool`: freed tensor buffers of a size are handed out again for that size, within a limit,
/// and recycled memory never changes results.
final class BufferPoolTests: XCTestCase {
    // Sizes no other test allocates, so that the pool's figures are this test's own.
    let bytes = 777 * 4096 + 12

    override func tearDown() {
        Engine.bufferPoolLimit = BufferPool.defaultLimit
        super.tearDown()
    }

    func testReleasedBufferIsReused() {
        let first = BufferPool.allocate(bytes: bytes)
        BufferPool.release(first, bytes: bytes)
        let before = Engine.bufferPoolStatistics
        XCTAssertGreaterThanOrEqual(before.cachedBytes, BufferPool.roundedBytes(bytes))
        let second = BufferPool.allocate(bytes: bytes - 8)
        XCTAssertEqual(Int(bitPattern: second) % 64, 0, "64-byte aligned")
        let after = Engine.bufferPoolStatistics
        XCTAssertEqual(after.hits, before.hits + 1, "served from freed memory")
        XCTAssertEqual(after.cachedBytes, before.cachedBytes - BufferPool.roundedBytes(bytes))
        BufferPool.release(second, bytes: bytes - 8)
    }

    func testSmallBuffersBypassThePool() {
        let before = Engine.bufferPoolStatistics
        let small = BufferPool.allocate(bytes: 1000)
        BufferPool.release(small, bytes: 1000)
        let after = Engine.bufferPoolStatistics
        XCTAssertEqual(after.cachedBytes, before.cachedBytes)
        XCTAssertEqual(after.hits + after.misses, before.hits + before.misses)
    }

    func testLimitAndTrim() {
        Engine.bufferPoolLimit = 0
        XCTAssertEqual(Engine.bufferPoolStatistics.cachedBytes, 0, "lowering the limit frees what is over it")
        let pointer = BufferPool.allocate(bytes: bytes)
        BufferPool.release(pointer, bytes: bytes)
        XCTAssertEqual(Engine.bufferPoolStatistics.cachedBytes, 0, "limit 0: nothing is kept")

        // A limit of two and a half buffers: the third release gives every freed page back.
        let rounded = BufferPool.roundedBytes(bytes)
        Engine.bufferPoolLimit = 5 * rounded / 2
        let buffers = (0..<3).map { _ in BufferPool.allocate(bytes: bytes) }
        BufferPool.release(buffers[0], bytes: bytes)
        BufferPool.release(buffers[1], bytes: bytes)
        XCTAssertEqual(Engine.bufferPoolStatistics.cachedBytes, 2 * rounded)
        BufferPool.release(buffers[2], bytes: bytes)
        XCTAssertEqual(Engine.bufferPoolStatistics.cachedBytes, 0)
        // Ranges whose pages went back are still usable (and read as zeros).
        let again = BufferPool.allocate(bytes: bytes)
        again.storeBytes(of: 1, as: Float.self)
        BufferPool.release(again, bytes: bytes)

        Engine.trimBufferPool()
        XCTAssertEqual(Engine.bufferPoolStatistics.cachedBytes, 0)
    }

    func testRecycledBuffersGiveTheSameResults() {
        // A convolution chain and its gradients, once with a cold pool and then repeatedly with
        // buffers recycled from the previous round (stale values in them must never leak through).
        func run() -> [Float] {
            var random = SeededGenerator(seed: 7)
            let x = Tensor.normal([8, 16, 24, 24], using: &random).requiringGradient()
            let w = Tensor.normal([16, 16, 3, 3], standardDeviation: 0.1, using: &random).requiringGradient()
            let y = Tensor.conv2d(Tensor.conv2d(x, weight: w, padding: 1).relu(), weight: w, padding: 1)
            (y * y).sum().backward()
            return y.scalars + x.gradient!.scalars + w.gradient!.scalars
        }
        Engine.trimBufferPool()
        let cold = run()
        let hitsBefore = Engine.bufferPoolStatistics.hits
        for _ in 0..<3 { XCTAssertEqual(run(), cold) }
        XCTAssertGreaterThan(Engine.bufferPoolStatistics.hits, hitsBefore, "the later rounds reused buffers")
    }
}
