/* docker.c - Docker Engine API client over libcurl. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "docker.h"
#include "log.h"
#include "text.h"

#define DEFAULT_TIMEOUT_MS DOCKER_DEFAULT_TIMEOUT_MS
#define CONNECT_TIMEOUT_MS 3000L
#define STALL_S 10L  /* a read with no byte for this long has failed */

int docker_errno(long http_status, int curl_code, bool create)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return -EINTR;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_PARTIAL_FILE:
		/* Not ENOTCONN: the kernel reports a dead FUSE daemon so. */
		return -EHOSTDOWN;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
	if ((http_status >= 200 && http_status < 300) || http_status == 304)
		return 0;
	switch (http_status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return create ? -EEXIST : -EBUSY;
	case 406: /* "container is not running" and the like */
		return -EBUSY;
	case 413:
		return -EFBIG;
	case 501:
		return -EOPNOTSUPP;
	case 503: /* "This node is not a swarm manager" etc. */
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* ---- paths ---------------------------------------------------------------- */

/* RFC 3986's unreserved characters: the only bytes of an argument that
 * reach the engine as themselves. */
static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Whether s may be a %s argument of docker_path; in_path: it stands
 * before the query, where the engine's router cleans the decoded path. */
static bool arg_ok(const char *s, bool in_path)
{
	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	if (!in_path)
		return true;
	for (const char *part = s;; part++) {
		size_t n = strcspn(part, "/");

		if (n == 0 || (n == 1 && part[0] == '.') ||
		    (n == 2 && part[0] == '.' && part[1] == '.'))
			return false;
		part += n;
		if (!*part)
			return true;
	}
}

/* Appends c at *o when out has room (out NULL: only counts). */
static void put(char *out, size_t outlen, size_t *o, char c)
{
	if (out && *o < outlen)
		out[*o] = c;
	(*o)++;
}

static void put_str(char *out, size_t outlen, size_t *o, const char *s)
{
	while (*s)
		put(out, outlen, o, *s++);
}

/* docker_path's one pass: writes into out when it is not NULL (the
 * caller has measured first), returns the length or -EINVAL. */
static long path_format(char *out, size_t outlen, const char *fmt, va_list ap)
{
	static const char hex[] = "0123456789ABCDEF";
	bool in_path = true;
	size_t o = 0;
	char num[32];

	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			if (*f == '?')
				in_path = false;
			put(out, outlen, &o, *f);
			continue;
		}
		f++;
		if (*f == 's') {
			const char *a = va_arg(ap, const char *);

			if (!arg_ok(a, in_path))
				return -EINVAL;
			for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
				if (unreserved(*p)) {
					put(out, outlen, &o, (char)*p);
				} else {
					put(out, outlen, &o, '%');
					put(out, outlen, &o, hex[*p >> 4]);
					put(out, outlen, &o, hex[*p & 15]);
				}
			}
		} else if (*f == 'd') {
			snprintf(num, sizeof(num), "%d", va_arg(ap, int));
			put_str(out, outlen, &o, num);
		} else if (f[0] == 'l' && f[1] == 'd') {
			snprintf(num, sizeof(num), "%ld", va_arg(ap, long));
			put_str(out, outlen, &o, num);
			f++;
		} else if (f[0] == 'l' && f[1] == 'l' && f[2] == 'd') {
			snprintf(num, sizeof(num), "%lld", va_arg(ap, long long));
			put_str(out, outlen, &o, num);
			f += 2;
		} else {
			/* A format this function does not take: a bug in the
			 * caller, refused rather than guessed at. */
			return -EINVAL;
		}
	}
	return (long)o;
}

int docker_path(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	long n;

	/* Measure (and validate) first, so that a failure writes nothing
	 * of a path. */
	va_start(ap, fmt);
	n = path_format(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen)
			out[0] = '\0';
		return n < 0 ? (int)n : -ENAMETOOLONG;
	}
	va_start(ap, fmt);
	path_format(out, outlen, fmt, ap);
	va_end(ap);
	out[n] = '\0';
	return 0;
}

/* ---- calls ----------------------------------------------------------------- */

static int version_cmp(const char *a, const char *b)
{
	unsigned amaj = 0, amin = 0, bmaj = 0, bmin = 0;

	sscanf(a, "%u.%u", &amaj, &amin);
	sscanf(b, "%u.%u", &bmaj, &bmin);
	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	return amin < bmin ? -1 : amin > bmin;
}

void docker_api_negotiate(const char *engine_version, char *out, size_t outlen)
{
	const char *v = DOCKER_API_MAX;

	if (engine_version && *engine_version &&
	    version_cmp(engine_version, DOCKER_API_MAX) < 0)
		v = engine_version;
	snprintf(out, outlen, "%s", v);
}

