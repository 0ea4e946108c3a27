/* follow.h - followed logs: a thread per reader streams an engine's log
 * endpoint (containers' and services' `logs.follow`) into a stream
 * (stream.h), demultiplexed, optionally rewritten line by line.  It stops
 * when the reader goes, when the log ends, or at unmount. */
#ifndef DOCKFS_FOLLOW_H
#define DOCKFS_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct host;
struct stream;

/* Rewrites the complete lines at the start of in into out; returns the
 * bytes it consumed (an incomplete last line stays for the next call). */
typedef size_t (*follow_filter)(struct host *h, const char *in, size_t len, struct buf *out);

/* Starts following path (a log call with follow=1) on h's engine into s,
 * whose producer reference it takes.  tty: the log is raw, not
 * multiplexed.  filter may be NULL. */
int follow_start(struct host *h, const char *path, bool tty, follow_filter filter,
		 struct stream *s);
/* Stops every follower and waits for their threads (at unmount). */
void follow_shutdown(void);

#endif
