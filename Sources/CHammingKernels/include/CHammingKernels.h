// Hamming-distance scans for Forensics' FingerprintIndex, picked at run time by CPU features.
#ifndef GFP_HAMMING_KERNELS_H
#define GFP_HAMMING_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The entry of `words` (entries `begin..<end`, `words_per_entry` 64-bit words each) nearest to
/// `query` in Hamming distance: its distance and position, the first position among equals.
/// An empty range gives distance INT64_MAX and position `begin`.
void gfp_hamming_nearest(const uint64_t *words, size_t words_per_entry, size_t begin, size_t end,
                         const uint64_t *query, int64_t *distance, int64_t *position);

/// `gfp_hamming_nearest` through the kernel `name` (see `gfp_hamming_kernel_name`), for tests
/// that compare the kernels; returns 0, computing nothing, when this CPU cannot run it.
int gfp_hamming_nearest_with_kernel(const char *name, const uint64_t *words, size_t words_per_entry, size_t begin,
                                    size_t end, const uint64_t *query, int64_t *distance, int64_t *position);

/// The kernel `gfp_hamming_nearest` uses for `words_per_entry`: "avx512-vpopcntdq", "popcnt" or
/// "portable".
const char *gfp_hamming_kernel_name(size_t words_per_entry);

#endif
