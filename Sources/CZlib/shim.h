#ifndef CLICKPATH_CZLIB_SHIM_H
#define CLICKPATH_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 / deflateInit2 are macros Swift cannot import.
// windowBits 15 + 32 detects gzip or zlib headers; -15 is raw deflate.
static inline int clickpath_inflate_init2(z_streamp stream, int windowBits) {
    return inflateInit2_(stream, windowBits, ZLIB_VERSION, (int)sizeof(z_stream));
}
static inline int clickpath_deflate_init2(z_streamp stream, int level, int windowBits) {
    return deflateInit2_(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                         ZLIB_VERSION, (int)sizeof(z_stream));
}
#endif
