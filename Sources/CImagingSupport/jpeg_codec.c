// JPEG decode and encode in memory through libjpeg(-turbo). libjpeg's default error manager
// prints and calls exit(); the manager below formats the message into the caller's buffer and
// longjmps back to the setjmp point of the call, which cleans up and returns an error status.
#include "imaging_support.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/// libjpeg's error manager extended with the jump target and the caller's message buffer.
typedef struct jpeg_error_context {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    /// The status to return after the jump: 1 (corrupt data) or 2 (unsupported variant).
    int status;
    char *error;
    size_t error_capacity;
} jpeg_error_context;

static void fail(j_common_ptr info, const char *message) {
    jpeg_error_context *context = (jpeg_error_context *)info->err;
    if (context->error != NULL && context->error_capacity > 0) {
        snprintf(context->error, context->error_capacity, "%s", message);
    }
    longjmp(context->jump, 1);
}

static void on_error_exit(j_common_ptr info) {
    char message[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, message);
    fail(info, message);
}

/// Level -1 is a warning about corrupt data, which is ignored (as Pillow does) except for the
/// one saying the data ended early: libjpeg would fill the rest of the image with gray.
static void on_emit_message(j_common_ptr info, int level) {
    if (level < 0) {
        if (info->err->msg_code == JWRN_JPEG_EOF) {
            fail(info, "unexpected end of data (truncated file)");
        }
        info->err->num_warnings++;
    }
}

static void on_output_message(j_common_ptr info) { (void)info; }

static void install_error_manager(jpeg_error_context *context, char *error, size_t error_capacity) {
    jpeg_std_error(&context->manager);
    context->manager.error_exit = on_error_exit;
    context->manager.emit_message = on_emit_message;
    context->manager.output_message = on_output_message;
    context->error = error;
    context->error_capacity = error_capacity;
    context->status = 1;
}

/// What must be released when libjpeg longjmps out of a call; reached through a pointer, so
/// its fields keep their values across the longjmp.
typedef struct jpeg_decode_state {
    struct jpeg_decompress_struct info;
    jpeg_error_context errors;
    int created;
    uint8_t *pixels;
} jpeg_decode_state;

int gfp_jpeg_decode(const uint8_t *data, size_t size, size_t max_pixels, gfp_decoded_image *image,
                    char *error, size_t error_capacity) {
    memset(image, 0, sizeof *image);
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
        snprintf(error, error_capacity, "%s", size == 0 ? "empty data" : "not a JPEG file (no SOI marker)");
        return 1;
    }
    jpeg_decode_state *state = (jpeg_decode_state *)calloc(1, sizeof(jpeg_decode_state));
    if (state == NULL) {
        snprintf(error, error_capacity, "out of memory creating the JPEG reader");
        return 1;
    }
    int status = 1;
    state->info.err = &state->errors.manager;
    install_error_manager(&state->errors, error, error_capacity);
    if (setjmp(state->errors.jump)) {
        status = state->errors.status;
        goto done;
    }
    jpeg_create_decompress(&state->info);
    state->created = 1;
    jpeg_mem_src(&state->info, data, (unsigned long)size);
    jpeg_read_header(&state->info, TRUE);
    if (state->info.jpeg_color_space == JCS_CMYK || state->info.jpeg_color_space == JCS_YCCK) {
        state->errors.status = 2;
        fail((j_common_ptr)&state->info, "CMYK and YCCK JPEGs are not supported");
    }
    size_t width = state->info.image_width, height = state->info.image_height;
    if (width == 0 || height == 0 || width > max_pixels / height) {
        char message[160];
        snprintf(message, sizeof message, "image of %lu x %lu pixels exceeds the limit of %lu pixels",
                 (unsigned long)width, (unsigned long)height, (unsigned long)max_pixels);
        fail((j_common_ptr)&state->info, message);
    }
    state->info.out_color_space = state->info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&state->info);
    int channels = state->info.output_components;
    width = state->info.output_width;
    height = state->info.output_height;
    if (channels != 1 && channels != 3) {
        fail((j_common_ptr)&state->info, "unsupported number of colour components");
    }
    size_t row_bytes = width * (size_t)channels;
    state->pixels = (uint8_t *)malloc(row_bytes * height);
    if (state->pixels == NULL) {
        fail((j_common_ptr)&state->info, "out of memory for the image");
    }
    while (state->info.output_scanline < state->info.output_height) {
        JSAMPROW rows[8];
        int count = 0;
        for (; count < 8 && state->info.output_scanline + count < height; count++) {
            rows[count] = state->pixels + (size_t)(state->info.output_scanline + count) * row_bytes;
        }
        if (jpeg_read_scanlines(&state->info, rows, (JDIMENSION)count) == 0) {
            fail((j_common_ptr)&state->info, "decoder made no progress (corrupt data)");
        }
    }
    jpeg_finish_decompress(&state->info);
    image->pixels = state->pixels;
    image->width = width;
    image->height = height;
    image->channels = channels;
    image->bit_depth = 8;
    state->pixels = NULL;  // now owned by the caller
    status = 0;
