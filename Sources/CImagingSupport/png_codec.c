// PNG decode and encode through libpng's full API, with setjmp/longjmp error handling kept
// inside this file. (libpng's simplified API reports errors by return code, but premultiplies
// alpha in 16-bit output and applies gAMA, so it cannot return a file's samples unchanged.)
#include "imaging_support.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Error and warning context shared with libpng's callbacks.
typedef struct png_context {
    char *error;
    size_t error_capacity;
} png_context;

static void copy_message(char *error, size_t capacity, const char *message) {
    if (error != NULL && capacity > 0) {
        snprintf(error, capacity, "%s", message != NULL ? message : "unknown libpng error");
    }
}

static void on_error(png_structp png, png_const_charp message) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    copy_message(context->error, context->error_capacity, message);
    png_longjmp(png, 1);
}

/// Warnings (bad CRCs in ancillary chunks, unknown chunks, ...) are ignored, as Pillow does.
static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static int host_is_little_endian(void) {
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 1;
}

/// Memory source; reading past its end is a libpng error ("truncated").
typedef struct png_source {
    const uint8_t *data;
    size_t size;
    size_t offset;
} png_source;

static void read_from_memory(png_structp png, png_bytep out, size_t length) {
    png_source *source = (png_source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) {
        png_error(png, "unexpected end of data (truncated file)");
    }
    memcpy(out, source->data + source->offset, length);
    source->offset += length;
}

/// What has to be freed if libpng longjmps out of a decode; reached through a pointer, so its
/// fields keep their values across the longjmp.
typedef struct decode_state {
    png_structp png;
    png_infop info;
    uint8_t *pixels;
    png_bytep *rows;
} decode_state;

static int decode(const uint8_t *data, size_t size, size_t max_pixels, gfp_decoded_image *image,
                  decode_state *state, png_context *context) {
    png_source source = {data, size, 0};
    state->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, context, on_error, on_warning);
    if (state->png == NULL) {
        copy_message(context->error, context->error_capacity, "out of memory creating the PNG reader");
        return 1;
    }
    state->info = png_create_info_struct(state->png);
    if (state->info == NULL) {
        copy_message(context->error, context->error_capacity, "out of memory creating the PNG reader");
        return 1;
    }
    if (setjmp(png_jmpbuf(state->png))) {
        return 1;
    }
    png_set_read_fn(state->png, &source, read_from_memory);
    png_read_info(state->png, state->info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(state->png, state->info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    if (width == 0 || height == 0 || (size_t)width > max_pixels / (size_t)height) {
        char message[160];
        snprintf(message, sizeof message, "image of %lu x %lu pixels exceeds the limit of %lu pixels",
                 (unsigned long)width, (unsigned long)height, (unsigned long)max_pixels);
        png_error(state->png, message);
    }
    // Palette -> RGB, gray below 8 bits -> 8 bits (scaled), tRNS -> alpha. 16 bits stay 16.
    png_set_expand(state->png);
    if (bit_depth == 16 && host_is_little_endian()) {
        png_set_swap(state->png);
    }
    png_set_interlace_handling(state->png);
    png_read_update_info(state->png, state->info);

    int channels = png_get_channels(state->png, state->info);
    int depth = png_get_bit_depth(state->png, state->info);
    size_t row_bytes = png_get_rowbytes(state->png, state->info);
    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16) ||
        row_bytes != (size_t)width * (size_t)channels * (size_t)(depth / 8)) {
        png_error(state->png, "unexpected sample layout after expansion");
    }
    state->pixels = (uint8_t *)malloc(row_bytes * height);
    state->rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (state->pixels == NULL || state->rows == NULL) {
        png_error(state->png, "out of memory for the image");
    }
    for (png_uint_32 y = 0; y < height; y++) {
        state->rows[y] = state->pixels + (size_t)y * row_bytes;
    }
    // Pixels are complete after png_read_image; chunks after the image data are not read
    // (a damaged or missing IEND does not lose an intact image).
    png_read_image(state->png, state->rows);

    image->pixels = state->pixels;
    image->width = width;
    image->height = height;
    image->channels = channels;
    image->bit_depth = depth;
    state->pixels = NULL;  // now owned by the caller
    return 0;
}

