// swift-tools-version: 6.0
// gfp: generative-model fingerprinting in Swift. See README.md and Docs/architecture.md.
import PackageDescription

let package = Package(
    name: "gfp",
    products: [
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "FingerprintVerifier", targets: ["FingerprintVerifier"]),
        .library(name: "Forensics", targets: ["Forensics"]),
        .library(name: "Stego", targets: ["Stego"]),
        .library(name: "ScalableGAN", targets: ["ScalableGAN"]),
        .library(name: "Attribution", targets: ["Attribution"]),
        .executable(name: "gfp", targets: ["gfp-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Thin system-library shims: a module map and a one-line header each, nothing else.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // Own convolution kernels for AVX2 CPUs (Winograd F(4x4, 3x3), direct stride 2), where oneDNN 2.6
        // has only slower direct ones; chosen at run time.
        // -O3: at -O2 the 4 x 4 tile transforms were not fully unrolled into registers.
        .target(name: "CConvolutionKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Tensor", dependencies: ["CDNNL", "CBLAS", "CConvolutionKernels"]),
        .target(name: "NN", dependencies: ["Tensor", "CHDF5"]),
        // libpng and libjpeg report errors by longjmp, which must not cross Swift frames: their
        // calls live in this small C target, which catches them and returns messages.
        .target(name: "CImagingSupport", dependencies: ["CPNG", "CJPEG"],
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        .target(name: "Imaging", dependencies: ["Tensor", "CImagingSupport", "CZlib"]),
        // The binomial verifier: the standard library only, so that other projects can link it alone.
        .target(name: "FingerprintVerifier"),
        // Hamming-distance scans compiled per instruction set (POPCNT, AVX-512), chosen at run time.
        .target(name: "CHammingKernels"),
        .target(
            name: "Forensics",
            dependencies: [
                "FingerprintVerifier", "CHammingKernels", "Tensor", "NN", "Imaging", "CBLAS",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .target(name: "Stego", dependencies: ["Tensor", "NN", "Imaging", "Forensics"]),
        .target(name: "ScalableGAN", dependencies: ["Tensor", "NN", "Imaging", "Forensics"]),
        .target(name: "Attribution", dependencies: ["Tensor", "NN", "Imaging", "Forensics"]),
        .executableTarget(
            name: "gfp-cli",
            dependencies: [
                "Tensor", "NN", "Imaging", "Forensics", "Stego", "ScalableGAN", "Attribution",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // One test target per library target; the others arrive with their modules' code.
        // Shared test helpers (finite-difference gradient checks); not a product.
        .target(name: "TestSupport", dependencies: ["Tensor"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StegoTests", dependencies: ["Stego", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Tensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "FingerprintVerifierTests", dependencies: ["FingerprintVerifier"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ForensicsTests",
                    dependencies: ["Forensics", "CHammingKernels", "Tensor", "NN", "Imaging", "TestSupport"],
                    resources: [.copy("Fixtures")]),
    ]
)
