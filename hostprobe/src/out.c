/* hostprobe: JSON-line output on stdout, flushed per line so a crash loses at most one line. */
#include "out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The errnos KVM/arm64 and the kernel's ioctl paths return (errno.h names). */
static const struct { int e; const char *name; } ERRNAMES[] = {
	{ EPERM, "EPERM" },   { ENOENT, "ENOENT" },   { ESRCH, "ESRCH" },   { EINTR, "EINTR" },
	{ EIO, "EIO" },       { ENXIO, "ENXIO" },     { E2BIG, "E2BIG" },   { ENOEXEC, "ENOEXEC" },
	{ EBADF, "EBADF" },   { EAGAIN, "EAGAIN" },   { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
	{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },     { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" },
	{ EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },   { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" },
	{ ENOTTY, "ENOTTY" }, { EOPNOTSUPP, "EOPNOTSUPP" },
};

const char *errname(int e)
{
	static char buf[16];
	if (e == 0)
		return "ok";
	for (size_t i = 0; i < sizeof(ERRNAMES) / sizeof(ERRNAMES[0]); i++)
		if (ERRNAMES[i].e == e)
			return ERRNAMES[i].name;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static struct frag line;
static int first;

void frag_add(struct frag *f, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = f->cap - f->len;
		va_start(ap, fmt);
		int n = f->s ? vsnprintf(f->s + f->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			f->len += (size_t)n;
			return;
		}
		size_t cap = f->cap ? f->cap * 2 : 1024;
		while (n >= 0 && cap < f->len + (size_t)n + 1)
			cap *= 2;
		char *s = realloc(f->s, cap);
		if (!s) {
			fputs("hostprobe: out of memory\n", stderr);
			exit(3);
		}
		f->s = s;
		f->cap = cap;
	}
}

void frag_free(struct frag *f)
{
	free(f->s);
	memset(f, 0, sizeof(*f));
}

static void key(const char *k)
{
	frag_add(&line, first ? "\"%s\":" : ",\"%s\":", k);
	first = 0;
}

void j_begin(const char *kind)
{
	line.len = 0;
	frag_add(&line, "{");
	first = 1;
	j_str("kind", kind);
}

void j_str(const char *k, const char *v)
{
	key(k);
	frag_add(&line, "\"");
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			frag_add(&line, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			frag_add(&line, "\\u%04x", *p);
		else
			frag_add(&line, "%c", *p);
	}
	frag_add(&line, "\"");
}

void j_int(const char *k, long long v)
{
	key(k);
	frag_add(&line, "%lld", v);
}

void j_hex(const char *k, uint64_t v)
{
	key(k);
	frag_add(&line, "\"0x%llx\"", (unsigned long long)v);
}

void j_hexbytes(const char *k, const uint8_t *le, size_t n)
{
	size_t top = n;
	while (top > 1 && le[top - 1] == 0)
		top--;
	key(k);
	if (n == 0) {
		frag_add(&line, "\"0x0\"");
		return;
	}
	frag_add(&line, "\"0x");
	/* Most significant byte first; the top byte without a leading zero nibble. */
	frag_add(&line, "%x", le[top - 1]);
	for (size_t i = top - 1; i-- > 0;)
		frag_add(&line, "%02x", le[i]);
	frag_add(&line, "\"");
}

void j_result(const char *k, int e)
{
	j_str(k, errname(e));
	/* the errno number goes with the primary result only */
	if (strcmp(k, "result") == 0)
		j_int("errno", e);
}

void j_raw(const char *k, const char *json)
{
	key(k);
	frag_add(&line, "%s", json);
}

void j_end(void)
{
	frag_add(&line, "}\n");
	fwrite(line.s, 1, line.len, stdout);
	fflush(stdout);
}
