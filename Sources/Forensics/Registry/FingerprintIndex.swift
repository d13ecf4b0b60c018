import Dispatch
import Foundation

/// Fingerprints of one length packed contiguously in memory, for nearest-match search by
/// Hamming distance: entry i occupies `words[i * wordsPerEntry ..< (i + 1) * wordsPerEntry]`.
///
/// A search XORs the query with every entry and counts the differing bits with `popcount`,
/// over all cores. Ten million 128-bit fingerprints take 160 MB, and one search streams them
/// once: the machine's memory bandwidth bounds it (see Docs/benchmarks.md, "Forensics").
public struct FingerprintIndex: Sendable {
    /// The length of every fingerprint, in bits.
    public let bitCount: Int
    /// The number of 64-bit words per fingerprint.
    public let wordsPerEntry: Int
    /// The packed fingerprints, `count * wordsPerEntry` words.
    public private(set) var words: [UInt64]
    /// The caller's identifier of each entry (registry ids), `count` values.
    public private(set) var identifiers: [Int64]

    /// The number of fingerprints.
    public var count: Int { identifiers.count }

    /// An empty index of `bitCount`-bit fingerprints.
    public init(bitCount: Int) {
        precondition(bitCount > 0, "FingerprintIndex(bitCount: \(bitCount)): the bit count must be positive")
        self.bitCount = bitCount
        self.wordsPerEntry = Fingerprint.wordCount(forBitCount: bitCount)
        self.words = []
        self.identifiers = []
    }

    /// An index of `count` independent uniformly random fingerprints with identifiers
    /// `0..<count`: the null model of matching (for benchmarks and calibration).
    public static func random<Generator: RandomNumberGenerator>(count: Int, bitCount: Int,
                                                               using generator: inout Generator) -> FingerprintIndex {
        var index = FingerprintIndex(bitCount: bitCount)
        index.reserveCapacity(count)
        let lastWordMask: UInt64 = bitCount & 63 == 0 ? .max : (1 << UInt64(bitCount & 63)) &- 1
        for i in 0..<count {
            for w in 0..<index.wordsPerEntry {
                let word = generator.next()
                index.words.append(w == index.wordsPerEntry - 1 ? word & lastWordMask : word)
            }
            index.identifiers.append(Int64(i))
        }
        return index
    }

    /// Reserves memory for `count` fingerprints.
    public mutating func reserveCapacity(_ count: Int) {
        words.reserveCapacity(count * wordsPerEntry)
        identifiers.reserveCapacity(count)
    }

    /// Appends `fingerprint` under `identifier`.
    public mutating func append(_ fingerprint: Fingerprint, identifier: Int64) {
        precondition(fingerprint.bitCount == bitCount,
                     "FingerprintIndex of \(bitCount)-bit fingerprints: appending one of \(fingerprint.bitCount) bits")
        words.append(contentsOf: fingerprint.words)
        identifiers.append(identifier)
    }

    /// The fingerprint at `position` (0-based, in order of appending).
    public func fingerprint(at position: Int) -> Fingerprint {
        Fingerprint(words: Array(words[position * wordsPerEntry..<(position + 1) * wordsPerEntry]), bitCount: bitCount)
    }

    /// The result of a nearest-match search.
    public struct Neighbour: Hashable, Sendable {
        /// The entry's position in the index.
        public let position: Int
        /// The entry's identifier.
        public let identifier: Int64
        /// Its Hamming distance to the query.
        public let distance: Int
    }

    /// The entry nearest to `query` in Hamming distance (the first in order among equals), or nil
    /// for an empty index.
    public func nearest(to query: Fingerprint) -> Neighbour? {
        precondition(query.bitCount == bitCount,
                     "FingerprintIndex of \(bitCount)-bit fingerprints: query of \(query.bitCount) bits")
        guard count > 0 else { return nil }
        let best = searchInParallel(query) { words, range, query in
            scanNearest(words, range: range, wordsPerEntry: wordsPerEntry, query: query)
        }
        return Neighbour(position: best.position, identifier: identifiers[best.position], distance: best.distance)
    }

    /// Whether some entry lies at Hamming distance less than `distance` from `fingerprint`
    /// (stopping at the first one found).
    public func containsEntry(closerThan distance: Int, to fingerprint: Fingerprint) -> Bool {
        precondition(fingerprint.bitCount == bitCount,
                     "FingerprintIndex of \(bitCount)-bit fingerprints: query of \(fingerprint.bitCount) bits")
        return firstEntry(closerThan: distance, to: fingerprint) != nil
    }

    /// The first entry at Hamming distance less than `distance` from `fingerprint`, if any.
    func firstEntry(closerThan distance: Int, to fingerprint: Fingerprint) -> Neighbour? {
        let wordsPerEntry = self.wordsPerEntry
        return words.withUnsafeBufferPointer { words in
            fingerprint.words.withUnsafeBufferPointer { query in
                for i in 0..<count {
                    var d = 0
                    for w in 0..<wordsPerEntry { d &+= (words[i * wordsPerEntry + w] ^ query[w]).nonzeroBitCount }
                    if d < distance { return Neighbour(position: i, identifier: identifiers[i], distance: d) }
                }
                return nil
            }
        }
    }

