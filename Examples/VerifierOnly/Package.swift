// swift-tools-version: 6.0
// A package that uses gfp's binomial verifier alone: it links no C library and no tensor code.
// Built by ForensicsTests (VerifierOnlyExampleTests), which checks its binary with `ldd`.
import PackageDescription

let package = Package(
    name: "VerifierOnly",
    dependencies: [
        .package(name: "gfp", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "VerifierOnly",
            dependencies: [.product(name: "FingerprintVerifier", package: "gfp")]),
    ]
)
