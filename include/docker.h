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
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "conn.h"

/* Formats an Engine API path into out: fmt is a constant with %s (each
 * argument one escaped path segment or query value) and %d/%ld/%lld (numbers) only.
 * Every %s argument is percent-encoded (RFC 3986: all but A-Za-z0-9-._~), so no
 * caller text can add a segment, a query or a fragment.  -EINVAL (with nothing
 * written) for an argument that is empty, "." or "..", or holds a byte < 0x20 or
 * 0x7f; -ENAMETOOLONG if out is too small.  0 when done.  (On failure out is "" when
 * outlen allows, so a caller that sends it anyway sends no path.)
 *
 * Before the '?' of fmt, an argument whose '/'-separated parts include an
 * empty one, "." or ".." is -EINVAL too: the engine's router decodes %2F
 * before it cleans the path (Docker 20.10 answers "/images/a%2F..%2Fx/json"
 * with a redirect to "/images/x/json"), so such an argument never names
 * its object.  Escaped references ("busybox%3Alatest", "library%2Fbusybox",
 * "registry%3A5000%2Fa%2Fb%3Atag", "sha256%3A...") reach their images:
 * the router matches the decoded path.
 *
 * THE RULE: every path and query sent to an engine (docker_call's path,
 * docker_stream_new's, and so host_call, swarm_act, follow_start...) is either
 * a constant or made by this function.  Nothing else may put text that is
 * not a constant, whether a caller's or an engine's, into an API path.
 * Where a name has a grammar (a container name, an image reference, a signal)
 * the caller validates it first too, to say what is wrong; this function is
 * what makes a mistake there harmless. */
int docker_path(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), warn_unused_result));

/* The newest API version we speak; older engines are spoken to in theirs. */
#define DOCKER_API_MAX "1.43"
#define DOCKER_API_MIN "1.24"

#define DOCKER_DEFAULT_TIMEOUT_MS 10000L  /* a call's deadline unless it says */

struct docker_call {
	const char *method;     /* NULL = GET */
	const char *path;       /* "/containers/json?all=1": no version prefix; a
				 * constant or made by docker_path() */
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

/* The calling thread's deadline budget: one deadline from a caller's
 * system call to its reply, whatever it does in between (the action, the
 * re-inspect that settles it, waits for locks).  A front end marks the
 * thread as serving a caller with docker_budget_begin(0); the first of
 * docker_budget_begin(ms) and the first docker_call then fixes the end
 * (now + ms, or now + that call's timeout), and every later call of the
 * thread is cut to what is left: 0 left fails at once with -ETIMEDOUT.
 * Nested begins never move an end already fixed.  A worker thread has no
 * budget; docker_budget_user() tells the two apart (a caller's call to a
 * host known unhealthy fails at once: model.c).  Returns whether it
 * began the budget, which that caller then ends. */
bool docker_budget_begin(long ms);
void docker_budget_end(bool began);
bool docker_budget_user(void);
/* Milliseconds left (at least 0), or def when no end is fixed yet. */
long docker_budget_left(long def);
/* An absolute CLOCK_REALTIME time for pthread_*_timedwait: the budget's end,
 * or now + def when no end is fixed. */
struct timespec docker_budget_until(long def);

/* Makes every call under way, and every later one, fail at once
 * (EINTR): the daemon is ending and must not wait for engines. */
void docker_cancel_all(void);
/* Whether docker_cancel_all() was called. */
bool docker_cancelled(void);

/* Performs the call.  0 for 2xx and 304 (already in that state), else a
 * negative errno with reply->message set.  reply is always initialised. */
int docker_call(struct conn *c, const struct docker_call *call,
		struct docker_reply *reply);
void docker_reply_free(struct docker_reply *r);

/* The message of a failed answer (status, body[0..len)) for out: the
 * engine's {"message": ...}, else what answered at url and the start of
 * what it said as printable text (a server that is no engine answers 404
 * with HTML or nothing).  Always printable UTF-8 when the engine's own
 * message is UTF-8, ending on a whole character.  Pure; fuzzed. */
void docker_error_message(long status, const char *body, size_t len, const char *url,
			  char *out, size_t outlen);

/* The one mapping of remote failures to errno (DESIGN.md section 2):
 * a curl result first (transport failures), then the HTTP status. */
int docker_errno(long http_status, int curl_code, bool create);

/* Chooses the version to speak from the engine's API version (/_ping's
 * Api-Version header, /version's ApiVersion): the engine's if
 * it is older than ours, else ours.  out gets "1.41" style text. */
void docker_api_negotiate(const char *engine_version, char *out, size_t outlen);

/* A streaming transfer (events, followed logs): returns an easy handle set
 * up for the call, whose body goes to write_cb, for the caller to run with
 * a multi handle.  Owned by the caller (conn_handle_free); headers is set
 * to a list the caller frees with curl_slist_free_all after the transfer. */
CURL *docker_stream_new(struct conn *c, const char *api, const char *path,
			curl_write_callback write_cb, void *arg,
			struct curl_slist **headers);

/* Docker's multiplexed stdout/stderr stream (8-byte frame headers) to
 * plain bytes.  Consumes whole frames from in (a partial one stays at the
 * end for the next call).  Returns the bytes consumed. */
size_t docker_demux(const char *in, size_t len, struct buf *out);

#endif
