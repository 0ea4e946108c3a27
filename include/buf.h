/* buf.h - a growable byte buffer for generated file content and HTTP bodies.
 *
 * A struct buf owns data; buf_free() releases it.  data is always
 * NUL-terminated (when non-NULL) so text content can be used as a string;
 * len does not count the terminator.  Allocation failure aborts: content is
 * small and a daemon that cannot allocate a few bytes cannot serve anyway.
 */
#ifndef DOCKFS_BUF_H
#define DOCKFS_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the data to the caller (free() it) and leaves b empty. */
char *buf_steal(struct buf *b);

#endif
