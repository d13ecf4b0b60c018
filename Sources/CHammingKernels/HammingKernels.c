// Hamming-distance scans for Forensics' FingerprintIndex.
//
// Swift code for the baseline x86-64 target cannot use POPCNT (Swift has no per-function target
// attributes), and its bit-slicing population count made a scan of 10^7 128-bit fingerprints
// about twice the memory-bandwidth bound. C can compile one function per instruction set and
// choose at run time: AVX-512 VPOPCNTDQ (four 128-bit entries per instruction), POPCNT, or the
// portable code everywhere else. All three return the same result: the smallest distance and,
// among equals, the first position.
#include "CHammingKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

// The scalar scan, inlined into each caller so that it is compiled for the caller's features.
static inline __attribute__((always_inline)) void scan_scalar(const uint64_t *words, size_t words_per_entry,
                                                              size_t begin, size_t end, const uint64_t *query,
                                                              int64_t *distance, int64_t *position) {
    int64_t best = INT64_MAX, best_position = (int64_t)begin;
    if (words_per_entry == 2) {
        const uint64_t q0 = query[0], q1 = query[1];
        for (size_t i = begin; i < end; i++) {
            int64_t d = __builtin_popcountll(words[2 * i] ^ q0) + __builtin_popcountll(words[2 * i + 1] ^ q1);
            if (d < best) { best = d; best_position = (int64_t)i; }
        }
    } else {
        for (size_t i = begin; i < end; i++) {
            const uint64_t *entry = words + i * words_per_entry;
            int64_t d = 0;
            for (size_t w = 0; w < words_per_entry; w++) d += __builtin_popcountll(entry[w] ^ query[w]);
            if (d < best) { best = d; best_position = (int64_t)i; }
        }
    }
    *distance = best;
    *position = best_position;
}

static void scan_portable(const uint64_t *words, size_t words_per_entry, size_t begin, size_t end,
                          const uint64_t *query, int64_t *distance, int64_t *position) {
    scan_scalar(words, words_per_entry, begin, end, query, distance, position);
}

#if defined(__x86_64__)
__attribute__((target("popcnt")))
static void scan_popcnt(const uint64_t *words, size_t words_per_entry, size_t begin, size_t end,
                        const uint64_t *query, int64_t *distance, int64_t *position) {
    scan_scalar(words, words_per_entry, begin, end, query, distance, position);
}

// 128-bit entries, four per 512-bit register: XOR with the query repeated, VPOPCNTQ, add the two
// words of each entry, and keep per-lane minima and their positions; the lanes are merged at the
// end (smallest distance, then smallest position), the last entries scanned one by one.
__attribute__((target("avx512f,avx512vpopcntdq,popcnt")))
static void scan128_avx512(const uint64_t *words, size_t begin, size_t end, const uint64_t *query,
                           int64_t *distance, int64_t *position) {
    int64_t best = INT64_MAX, best_position = (int64_t)begin;
    size_t i = begin;
    if (end - begin >= 4) {
        const __m512i q = _mm512_set_epi64((long long)query[1], (long long)query[0], (long long)query[1],
                                           (long long)query[0], (long long)query[1], (long long)query[0],
                                           (long long)query[1], (long long)query[0]);
        __m512i lane_best = _mm512_set1_epi64(INT64_MAX);
        __m512i lane_position = _mm512_setzero_si512();
        __m512i index = _mm512_set_epi64((long long)i + 3, (long long)i + 3, (long long)i + 2, (long long)i + 2,
                                         (long long)i + 1, (long long)i + 1, (long long)i, (long long)i);
        const __m512i four = _mm512_set1_epi64(4);
        for (; i + 4 <= end; i += 4) {
            __m512i counts = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(words + 2 * i), q));
            // Swap the 64-bit halves of each 128-bit lane and add: both halves hold the entry's distance.
            __m512i sums = _mm512_add_epi64(counts, _mm512_shuffle_epi32(counts, _MM_PERM_BADC));
            __mmask8 closer = _mm512_cmplt_epi64_mask(sums, lane_best);
            lane_best = _mm512_mask_mov_epi64(lane_best, closer, sums);
            lane_position = _mm512_mask_mov_epi64(lane_position, closer, index);
            index = _mm512_add_epi64(index, four);
        }
        int64_t bests[8], positions[8];
        _mm512_storeu_si512(bests, lane_best);
        _mm512_storeu_si512(positions, lane_position);
        for (int lane = 0; lane < 8; lane++) {
            if (bests[lane] < best || (bests[lane] == best && positions[lane] < best_position)) {
                best = bests[lane];
                best_position = positions[lane];
            }
        }
    }
    for (; i < end; i++) {
        int64_t d = __builtin_popcountll(words[2 * i] ^ query[0]) + __builtin_popcountll(words[2 * i + 1] ^ query[1]);
        if (d < best) { best = d; best_position = (int64_t)i; }
    }
    *distance = best;
    *position = best_position;
}

