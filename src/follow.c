/* follow.c - followed logs, one thread per reader (follow.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "follow.h"
#include "model.h"
#include "stream.h"

struct follower {
	struct follower *next;    /* in followers, under followers_lock */
	struct host *h;           /* counted reference */
	struct stream *s;
	bool tty;
	bool stop;                /* shutting down: under followers_lock */
	follow_filter filter;
	struct buf partial;       /* an incomplete multiplexed frame */
	struct buf lines;         /* an incomplete line, for the filter */
	char path[];
};

/* Every running follower, so that unmounting stops them all. */
static pthread_mutex_t followers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t followers_gone = PTHREAD_COND_INITIALIZER;
static struct follower *followers;

void follow_shutdown(void)
{
	pthread_mutex_lock(&followers_lock);
	for (struct follower *f = followers; f; f = f->next)
		f->stop = true;
	while (followers)
		pthread_cond_wait(&followers_gone, &followers_lock);
	pthread_mutex_unlock(&followers_lock);
}

static bool stopping(struct follower *f)
{
	bool stop;

	pthread_mutex_lock(&followers_lock);
	stop = f->stop;
	pthread_mutex_unlock(&followers_lock);
	return stop || stream_cancelled(f->s);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct follower *f = arg;
	size_t len = size * nmemb;
	struct buf *plain = f->filter ? &f->lines : NULL;
	struct buf out = BUF_INIT;

	if (f->tty) {
		buf_append(plain ? plain : &out, p, len);
	} else {
		buf_append(&f->partial, p, len);
		size_t used = docker_demux(f->partial.data, f->partial.len, plain ? plain : &out);
		memmove(f->partial.data, f->partial.data + used, f->partial.len - used);
		f->partial.len -= used;
	}
	if (plain && plain->len) {
		size_t used = f->filter(f->h, plain->data, plain->len, &out);
		memmove(plain->data, plain->data + used, plain->len - used);
		plain->len -= used;
	}
	if (out.len)
		stream_push(f->s, out.data, out.len);
	buf_free(&out);
	return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return stopping(arg);
}

static void *follow_thread(void *arg)
{
	struct follower *f = arg;
	struct curl_slist *hdr = NULL;
	int err = 0;
	CURL *easy = host_stream_new(f->h, f->path, on_data, f, &hdr, &err);

	if (easy) {
		curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(easy, CURLOPT_XFERINFODATA, f);
		curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
		CURLcode cc = curl_easy_perform(easy);
		long status = 0;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		err = stopping(f) ? 0 : docker_errno(status, cc, false);
		conn_handle_free(easy);
		curl_slist_free_all(hdr);
	}
	stream_end(f->s, err);
	stream_put(f->s);
	host_put(f->h);
	buf_free(&f->partial);
	buf_free(&f->lines);
	pthread_mutex_lock(&followers_lock);
	for (struct follower **pp = &followers; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	pthread_cond_broadcast(&followers_gone);
	pthread_mutex_unlock(&followers_lock);
	free(f);
	return NULL;
}

int follow_start(struct host *h, const char *path, bool tty, follow_filter filter,
		 struct stream *s)
{
	struct follower *f = calloc(1, sizeof(*f) + strlen(path) + 1);
	pthread_attr_t attr;
	pthread_t th;
	int err;

	if (!f)
		return -ENOMEM;
	strcpy(f->path, path);
	f->h = h;
	atomic_fetch_add(&h->refs, 1);
	f->s = s;
	f->tty = tty;
	f->filter = filter;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&followers_lock);
	err = pthread_create(&th, &attr, follow_thread, f);
	if (!err) {
		f->next = followers;
		followers = f;
	}
	pthread_mutex_unlock(&followers_lock);
	pthread_attr_destroy(&attr);
	if (err) {
		host_put(h);
		free(f);
		return -EAGAIN;
	}
	return 0;
}