    /// Splits the entries into one contiguous range per core, runs `scan` on each and keeps the
    /// best result (the smallest distance, then the smallest position).
    private func searchInParallel(
        _ query: Fingerprint,
        _ scan: @Sendable (UnsafeBufferPointer<UInt64>, Range<Int>, UnsafeBufferPointer<UInt64>) -> (distance: Int, position: Int)
    ) -> (distance: Int, position: Int) {
        let count = self.count
        // Below about 64k entries (1 MB at 128 bits) a second thread costs more than it saves.
        let chunks = count < 65_536 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, 64)
        return words.withUnsafeBufferPointer { words in
            query.words.withUnsafeBufferPointer { query in
                if chunks == 1 { return scan(words, 0..<count, query) }
                let results = UnsafeMutableBufferPointer<(distance: Int, position: Int)>.allocate(capacity: chunks)
                defer { results.deallocate() }
                nonisolated(unsafe) let (sharedWords, sharedQuery, sharedResults) = (words, query, results)
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    let range = (chunk * count / chunks)..<((chunk + 1) * count / chunks)
                    sharedResults[chunk] = scan(sharedWords, range, sharedQuery)
                }
                return results.min { ($0.distance, $0.position) < ($1.distance, $1.position) }!
            }
        }
    }
}

/// The nearest entry of `range`: distance and position, the first among equals.
private func scanNearest(_ words: UnsafeBufferPointer<UInt64>, range: Range<Int>, wordsPerEntry: Int,
                         query: UnsafeBufferPointer<UInt64>) -> (distance: Int, position: Int) {
    if wordsPerEntry == 2 { return scanNearest128(words, range: range, query: query) }
    var best = Int.max, position = range.lowerBound
    if wordsPerEntry == 1 {
        let q0 = query[0]
        for i in range {
            let d = (words[i] ^ q0).nonzeroBitCount
            if d < best { best = d; position = i }
        }
    } else {
        for i in range {
            var d = 0
            let base = i &* wordsPerEntry
            for w in 0..<wordsPerEntry { d &+= (words[base &+ w] ^ query[w]).nonzeroBitCount }
            if d < best { best = d; position = i }
        }
    }
    return (best, position)
}

/// `scanNearest` for 128-bit fingerprints, the papers' length, four entries per step.
///
/// Swift code for the baseline x86-64 target may not use the POPCNT instruction, and `nonzeroBitCount`
/// becomes a bit-slicing sequence per word. Here the two words of an entry are one `SIMD2<UInt64>`
/// (an SSE2 register): each is reduced to 4-bit counts, the two words' counts are added, the
/// bytes of four entries are interleaved into one register and summed with shifts, so that the
/// per-entry work shrinks by about a third and a scan of 10⁷ entries runs near memory bandwidth.
private func scanNearest128(_ words: UnsafeBufferPointer<UInt64>, range: Range<Int>,
                            query: UnsafeBufferPointer<UInt64>) -> (distance: Int, position: Int) {
    typealias Pair = SIMD2<UInt64>
    @inline(__always) func nibbleCounts(_ x: Pair) -> Pair {
        // Each 4-bit field of the result counts the set bits of that field of x (at most 4).
        let v = x &- ((x &>> 1) & Pair(repeating: 0x5555_5555_5555_5555))
        return (v & Pair(repeating: 0x3333_3333_3333_3333)) &+ ((v &>> 2) & Pair(repeating: 0x3333_3333_3333_3333))
    }
    @inline(__always) func byteCounts(_ x: Pair, _ y: Pair) -> Pair {
        // Lanes: entry x and entry y; each byte sums four-bit counts of both words (at most 16).
        let sum = Pair(x[0], y[0]) &+ Pair(x[1], y[1])
        return (sum &+ (sum &>> 4)) & Pair(repeating: 0x0f0f_0f0f_0f0f_0f0f)
    }
    var best = Int.max, position = range.lowerBound
    let q = Pair(query[0], query[1])
    let raw = UnsafeRawPointer(words.baseAddress!)
    let evenBytes = Pair(repeating: 0x00ff_00ff_00ff_00ff)
    var i = range.lowerBound
    while i &+ 3 < range.upperBound {
        let offset = 16 &* i
        let a = nibbleCounts(raw.loadUnaligned(fromByteOffset: offset, as: Pair.self) ^ q)
        let b = nibbleCounts(raw.loadUnaligned(fromByteOffset: offset &+ 16, as: Pair.self) ^ q)
        let c = nibbleCounts(raw.loadUnaligned(fromByteOffset: offset &+ 32, as: Pair.self) ^ q)
        let d = nibbleCounts(raw.loadUnaligned(fromByteOffset: offset &+ 48, as: Pair.self) ^ q)
        var ab = byteCounts(a, b), cd = byteCounts(c, d)
        ab = ab &+ (ab &>> 8)                                  // even bytes: sums of byte pairs, ≤ 32
        cd = cd &+ (cd &>> 8)
        var sums = (ab & evenBytes) | ((cd & evenBytes) &<< 8)  // entries a, b in even bytes; c, d in odd
        sums = sums &+ (sums &>> 16)
        sums = sums &+ (sums &>> 32)                           // byte 0: a | b, byte 1: c | d (≤ 128)
        let da = Int(truncatingIfNeeded: sums[0] & 0xff), db = Int(truncatingIfNeeded: sums[1] & 0xff)
        let dc = Int(truncatingIfNeeded: (sums[0] >> 8) & 0xff), dd = Int(truncatingIfNeeded: (sums[1] >> 8) & 0xff)
        if min(min(da, db), min(dc, dd)) < best {
            if da < best { best = da; position = i }
            if db < best { best = db; position = i &+ 1 }
            if dc < best { best = dc; position = i &+ 2 }
            if dd < best { best = dd; position = i &+ 3 }
        }
        i &+= 4
    }
    while i < range.upperBound {
        let d = (words[2 &* i] ^ query[0]).nonzeroBitCount &+ (words[2 &* i &+ 1] ^ query[1]).nonzeroBitCount
        if d < best { best = d; position = i }
        i &+= 1
    }
    return (best, position)
}
