// Decide whether decoded bits carry a fingerprint, with nothing but FingerprintVerifier.
//
//     swift run --package-path Examples/VerifierOnly VerifierOnly [decoded-bits expected-bits]
import FingerprintVerifier
#if canImport(Glibc)
import Glibc  // exit(), from the C library every Swift program links; no Foundation
#elseif canImport(Darwin)
import Darwin
#endif

let arguments = CommandLine.arguments.dropFirst()
let expected: Fingerprint, decoded: Fingerprint
if arguments.count == 2 {
    do {
        decoded = try Fingerprint(parsing: arguments.first!)
        expected = try Fingerprint(parsing: arguments.last!)
    } catch {
        print("error: \(error)")
        exit(2)
    }
} else {
    // The ICCV'21 paper's example: 75 of 100 bits agree.
    expected = Fingerprint(bits: (0..<100).map { $0 % 3 == 0 })
    decoded = Fingerprint(bits: expected.enumerated().map { $0.offset < 25 ? !$0.element : $0.element })
}

do {
    let verdict = try Verdict(decoded: decoded, expected: expected, falsePositiveRate: 1e-6)
    print(verdict)
    print("threshold among 1,000 registered fingerprints: \(threshold(forFalsePositiveRate: 1e-6, bits: verdict.bitCount, candidates: 1000))")
    exit(verdict.matched ? 0 : 1)
} catch {
    print("error: \(error)")
    exit(2)
}
