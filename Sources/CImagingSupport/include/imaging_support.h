// CImagingSupport: PNG and JPEG codecs for the Imaging module, written in C because libpng and
// libjpeg report errors by longjmp, which Swift frames must never be unwound by.
//
// Every function here sets its own setjmp point, catches the library's error, frees what it
// allocated and returns a non-zero status with a NUL-terminated message in `error`. Nothing in
// this target ever calls exit() or prints. The caller owns the buffers it receives and releases
// them with gfp_free(). See Docs/architecture.md (Imaging).
#ifndef GFP_IMAGING_SUPPORT_H
#define GFP_IMAGING_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A decoded image: interleaved samples (row-major, channels last), 8-bit, or 16-bit in the
/// host's byte order.
typedef struct gfp_decoded_image {
    /// width * height * channels samples, allocated with malloc; release with gfp_free().
    void *pixels;
    size_t width;
    size_t height;
    /// 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
    int channels;
    /// 8 or 16.
    int bit_depth;
} gfp_decoded_image;

/// Decodes a PNG held in memory. Palette images become RGB (RGBA when they carry tRNS), gray
/// below 8 bits is scaled to 8 bits, tRNS becomes an alpha channel, 16-bit samples stay 16-bit.
/// No gamma or colour-space conversion is applied (as Pillow). Images with more than
/// `max_pixels` pixels are refused before any pixel memory is allocated.
/// Returns 0 on success, else 1 with a message in `error`.
int gfp_png_decode(const uint8_t *data, size_t size, size_t max_pixels, gfp_decoded_image *image,
                   char *error, size_t error_capacity);

/// Encodes interleaved samples (`channels` 1-4, `bit_depth` 8 or 16, 16-bit in host byte order)
/// as a non-interlaced PNG at zlib `compression_level` (0-9). On success `*output` holds
/// `*output_size` bytes allocated with malloc; release with gfp_free().
int gfp_png_encode(const void *pixels, size_t width, size_t height, int channels, int bit_depth,
                   int compression_level, uint8_t **output, size_t *output_size,
                   char *error, size_t error_capacity);

/// Decodes a baseline or progressive JPEG held in memory to 8-bit gray (1 channel) or RGB
/// (3 channels) with libjpeg's defaults (accurate integer IDCT, fancy upsampling), as Pillow
/// does. CMYK/YCCK files are refused. Data that ends before the image does is an error (not
/// gray-filled). Returns 0 on success, else 1 (corrupt or truncated data) or 2 (a valid JPEG of
/// an unsupported kind) with a message in `error`.
int gfp_jpeg_decode(const uint8_t *data, size_t size, size_t max_pixels, gfp_decoded_image *image,
                    char *error, size_t error_capacity);

/// Encodes interleaved 8-bit gray (`channels` 1) or RGB (3) as a baseline JFIF JPEG at
/// `quality` (1-100, libjpeg's scaling of the standard tables). For colour images the luma
/// sampling factors are `horizontal_sampling` x `vertical_sampling` (1x1 = 4:4:4, 2x1 = 4:2:2,
/// 2x2 = 4:2:0, libjpeg's and Pillow's default). On success `*output` holds `*output_size` bytes
/// allocated with malloc; release with gfp_free().
int gfp_jpeg_encode(const uint8_t *pixels, size_t width, size_t height, int channels, int quality,
                    int horizontal_sampling, int vertical_sampling, uint8_t **output,
                    size_t *output_size, char *error, size_t error_capacity);

/// Releases memory returned by the functions above.
void gfp_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
