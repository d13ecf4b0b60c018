import CBLAS

/// Facts about the compute engine, for benchmarks and bug reports.
public enum Engine {
    /// The kernels in use: oneDNN's version and the implementations it picked for a 3×3
    /// convolution, and the core OpenBLAS selected for LAPACK work.
    public static var kernelDescription: String {
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(DNNL.implementationDescription()); OpenBLAS core: \(core); engine threads: \(engineThreadCount)"
    }
}