/* Where a body goes as it arrives: to the call's sink when it has one and
 * the answer is a success, else into the reply (an error's message). */
struct body_dest {
	CURL *easy;
	const struct docker_call *call;
	struct docker_reply *r;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct body_dest *d = arg;
	long status = 0;

	if (d->call->sink) {
		curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300)
			return d->call->sink(p, size * n, d->call->sink_arg) ? size * n : 0;
	}
	buf_append(&d->r->body, p, size * n);
	return size * n;
}

/* The value of the last answer's header name, in out ("" if none). */
static void header_value(CURL *easy, const char *name, char *out, size_t outlen)
{
	struct curl_header *h;

	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		snprintf(out, outlen, "%s", h->value);
	else
		out[0] = '\0';
}

/* ---- the thread's budget ---------------------------------------------- */

static __thread bool budget_user;   /* serving a caller */
static __thread long budget_end;    /* CLOCK_MONOTONIC ms; 0: not fixed yet */

bool docker_budget_begin(long ms)
{
	bool began = !budget_user;

	if (began) {
		budget_user = true;
		budget_end = 0;
	}
	if (ms > 0 && !budget_end)
		budget_end = mono_ms() + ms;
	return began;
}

void docker_budget_end(bool began)
{
	if (began) {
		budget_user = false;
		budget_end = 0;
	}
}

bool docker_budget_user(void)
{
	return budget_user;
}

long docker_budget_left(long def)
{
	long left;

	if (!budget_user || !budget_end)
		return def;
	left = budget_end - mono_ms();
	return left > 0 ? left : 0;
}

struct timespec docker_budget_until(long def)
{
	long ms = docker_budget_left(def);
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static atomic_bool all_cancelled;   /* docker_cancel_all(): the daemon ends */

static int progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	const struct docker_call *call = arg;

	if (atomic_load(&all_cancelled))
		return 1;
	return call->cancelled && call->cancelled(call->cancel_arg) ? 1 : 0;
}

void docker_cancel_all(void)
{
	atomic_store(&all_cancelled, true);
}

bool docker_cancelled(void)
{
	return atomic_load(&all_cancelled);
}

static void build_url(struct buf *url, struct conn *c, const char *api,
		      const char *path)
{
	char base[320];

	buf_puts(url, conn_base_url(c, base, sizeof(base)));
	if (api)
		buf_printf(url, "/v%s", api);
	buf_puts(url, path);
}

int docker_call(struct conn *c, const struct docker_call *call,
		struct docker_reply *r)
{
	struct buf url = BUF_INIT;
	struct curl_slist *hdr = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int err;

	long timeout = call->timeout_ms ? call->timeout_ms : DEFAULT_TIMEOUT_MS;

	memset(r, 0, sizeof(*r));
	/* A caller's call: the first one fixes the budget's end, later ones
	 * get what is left of it. */
	if (budget_user) {
		if (!budget_end)
			budget_end = mono_ms() + timeout;
		long left = docker_budget_left(timeout);
		if (left <= 0) {
			snprintf(r->message, sizeof(r->message),
				 "%s: the call's deadline passed before the engine was asked",
				 c->url);
			return -ETIMEDOUT;
		}
		if (left < timeout)
			timeout = left;
	}
	if (atomic_load(&all_cancelled)) {
		snprintf(r->message, sizeof(r->message), "dockfs is stopping");
		return -EINTR;
	}
	CURL *easy = conn_acquire(c, &err, r->message, sizeof(r->message));
	struct body_dest dest = { easy, call, r };

