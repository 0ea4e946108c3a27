/* docker.c - Docker Engine API client over libcurl. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "docker.h"
#include "log.h"

#define DEFAULT_TIMEOUT_MS 10000L
#define CONNECT_TIMEOUT_MS 3000L

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

struct progress {
	const struct docker_call *call;
};

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

	memset(r, 0, sizeof(*r));
	CURL *easy = conn_acquire(c, &err, r->message, sizeof(r->message));
	struct body_dest dest = { easy, call, r };

	if (!easy)
		return err;
	build_url(&url, c, call->api, call->path);
	curl_easy_setopt(easy, CURLOPT_URL, url.data);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
			 call->timeout_ms ? call->timeout_ms : DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
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
		else
			snprintf(r->message, sizeof(r->message), "%s: %s", c->url,
				 cc == CURLE_OPERATION_TIMEDOUT || !*errbuf ? curl_easy_strerror(cc)
									    : errbuf);
	} else {
		/* The engine explains itself as {"message": "..."}. */
		json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
		const char *m = json_string_value(json_object_get(j, "message"));
		snprintf(r->message, sizeof(r->message), "%s",
			 m ? m : (r->body.len ? r->body.data : "no message"));
		json_decref(j);
		/* Trailing newline of plain-text bodies is noise in `error`. */
		size_t ml = strlen(r->message);
		while (ml && r->message[ml - 1] == '\n')
			r->message[--ml] = '\0';
	}
out:
	conn_release(c, easy, cc == CURLE_OK);
	curl_slist_free_all(hdr);
	buf_free(&url);
	return err;
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
		curl_easy_cleanup(easy);
		return NULL;
	}
	build_url(&url, c, api, path);
	curl_easy_setopt(easy, CURLOPT_URL, url.data);
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