done:
    if (state->created) {
        jpeg_destroy_decompress(&state->info);
    }
    free(state->pixels);
    free(state);
    return status;
}

/// The encoder's state, with a growable memory destination of its own (libjpeg's jpeg_mem_dest
/// only publishes its buffer at the end, so after an error mid-way it could not be freed).
typedef struct jpeg_encode_state {
    struct jpeg_compress_struct info;
    jpeg_error_context errors;
    struct jpeg_destination_mgr destination;
    int created;
    uint8_t *output;
    size_t capacity;
} jpeg_encode_state;

static void destination_start(j_compress_ptr info) { (void)info; }

/// Called when the buffer is full: doubles it.
static boolean destination_grow(j_compress_ptr info) {
    jpeg_encode_state *state = (jpeg_encode_state *)info;
    size_t capacity = state->capacity * 2;
    uint8_t *grown = (uint8_t *)realloc(state->output, capacity);
    if (grown == NULL) {
        ERREXIT1(info, JERR_OUT_OF_MEMORY, 10);
    }
    state->output = grown;
    state->destination.next_output_byte = grown + state->capacity;
    state->destination.free_in_buffer = capacity - state->capacity;
    state->capacity = capacity;
    return TRUE;
}

static void destination_finish(j_compress_ptr info) { (void)info; }

int gfp_jpeg_encode(const uint8_t *pixels, size_t width, size_t height, int channels, int quality,
                    int horizontal_sampling, int vertical_sampling, uint8_t **output,
                    size_t *output_size, char *error, size_t error_capacity) {
    *output = NULL;
    *output_size = 0;
    if ((channels != 1 && channels != 3) || width == 0 || height == 0 || width > JPEG_MAX_DIMENSION ||
        height > JPEG_MAX_DIMENSION || quality < 1 || quality > 100 || horizontal_sampling < 1 ||
        horizontal_sampling > 2 || vertical_sampling < 1 || vertical_sampling > 2) {
        snprintf(error, error_capacity, "invalid JPEG encoding parameters");
        return 1;
    }
    jpeg_encode_state *state = (jpeg_encode_state *)calloc(1, sizeof(jpeg_encode_state));
    if (state == NULL) {
        snprintf(error, error_capacity, "out of memory creating the JPEG writer");
        return 1;
    }
    int status = 1;
    state->info.err = &state->errors.manager;
    install_error_manager(&state->errors, error, error_capacity);
    if (setjmp(state->errors.jump)) {
        goto done;
    }
    jpeg_create_compress(&state->info);
    state->created = 1;
    state->capacity = 4096 + width * height * (size_t)channels / 4;
    state->output = (uint8_t *)malloc(state->capacity);
    if (state->output == NULL) {
        fail((j_common_ptr)&state->info, "out of memory for the encoded JPEG");
    }
    state->destination.next_output_byte = state->output;
    state->destination.free_in_buffer = state->capacity;
    state->destination.init_destination = destination_start;
    state->destination.empty_output_buffer = destination_grow;
    state->destination.term_destination = destination_finish;
    state->info.dest = &state->destination;
    state->info.image_width = (JDIMENSION)width;
    state->info.image_height = (JDIMENSION)height;
    state->info.input_components = channels;
    state->info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&state->info);
    jpeg_set_quality(&state->info, quality, TRUE);
    if (channels == 3) {
        state->info.comp_info[0].h_samp_factor = horizontal_sampling;
        state->info.comp_info[0].v_samp_factor = vertical_sampling;
    }
    jpeg_start_compress(&state->info, TRUE);
    size_t row_bytes = width * (size_t)channels;
    while (state->info.next_scanline < state->info.image_height) {
        JSAMPROW rows[8];
        int count = 0;
        for (; count < 8 && state->info.next_scanline + count < height; count++) {
            rows[count] = (JSAMPROW)(pixels + (size_t)(state->info.next_scanline + count) * row_bytes);
        }
        jpeg_write_scanlines(&state->info, rows, (JDIMENSION)count);
    }
    jpeg_finish_compress(&state->info);
    *output = state->output;
    *output_size = state->capacity - state->destination.free_in_buffer;
    state->output = NULL;  // now owned by the caller
    status = 0;
done:
    if (state->created) {
        jpeg_destroy_compress(&state->info);
    }
    free(state->output);
    free(state);
    return status;
}