int gfp_png_decode(const uint8_t *data, size_t size, size_t max_pixels, gfp_decoded_image *image,
                   char *error, size_t error_capacity) {
    memset(image, 0, sizeof *image);
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        copy_message(error, error_capacity, size == 0 ? "empty data" : "not a PNG file (bad signature)");
        return 1;
    }
    png_context context = {error, error_capacity};
    decode_state state = {NULL, NULL, NULL, NULL};
    int status = decode(data, size, max_pixels, image, &state, &context);
    if (state.png != NULL) {
        png_destroy_read_struct(&state.png, state.info != NULL ? &state.info : NULL, NULL);
    }
    free(state.rows);
    free(state.pixels);
    return status;
}

/// Growable memory sink for the encoder.
typedef struct png_sink {
    uint8_t *data;
    size_t size;
    size_t capacity;
} png_sink;

static void write_to_memory(png_structp png, png_bytep bytes, size_t length) {
    png_sink *sink = (png_sink *)png_get_io_ptr(png);
    if (length > sink->capacity - sink->size) {
        size_t capacity = sink->capacity < 4096 ? 4096 : sink->capacity;
        while (length > capacity - sink->size) {
            capacity *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(sink->data, capacity);
        if (grown == NULL) {
            png_error(png, "out of memory for the encoded PNG");
        }
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, bytes, length);
    sink->size += length;
}

static void flush_memory(png_structp png) { (void)png; }

typedef struct encode_state {
    png_structp png;
    png_infop info;
    png_bytep *rows;
    png_sink sink;
} encode_state;

static int encode(const void *pixels, size_t width, size_t height, int channels, int bit_depth,
                  int compression_level, encode_state *state, png_context *context) {
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                       PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    state->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, context, on_error, on_warning);
    if (state->png == NULL) {
        copy_message(context->error, context->error_capacity, "out of memory creating the PNG writer");
        return 1;
    }
    state->info = png_create_info_struct(state->png);
    if (state->info == NULL) {
        copy_message(context->error, context->error_capacity, "out of memory creating the PNG writer");
        return 1;
    }
    if (setjmp(png_jmpbuf(state->png))) {
        return 1;
    }
    png_set_write_fn(state->png, &state->sink, write_to_memory, flush_memory);
    png_set_IHDR(state->png, state->info, (png_uint_32)width, (png_uint_32)height, bit_depth,
                 color_types[channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(state->png, compression_level);
    png_write_info(state->png, state->info);
    if (bit_depth == 16 && host_is_little_endian()) {
        png_set_swap(state->png);
    }
    size_t row_bytes = width * (size_t)channels * (size_t)(bit_depth / 8);
    state->rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (state->rows == NULL) {
        png_error(state->png, "out of memory for row pointers");
    }
    for (size_t y = 0; y < height; y++) {
        state->rows[y] = (png_bytep)pixels + y * row_bytes;
    }
    png_write_image(state->png, state->rows);
    png_write_end(state->png, NULL);
    return 0;
}

int gfp_png_encode(const void *pixels, size_t width, size_t height, int channels, int bit_depth,
                   int compression_level, uint8_t **output, size_t *output_size,
                   char *error, size_t error_capacity) {
    *output = NULL;
    *output_size = 0;
    if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) || width == 0 ||
        height == 0 || width > PNG_UINT_31_MAX || height > PNG_UINT_31_MAX ||
        compression_level < 0 || compression_level > 9) {
        copy_message(error, error_capacity, "invalid PNG encoding parameters");
        return 1;
    }
    png_context context = {error, error_capacity};
    encode_state state = {NULL, NULL, NULL, {NULL, 0, 0}};
    int status = encode(pixels, width, height, channels, bit_depth, compression_level, &state, &context);
    if (state.png != NULL) {
        png_destroy_write_struct(&state.png, state.info != NULL ? &state.info : NULL);
    }
    free(state.rows);
    if (status == 0) {
        *output = state.sink.data;
        *output_size = state.sink.size;
    } else {
        free(state.sink.data);
    }
    return status;
}

void gfp_free(void *pointer) { free(pointer); }
