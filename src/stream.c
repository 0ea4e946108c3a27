/* stream.c - bounded single-reader byte streams. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stream.h"

#define OVERFLOW_MARK "[dockfs: reader too slow, output dropped]\n"

struct stream {
	pthread_mutex_t lock;
	pthread_cond_t idle;    /* signalled when no notify call is running */
	int notifying;
	atomic_int refs;
	struct buf data;        /* unread bytes from data.data + head */
	size_t head;
	size_t max;
	bool ended, cancelled;
	bool gap;               /* bytes were dropped: say so before the next */
	int err;
	void (*notify)(void *arg);
	void *notify_arg;
};

struct stream *stream_new(size_t max_bytes)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	atomic_init(&s->refs, 2);
	s->max = max_bytes;
	return s;
}

void stream_put(struct stream *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
		buf_free(&s->data);
		pthread_cond_destroy(&s->idle);
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
}

/* Calls the reader's callback without the lock; stream_cancel() waits for
 * a call under way, so the reader may free what arg points to after it. */
static void notify(struct stream *s)
{
	void (*fn)(void *);
	void *arg;

	pthread_mutex_lock(&s->lock);
	fn = s->notify;
	arg = s->notify_arg;
	if (fn)
		s->notifying++;
	pthread_mutex_unlock(&s->lock);
	if (!fn)
		return;
	fn(arg);
	pthread_mutex_lock(&s->lock);
	if (--s->notifying == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

void stream_push(struct stream *s, const void *p, size_t len)
{
	if (!len)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->cancelled || s->ended) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	/* Compact, then drop the oldest whole lines if over the bound. */
	if (s->head) {
		memmove(s->data.data, s->data.data + s->head, s->data.len - s->head);
		s->data.len -= s->head;
		s->head = 0;
	}
	buf_append(&s->data, p, len);
	if (s->data.len > s->max) {
		size_t drop = s->data.len - s->max;
		char *nl = memchr(s->data.data + drop, '\n', s->data.len - drop);
		drop = nl ? (size_t)(nl - s->data.data) + 1 : s->data.len;
		s->head = drop;
		s->gap = true;
	}
	pthread_mutex_unlock(&s->lock);
	notify(s);
}

void stream_end(struct stream *s, int err)
{
	pthread_mutex_lock(&s->lock);
	s->ended = true;
	s->err = err;
	pthread_mutex_unlock(&s->lock);
	notify(s);
}

bool stream_cancelled(struct stream *s)
{
	bool c;

	pthread_mutex_lock(&s->lock);
	c = s->cancelled;
	pthread_mutex_unlock(&s->lock);
	return c;
}

size_t stream_take(struct stream *s, char *dst, size_t max, bool *done, int *err)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	if (s->gap && max >= sizeof(OVERFLOW_MARK) - 1) {
		/* In band, where the gap is: before the bytes that follow it. */
		memcpy(dst, OVERFLOW_MARK, sizeof(OVERFLOW_MARK) - 1);
		s->gap = false;
		*done = false;
		*err = 0;
		pthread_mutex_unlock(&s->lock);
		return sizeof(OVERFLOW_MARK) - 1;
	}
	n = s->data.len - s->head;
	if (n > max)
		n = max;
	if (n) {
		memcpy(dst, s->data.data + s->head, n);
		s->head += n;
		if (s->head == s->data.len) {
			s->head = 0;
			s->data.len = 0;
		}
	}
	*done = !n && s->ended;
	*err = s->err;
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool stream_ready(struct stream *s)
{
	bool r;

	pthread_mutex_lock(&s->lock);
	r = s->data.len > s->head || s->ended || s->gap;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void stream_cancel(struct stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancelled = true;
	s->notify = NULL;
	while (s->notifying)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

void stream_set_notify(struct stream *s, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->notify = fn;
	s->notify_arg = arg;
	pthread_mutex_unlock(&s->lock);
}
