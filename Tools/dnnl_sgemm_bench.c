/* Times oneDNN's dnnl_sgemm on a row-major 1024x1024x1024 product (C = A * B):
 * one warm-up call, then the median of 9 timed runs, printed as one JSON line.
 *
 * Build and run:
 *   gcc -O2 -o /tmp/dnnl_sgemm_bench Tools/dnnl_sgemm_bench.c -ldnnl && /tmp/dnnl_sgemm_bench
 */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 1024, RUNS = 9 };

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sgemm_or_die(const float *a, const float *b, float *c) {
    dnnl_status_t status = dnnl_sgemm('N', 'N', N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
    if (status != dnnl_success) {
        fprintf(stderr, "dnnl_sgemm failed with status %d\n", (int)status);
        exit(1);
    }
}

int main(void) {
    float *a = aligned_alloc(64, sizeof(float) * N * N);
    float *b = aligned_alloc(64, sizeof(float) * N * N);
    float *c = aligned_alloc(64, sizeof(float) * N * N);
    if (!a || !b || !c) return 1;
    for (int i = 0; i < N * N; i++) {
        a[i] = (float)(((long)i * 7919) % 1000) / 1000.0f - 0.5f;
        b[i] = (float)(((long)i * 104729) % 1000) / 1000.0f - 0.5f;
    }

    sgemm_or_die(a, b, c); /* warm-up: first call spins up OpenMP threads and JITs kernels */
    double seconds[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double start = now_seconds();
        sgemm_or_die(a, b, c);
        seconds[r] = now_seconds() - start;
    }
    qsort(seconds, RUNS, sizeof(double), compare_doubles);
    double gflops = 2.0 * N * N * N / seconds[RUNS / 2] / 1e9;
    printf("{\"workload\": \"dnnl_sgemm_c_gflops\", \"value\": %.1f}\n", gflops);
    free(a); free(b); free(c);
    return 0;
}
