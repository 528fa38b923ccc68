/* hostprobe: JSON-line output. One object per line; keys and values are written as given. */
#ifndef HOSTPROBE_OUT_H
#define HOSTPROBE_OUT_H

#include <stddef.h>
#include <stdint.h>

/* errno → "ok" (0), its errno.h name, or "E<n>". */
const char *errname(int e);

void j_begin(const char *kind);
void j_str(const char *key, const char *v);
void j_int(const char *key, long long v);
void j_hex(const char *key, uint64_t v);
/* A little-endian byte value as "0x…", most significant digit first, no leading zeros. */
void j_hexbytes(const char *key, const uint8_t *le, size_t n);
/* "result" and "errno" fields for an ioctl outcome. */
void j_result(const char *key, int e);
/* A raw JSON fragment (already encoded), e.g. an array built with j_frag_*. */
void j_raw(const char *key, const char *json);
void j_end(void);

/* A growable string for arrays and objects nested inside one line. */
struct frag {
	char *s;
	size_t len, cap;
};
void frag_add(struct frag *f, const char *fmt, ...);
void frag_free(struct frag *f);

#endif
