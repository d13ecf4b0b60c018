/* The machine's float multiply-add peak: every OpenMP thread runs twelve independent chains of
 * 256-bit fused multiply-adds (enough to cover the FMA latency on two FMA ports), and the
 * program prints the GFLOP/s of all threads together as one JSON line (2 FLOPs per lane).
 * It is the ceiling that no convolution or sgemm on AVX2 can pass, measured at the clock the
 * cores really run (a VM's /proc/cpuinfo shows the nominal one).
 *
 * Build and run (OMP_NUM_THREADS=1 for one core):
 *   gcc -O2 -mavx2 -mfma -fopenmp -o /tmp/fma_peak Tools/fma_peak.c && /tmp/fma_peak
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

#define STEP(x) x = _mm256_fmadd_ps(x, b, c)

int main(void) {
    const long iterations = 200000000;
    float sink = 0;
    double start = omp_get_wtime();
#pragma omp parallel reduction(+ : sink)
    {
        __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-7f);
        __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
        __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
        __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
        for (long k = 0; k < iterations; k++) {
            STEP(a0); STEP(a1); STEP(a2); STEP(a3); STEP(a4); STEP(a5);
            STEP(a6); STEP(a7); STEP(a8); STEP(a9); STEP(a10); STEP(a11);
        }
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
        s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
        sink += _mm256_cvtss_f32(s);   /* keeps the chains alive */
    }
    double seconds = omp_get_wtime() - start;
    int threads = omp_get_max_threads();
    double flops = (double)iterations * 12 * 8 * 2 * threads;
    printf("{\"workload\": \"fma_peak_gflops\", \"threads\": %d, \"value\": %.1f, \"checksum\": %g}\n",
           threads, flops / seconds / 1e9, sink);
    return 0;
}
