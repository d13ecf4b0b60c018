import CHammingKernels
import Dispatch
import Foundation

/// Fingerprints of one length packed contiguously in memory, for nearest-match search by
/// Hamming distance: entry i occupies `words[i * wordsPerEntry ..< (i + 1) * wordsPerEntry]`.
///
/// A search XORs the query with every entry and counts the differing bits with `popcount`, in
/// one contiguous range per core. The counting runs in a small C kernel compiled for several
/// instruction sets and chosen at run time (`searchKernel`): AVX-512 VPOPCNTDQ for 128-bit
/// fingerprints where the CPU has it, else POPCNT, else portable code. Ten million 128-bit
/// fingerprints take 160 MB, and one search streams them once, so the machine's memory bandwidth
/// bounds it (see Docs/benchmarks.md, "Forensics").
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
        let wordsPerEntry = self.wordsPerEntry
        let best = searchInParallel(query) { words, range, query in
            var distance: Int64 = 0, position: Int64 = 0
            gfp_hamming_nearest(words.baseAddress, wordsPerEntry, range.lowerBound, range.upperBound, query.baseAddress,
                                &distance, &position)
            return (Int(distance), Int(position))
        }
        return Neighbour(position: best.position, identifier: identifiers[best.position], distance: best.distance)
    }

    /// The instruction set the search uses for this index's fingerprint length:
    /// `"avx512-vpopcntdq"`, `"popcnt"` or `"portable"`.
    public var searchKernel: String { String(cString: gfp_hamming_kernel_name(wordsPerEntry)) }

    /// Whether some entry lies at Hamming distance less than `distance` from `fingerprint`.
    public func containsEntry(closerThan distance: Int, to fingerprint: Fingerprint) -> Bool {
        guard let nearest = nearest(to: fingerprint) else { return false }
        return nearest.distance < distance
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