static int cpu_has_popcnt(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_POPCNT);
}

// AVX-512F and VPOPCNTDQ in CPUID, and the operating system saving ZMM and mask registers (XCR0).
static int cpu_has_avx512_popcount(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
    unsigned xcr0_low, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if ((xcr0_low & 0xE6) != 0xE6) return 0;  // SSE, AVX, opmask, ZMM upper halves, ZMM16-31
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX512F) && (c & bit_AVX512VPOPCNTDQ);
}
#endif

typedef enum { kernel_portable, kernel_popcnt, kernel_avx512 } kernel_kind;

/// Bit 0: POPCNT, bit 1: AVX-512 VPOPCNTDQ, read once (every thread computes the same value).
static int cpu_features(void) {
    static int features = -1;
    int known = __atomic_load_n(&features, __ATOMIC_RELAXED);
    if (known >= 0) return known;
#if defined(__x86_64__)
    known = cpu_has_popcnt() | (cpu_has_avx512_popcount() << 1);
#else
    known = 0;
#endif
    __atomic_store_n(&features, known, __ATOMIC_RELAXED);
    return known;
}

static kernel_kind choose(size_t words_per_entry) {
    int features = cpu_features();
    if (words_per_entry == 2 && (features & 2)) return kernel_avx512;
    if (features & 1) return kernel_popcnt;
    return kernel_portable;
}

static void run(kernel_kind kernel, const uint64_t *words, size_t words_per_entry, size_t begin, size_t end,
                const uint64_t *query, int64_t *distance, int64_t *position) {
    switch (kernel) {
#if defined(__x86_64__)
    case kernel_avx512:
        scan128_avx512(words, begin, end, query, distance, position);
        return;
    case kernel_popcnt:
        scan_popcnt(words, words_per_entry, begin, end, query, distance, position);
        return;
#endif
    default:
        scan_portable(words, words_per_entry, begin, end, query, distance, position);
    }
}

void gfp_hamming_nearest(const uint64_t *words, size_t words_per_entry, size_t begin, size_t end,
                         const uint64_t *query, int64_t *distance, int64_t *position) {
    run(choose(words_per_entry), words, words_per_entry, begin, end, query, distance, position);
}

int gfp_hamming_nearest_with_kernel(const char *name, const uint64_t *words, size_t words_per_entry, size_t begin,
                                    size_t end, const uint64_t *query, int64_t *distance, int64_t *position) {
    int features = cpu_features();
    kernel_kind kernel;
    if (__builtin_strcmp(name, "avx512-vpopcntdq") == 0 && words_per_entry == 2 && (features & 2)) {
        kernel = kernel_avx512;
    } else if (__builtin_strcmp(name, "popcnt") == 0 && (features & 1)) {
        kernel = kernel_popcnt;
    } else if (__builtin_strcmp(name, "portable") == 0) {
        kernel = kernel_portable;
    } else {
        return 0;
    }
    run(kernel, words, words_per_entry, begin, end, query, distance, position);
    return 1;
}

const char *gfp_hamming_kernel_name(size_t words_per_entry) {
    switch (choose(words_per_entry)) {
    case kernel_avx512: return "avx512-vpopcntdq";
    case kernel_popcnt: return "popcnt";
    default: return "portable";
    }
}
