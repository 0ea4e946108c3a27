/* docker.h - the Docker Engine API client: HTTP/JSON over a transport.
 *
 * Every call has a deadline and may be cancelled; nothing here blocks
 * longer than the timeout it is given.  Errors are negative errnos from
 * docker_errno(), the one place where remote failures become errnos, and
 * the engine's own message is kept for the caller's `error` file.
 */
#ifndef DOCKFS_DOCKER_H
#define DOCKFS_DOCKER_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"
#include "conn.h"

/* The newest API version we speak; older engines are spoken to in theirs. */
#define DOCKER_API_MAX "1.43"
#define DOCKER_API_MIN "1.24"

struct docker_call {
	const char *method;     /* NULL = GET */
	const char *path;       /* "/containers/json?all=1": no version prefix */
	const char *api;        /* "1.41", or NULL for an unversioned path */
	const char *body;       /* JSON request body or NULL */
	long timeout_ms;        /* whole call; 0 = the default (10 s) */
	bool create;            /* a 409 here is a name conflict: EEXIST */
	/* Polled during the transfer; true aborts it with -EINTR. */
	bool (*cancelled)(void *arg);
	void *cancel_arg;
	/* When set, a 2xx body is handed to sink as it arrives instead of
	 * kept in reply->body (a large list parsed without a copy); false
	 * from it aborts the call with -EIO. */
	bool (*sink)(const char *p, size_t n, void *arg);
	void *sink_arg;
};

struct docker_reply {
	long status;            /* HTTP status; 0 when no answer came */
	struct buf body;        /* owned: docker_reply_free() */
	char message[512];      /* engine's or transport's message on failure */
	char api_version[16];   /* the engine's Api-Version header, "" if none */
	char date[40];          /* the engine's Date header, "" if none */
};

/* Makes every call under way, and every later one, fail at once
 * (EINTR): the daemon is ending and must not wait for engines. */
void docker_cancel_all(void);

/* Performs the call.  0 for 2xx and 304 (already in that state), else a
 * negative errno with reply->message set.  reply is always initialised. */
int docker_call(struct conn *c, const struct docker_call *call,
		struct docker_reply *reply);
void docker_reply_free(struct docker_reply *r);

/* The one mapping of remote failures to errno (DESIGN.md section 2):
 * a curl result first (transport failures), then the HTTP status. */
int docker_errno(long http_status, int curl_code, bool create);

/* Chooses the version to speak from the engine's API version (/_ping's
 * Api-Version header, /version's ApiVersion): the engine's if
 * it is older than ours, else ours.  out gets "1.41" style text. */
void docker_api_negotiate(const char *engine_version, char *out, size_t outlen);

/* A streaming transfer (events, followed logs): returns an easy handle set
 * up for the call, whose body goes to write_cb, for the caller to run with
 * a multi handle.  Owned by the caller (curl_easy_cleanup); headers is set
 * to a list the caller frees with curl_slist_free_all after the transfer. */
CURL *docker_stream_new(struct conn *c, const char *api, const char *path,
			curl_write_callback write_cb, void *arg,
			struct curl_slist **headers);

/* Docker's multiplexed stdout/stderr stream (8-byte frame headers) to
 * plain bytes.  Consumes whole frames from in (a partial one stays at the
 * end for the next call).  Returns the bytes consumed. */
size_t docker_demux(const char *in, size_t len, struct buf *out);

#endif
