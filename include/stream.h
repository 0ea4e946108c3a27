/* stream.h - a byte stream from one producer to one reader: followed logs
 * today, event streams next.  Front-end neutral: the FUSE front end (and
 * later the HTTP bridge) waits for data through the notify callback.
 *
 * Two references: the producer's and the reader's.  The reader cancels
 * when it goes away (the producer sees stream_cancelled() and stops); the
 * producer ends the stream (EOF or an error) when it has no more.  The
 * buffer is bounded: a reader that does not keep up loses the oldest lines,
 * is told so by a marker line where they were, and never slows the producer.
 */
#ifndef DOCKFS_STREAM_H
#define DOCKFS_STREAM_H

#include <stdbool.h>
#include <stddef.h>

struct stream;

/* A new stream holding at most max_bytes unread; two references. */
struct stream *stream_new(size_t max_bytes);
void stream_put(struct stream *s);

/* Producer side. */
void stream_push(struct stream *s, const void *data, size_t len);
void stream_end(struct stream *s, int err);   /* 0 = EOF, else -errno */
bool stream_cancelled(struct stream *s);

/* Reader side.  Takes up to max bytes; 0 with *done set at the end (and
 * *err the producer's error), 0 without it when nothing is there yet. */
size_t stream_take(struct stream *s, char *dst, size_t max, bool *done, int *err);
bool stream_ready(struct stream *s);          /* data, or the end */
/* The reader is going: no more notify calls after this returns (one under
 * way is waited for, so the caller must not hold a lock notify takes). */
void stream_cancel(struct stream *s);
/* fn(arg) is called, from the producer's thread and without the stream's
 * lock, whenever data arrives or the stream ends. */
void stream_set_notify(struct stream *s, void (*fn)(void *arg), void *arg);

#endif