	if (!easy)
		return err;
	build_url(&url, c, call->api, call->path);
	curl_easy_setopt(easy, CURLOPT_URL, url.data);
	/* The path is sent as docker_path() made it: curl would otherwise
	 * squash "/../" segments, which is how a path once left its object. */
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout < CONNECT_TIMEOUT_MS ? timeout : CONNECT_TIMEOUT_MS);
	/* A read that stalls is over long before its deadline (a list has
	 * 30 s): a cut network then costs the worker STALL_S, not 30 s of
	 * a healthy status.  Actions may say nothing until done (stop 30). */
	if (!call->method || !strcmp(call->method, "GET")) {
		curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, STALL_S);
	}
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &dest);
	if (call->method)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call->method);
	if (call->body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body);
	} else if (call->method && strcmp(call->method, "POST") == 0) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
	}
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)call);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);

	cc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
	/* /_ping's Api-Version is how the CLI negotiates (it costs the
	 * engine far less than /version); the engine's Date is where its
	 * event stream is asked to start (model.c). */
	header_value(easy, "Api-Version", r->api_version, sizeof(r->api_version));
	header_value(easy, "Date", r->date, sizeof(r->date));
	err = docker_errno(r->status, cc, call->create);
	if (!err)
		goto out;
	if (cc != CURLE_OK) {
		long oserr = 0;
		char why[400];

		/* The transport may know better than curl (an ssh refusal). */
		conn_last_error(c, why, sizeof(why));
		if (why[0]) {
			r->status = 0;
			snprintf(r->message, sizeof(r->message), "%s", why);
			goto out;
		}

		/* Say which engine and why, in the operator's terms: the url
		 * they registered and the system's reason, not curl's idea of
		 * a host called "docker" on port 80. */
		curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
		r->status = 0;
		if (oserr && (cc == CURLE_COULDNT_CONNECT || cc == CURLE_RECV_ERROR ||
			      cc == CURLE_SEND_ERROR))
			snprintf(r->message, sizeof(r->message), "%s: %s: %s", c->url,
				 curl_easy_strerror(cc), strerror((int)oserr));
		else if (cc == CURLE_OPERATION_TIMEDOUT && call->method &&
			 strcmp(call->method, "GET") != 0)
			/* The request may have reached the engine, which then
			 * carries it out whenever it can: say so, not only
			 * that it failed. */
			snprintf(r->message, sizeof(r->message),
				 "%s: no answer within %ld ms; the engine may still carry the "
				 "action out", c->url, timeout);
		else if (cc == CURLE_OPERATION_TIMEDOUT) {
			curl_off_t us = 0;

			/* the deadline, or STALL_S without a byte */
			curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &us);
			snprintf(r->message, sizeof(r->message), "%s: no answer within %ld ms",
				 c->url, us ? (long)(us / 1000) : timeout);
		}
		else
			snprintf(r->message, sizeof(r->message), "%s: %s", c->url,
				 cc == CURLE_OPERATION_TIMEDOUT || !*errbuf ? curl_easy_strerror(cc)
									    : errbuf);
	} else {
		docker_error_message(r->status, r->body.data, r->body.len, c->url, r->message,
				     sizeof(r->message));
	}
out:
	conn_release(c, easy, cc == CURLE_OK);
	curl_slist_free_all(hdr);
	buf_free(&url);
	return err;
}

void docker_error_message(long status, const char *body, size_t len, const char *url,
			  char *out, size_t outlen)
{
	json_t *j = json_loadb(body ? body : "", len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));

	if (m && *m) {
		/* The engine explains itself as {"message": "..."}. */
		snprintf(out, outlen, "%s", m);
	} else {
		/* Not an engine's answer (a proxy's HTML page, another
		 * server on the port): say what answered, with the start of
		 * what it said as printable text, never its raw bytes. */
		struct buf text = BUF_INIT;
		size_t line = body ? strcspn(body, "\r\n") : 0;

		if (line > len)
			line = len;
		text_printable(&text, body ? body : "", line > 200 ? 200 : line);
		if (text.len)
			snprintf(out, outlen, "%s answered HTTP %ld, not as a Docker engine does: "
				 "%s%s", url, status, text.data, line > 200 ? "..." : "");
		else
			snprintf(out, outlen, "%s answered HTTP %ld with no message (is it a "
				 "Docker engine?)", url, status);
		buf_free(&text);
	}
	json_decref(j);
	/* Trailing newlines are noise in `error`; a cut ends on a character. */
	size_t ml = text_clip(out, strlen(out));
	while (ml && out[ml - 1] == '\n')
		ml--;
	out[ml] = '\0';
}

void docker_reply_free(struct docker_reply *r)
{
	buf_free(&r->body);
}

CURL *docker_stream_new(struct conn *c, const char *api, const char *path,
			curl_write_callback write_cb, void *arg,
			struct curl_slist **headers)
{
	struct buf url = BUF_INIT;
	CURL *easy = curl_easy_init();

	*headers = NULL;
	if (!easy)
		return NULL;
	char msg[512];

	if (conn_setup(c, easy, msg, sizeof(msg))) {
		conn_handle_free(easy);
		return NULL;
	}
	build_url(&url, c, api, path);
	curl_easy_setopt(easy, CURLOPT_URL, url.data);
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  /* as in docker_call() */
	buf_free(&url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, arg);
	/* A stream is quiet for long stretches; dead peers are found by the
	 * health check and TCP keepalive, not by a transfer timeout. */
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	*headers = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);
	return easy;
}

size_t docker_demux(const char *in, size_t len, struct buf *out)
{
	size_t off = 0;

	while (len - off >= 8) {
		const unsigned char *h = (const unsigned char *)in + off;
		size_t n = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) |
			   ((size_t)h[6] << 8) | (size_t)h[7];

		if (len - off - 8 < n)
			break;
		buf_append(out, in + off + 8, n);
		off += 8 + n;
	}
	return off;
}
