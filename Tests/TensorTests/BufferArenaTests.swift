import XCTest
@testable import Tensor

/// `BufferArena`: best fit among freed ranges, splitting, merging with free neighbours, the top
/// raised only when nothing fits, and freed pages given back without losing the ranges.
final class BufferArenaTests: XCTestCase {
    let page = 4096

    func testFreedRangesServeRequestsOfAnySizeThatFits() throws {
        var arena = BufferArena(capacity: 256 * page)
        let base = try XCTUnwrap(arena.base)
        let a = try XCTUnwrap(arena.allocate(bytes: 16 * page)), b = try XCTUnwrap(arena.allocate(bytes: 8 * page))
        XCTAssertEqual(a.pointer, base)
        XCTAssertEqual(b.pointer, base + 16 * page)
        XCTAssertFalse(a.reused || b.reused)
        XCTAssertEqual(arena.top, 24 * page)

        // A freed 16-page range serves a 4-page and then a 12-page request: no new pages.
        arena.release(a.pointer, bytes: 16 * page)
        let c = try XCTUnwrap(arena.allocate(bytes: 4 * page)), d = try XCTUnwrap(arena.allocate(bytes: 12 * page))
        XCTAssertTrue(c.reused && d.reused)
        XCTAssertEqual([c.pointer, d.pointer], [base, base + 4 * page])
        XCTAssertEqual(arena.top, 24 * page)
        XCTAssertEqual(arena.freeBytes, 0)

        // Freed neighbours merge into one range that holds a request neither could.
        arena.release(c.pointer, bytes: 4 * page)
        arena.release(d.pointer, bytes: 12 * page)
        let e = try XCTUnwrap(arena.allocate(bytes: 16 * page))
        XCTAssertEqual(e.pointer, base)
        XCTAssertTrue(e.reused)
    }

    func testBestFitAndExtendingTheTopRange() throws {
        var arena = BufferArena(capacity: 256 * page)
        let base = try XCTUnwrap(arena.base)
        for _ in 0..<4 { _ = try XCTUnwrap(arena.allocate(bytes: 8 * page)) }
        // Ranges [0, 8) [8, 16) [16, 24) [24, 32) (in pages); free the first and the third.
        arena.release(base, bytes: 8 * page)
        arena.release(base + 16 * page, bytes: 8 * page)
        let small = try XCTUnwrap(arena.allocate(bytes: 3 * page))
        XCTAssertEqual(small.pointer, base, "equal fits: the lowest")
        let fit = try XCTUnwrap(arena.allocate(bytes: 6 * page))
        XCTAssertEqual(fit.pointer, base + 16 * page, "the 8-page range; the 5 pages left at 3 are too few")
        XCTAssertEqual(arena.freeBytes, 5 * page + 2 * page)
        let exact = try XCTUnwrap(arena.allocate(bytes: 2 * page))
        XCTAssertEqual(exact.pointer, base + 22 * page, "the smallest range that fits")

        // The top range [24, 32) freed: a 12-page request extends it instead of starting at 32.
        arena.release(base + 24 * page, bytes: 8 * page)
        let big = try XCTUnwrap(arena.allocate(bytes: 12 * page))
        XCTAssertEqual(big.pointer, base + 24 * page)
        XCTAssertFalse(big.reused)
        XCTAssertEqual(arena.top, 36 * page)
    }

    func testGivingPagesBackKeepsRangesUsableAndCountsThem() throws {
        var arena = BufferArena(capacity: 64 * page)
        let base = try XCTUnwrap(arena.base)
        let a = try XCTUnwrap(arena.allocate(bytes: 8 * page)), b = try XCTUnwrap(arena.allocate(bytes: 8 * page))
        _ = try XCTUnwrap(arena.allocate(bytes: 8 * page))
        a.pointer.storeBytes(of: 7, as: Float.self)
        arena.release(a.pointer, bytes: 8 * page)
        arena.release(b.pointer, bytes: 8 * page)
        XCTAssertEqual(arena.residentFreeBytes, 16 * page)
        arena.releaseFreePages()
        XCTAssertEqual(arena.residentFreeBytes, 0)
        XCTAssertEqual(arena.freeBytes, 16 * page)
        let again = try XCTUnwrap(arena.allocate(bytes: 4 * page))
        XCTAssertEqual(again.pointer, base)
        XCTAssertEqual(again.pointer.load(as: Float.self), 0, "given-back pages come back as zeros")

        // A free range at the top is given back by lowering the top.
        let top = arena.top
        let last = try XCTUnwrap(arena.allocate(bytes: 40 * page))
        XCTAssertEqual(last.pointer, base + top)
        arena.release(last.pointer, bytes: 40 * page)
        arena.releaseFreePages()
        XCTAssertEqual(arena.top, top)
        // Past the capacity: nil, and the arena is unchanged.
        XCTAssertNil(arena.allocate(bytes: 64 * page))
        XCTAssertEqual(arena.top, top)
    }
}
