/* conn.c - transports under the Docker client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "ssh.h"

static const struct {
	const char *prefix;
	enum conn_kind kind;
} schemes[] = {
	{ "unix://", CONN_UNIX },
	{ "tcp://", CONN_TCP },
	{ "ssh://", CONN_SSH },
};

static conn_secret_fn secret_source;

void conn_set_secret_source(conn_secret_fn fn)
{
	secret_source = fn;
}

int conn_secret(const char *host, const char *url, const char *type, struct secret *out)
{
	memset(out, 0, sizeof(*out));
	return secret_source ? secret_source(host, url, type, out) : -ENOENT;
}

/* ssh://USER@HOST[:PORT][/path]: user, host, port and socket path. */
static int parse_ssh(struct conn *c, const char *rest)
{
	const char *at = strchr(rest, '@');
	const char *hostp = at ? at + 1 : rest;
	const char *path = strchr(hostp, '/');
	size_t hlen = path ? (size_t)(path - hostp) : strlen(hostp);
	char hostport[300];
	char *colon, *end;

	if (!at || at == rest || hlen == 0 || hlen >= sizeof(hostport))
		return -EINVAL;
	memcpy(hostport, hostp, hlen);
	hostport[hlen] = '\0';
	c->port = 22;
	colon = strrchr(hostport, ':');
	if (hostport[0] == '[') {
		char *rb = strchr(hostport, ']');
		if (!rb)
			return -EINVAL;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		*rb = '\0';
		memmove(hostport, hostport + 1, strlen(hostport + 1) + 1);
		if (colon)
			colon--;
	}
	if (colon) {
		*colon = '\0';
		long p = strtol(colon + 1, &end, 10);
		if (*end || p < 1 || p > 65535)
			return -EINVAL;
		c->port = (int)p;
	}
	c->user = strndup(rest, (size_t)(at - rest));
	c->address = strdup(hostport);
	c->socket_path = strdup(path ? path : "/var/run/docker.sock");
	return c->user && c->address && c->socket_path ? 0 : -ENOMEM;
}

int conn_new(const char *host, const char *url, struct conn **out)
{
	struct conn *c;
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0]))
		return -EINVAL;
	const char *rest = url + strlen(schemes[i].prefix);
	if (!*rest || strpbrk(url, " \t\r\n"))
		return -EINVAL;
	if (schemes[i].kind == CONN_UNIX && rest[0] != '/')
		return -EINVAL;
	if (schemes[i].kind == CONN_TCP && (strchr(rest, '/') || !strchr(rest, ':')))
		return -EINVAL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->refs, 1);
	atomic_init(&c->insecure, false);
	atomic_init(&c->retired, false);
	pthread_mutex_init(&c->idle_lock, NULL);
	snprintf(c->host, sizeof(c->host), "%s", host ? host : "");
	c->kind = schemes[i].kind;
	c->url = strdup(url);
	switch (c->kind) {
	case CONN_UNIX:
		c->socket_path = strdup(rest);
		/* The host part is ignored on a unix socket but must be a
		 * valid name for curl and the engine's Host header check. */
		c->base_url = strdup("http://docker");
		if (!c->socket_path || !c->base_url)
			err = -ENOMEM;
		break;
	case CONN_TCP:
		c->address = strdup(rest);
		if (!c->address)
			err = -ENOMEM;
		break;
	case CONN_SSH:
		err = parse_ssh(c, rest);

		if (!err && !(c->base_url = strdup("http://docker")))
			err = -ENOMEM;
		break;
	}
	if (!c->url && !err)
		err = -ENOMEM;
	if (err) {
		conn_free(c);
		return err;
	}
	*out = c;
	return 0;
}

static void drop_idle(struct conn *c)
{
	CURL *idle[CONN_IDLE_MAX];
	int n;

	pthread_mutex_lock(&c->idle_lock);
	n = c->nidle;
	memcpy(idle, c->idle, (size_t)n * sizeof(idle[0]));
	c->nidle = 0;
	pthread_mutex_unlock(&c->idle_lock);
	for (int i = 0; i < n; i++)
		curl_easy_cleanup(idle[i]);
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	drop_idle(c);
	pthread_mutex_destroy(&c->idle_lock);
	free(c->url);
	free(c->socket_path);
	free(c->base_url);
	free(c->address);
	free(c->user);
	free(c);
}

struct conn *conn_ref(struct conn *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void conn_unref(struct conn *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1)
		conn_free(c);
}

/* The TLS secrets a handle was given: ours, in guarded memory, lent to
 * curl (CURL_BLOB_NOCOPY) for as long as the handle has them set, so no
 * copy of a private key is left in curl's heap when it frees its options.
 * Hung on the handle (CURLOPT_PRIVATE) and wiped by conn_handle_done. */
struct handle_secrets {
	struct secret s[3];
	int n;
};

/* Lends one PEM secret to curl as a blob. */
static int set_blob(struct conn *c, CURL *easy, CURLoption opt, const char *type,
		    bool required, char *msg, size_t msglen)
{
	struct handle_secrets *hs = NULL;
	struct secret s;
	int err = conn_secret(c->host, c->url, type, &s);

	if (err == -ENOENT && !required)
		return 0;
	if (err == -ENOENT) {
		snprintf(msg, msglen, "%s: no %s: write it to hosts/%s/%s (or set insecure to 1"
			 " for plain tcp without TLS)", c->url, type, c->host, type);
		return -EACCES;
	}
	if (err) {
		snprintf(msg, msglen, "%s: credential %s does not open (%s)", c->url, type,
			 err == -EBADMSG ? "sealed for another host or url, or tampered with"
					 : strerror(-err));
		return -EACCES;
	}
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&hs);
	if (!hs) {
		hs = calloc(1, sizeof(*hs));
		if (!hs) {
			secret_free(&s);
			return -ENOMEM;
		}
		curl_easy_setopt(easy, CURLOPT_PRIVATE, hs);
	}
	if (hs->n == (int)(sizeof(hs->s) / sizeof(hs->s[0]))) {
		secret_free(&s);
		return -EIO;
	}
	hs->s[hs->n++] = s;
	struct curl_blob blob = { s.data, s.len, CURL_BLOB_NOCOPY };
	CURLcode cc = curl_easy_setopt(easy, opt, &blob);
	if (cc != CURLE_OK) {
		snprintf(msg, msglen, "%s: curl refuses %s: %s", c->url, type,
			 curl_easy_strerror(cc));
		return -EIO;
	}
	return 0;
}

/* Takes the handle's secrets off it (the caller wipes them once curl no
 * longer points at them). */
static struct handle_secrets *take_secrets(CURL *easy)
{
	struct handle_secrets *hs = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&hs);
	return hs;
}

static void free_secrets(struct handle_secrets *hs)
{
	if (!hs)
		return;
	for (int i = 0; i < hs->n; i++)
		secret_free(&hs->s[i]);
	free(hs);
}

void conn_handle_free(CURL *easy)
{
	if (!easy)
		return;
	struct handle_secrets *hs = take_secrets(easy);
	curl_easy_cleanup(easy);
	free_secrets(hs);
}

static int setup_tcp(struct conn *c, CURL *easy, char *msg, size_t msglen)
{
	int err;

	if (atomic_load(&c->insecure))
		return 0;
	/* Verification is always on: these are libcurl's defaults, stated
	 * so that no later change can turn them off by accident. */
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
	err = set_blob(c, easy, CURLOPT_CAINFO_BLOB, "tls/ca", true, msg, msglen);
	if (!err)
		err = set_blob(c, easy, CURLOPT_SSLCERT_BLOB, "tls/cert", false, msg, msglen);
	if (!err)
		err = set_blob(c, easy, CURLOPT_SSLKEY_BLOB, "tls/key", false, msg, msglen);
	/* Never the system's CA bundle besides ours. */
	curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	return err;
}

/* curl's sockets, made close-on-exec as ssh.c makes its own: a kept
 * connection is an authenticated session with the engine, for no child
 * (fusermount3 at an unmount) to inherit. */
static curl_socket_t open_cloexec(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

int conn_setup(struct conn *c, CURL *easy, char *msg, size_t msglen)
{
	if (atomic_load(&c->retired)) {
		snprintf(msg, msglen, "%s: the host's url has changed", c->url);
		return -EHOSTDOWN;
	}
	switch (c->kind) {
	case CONN_UNIX:
		curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
		curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
		return 0;
	case CONN_TCP:
		curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
		return setup_tcp(c, easy, msg, msglen);
	case CONN_SSH:
		return ssh_setup(c, easy, msg, msglen);
	}
	snprintf(msg, msglen, "%s: transport not available in this build", c->url);
	return -EPROTONOSUPPORT;
}

CURL *conn_acquire(struct conn *c, int *err, char *msg, size_t msglen)
{
	CURL *easy = NULL;

	pthread_mutex_lock(&c->idle_lock);
	if (c->nidle)
		easy = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->idle_lock);
	if (!easy && !(easy = curl_easy_init())) {
		snprintf(msg, msglen, "out of memory");
		*err = -ENOMEM;
		return NULL;
	}
	*err = conn_setup(c, easy, msg, msglen);
	if (*err) {
		conn_handle_free(easy);
		return NULL;
	}
	return easy;
}

void conn_release(struct conn *c, CURL *easy, bool worked)
{
	if (!easy)
		return;
	if (worked && c->kind != CONN_SSH) {
		/* Options back to the defaults, so that it points at none of
		 * the caller's memory (nor at the secrets, wiped below); the
		 * connection and TLS session stay. */
		struct handle_secrets *hs = take_secrets(easy);
		curl_easy_reset(easy);
		free_secrets(hs);
		pthread_mutex_lock(&c->idle_lock);
		if (c->nidle < CONN_IDLE_MAX) {
			c->idle[c->nidle++] = easy;
			easy = NULL;
		}
		pthread_mutex_unlock(&c->idle_lock);
	}
	conn_handle_free(easy);
}

/* The base url of a tcp conn depends on the insecure setting. */
const char *conn_base_url(struct conn *c, char *buf, size_t len)
{
	if (c->kind != CONN_TCP)
		return c->base_url ? c->base_url : "http://docker";
	snprintf(buf, len, "%s://%s", atomic_load(&c->insecure) ? "http" : "https", c->address);
	return buf;
}

void conn_last_error(struct conn *c, char *msg, size_t msglen)
{
	msg[0] = '\0';
	if (c->kind == CONN_SSH)
		ssh_last_error(c, msg, msglen);
}

void conn_reset(struct conn *c)
{
	drop_idle(c);
	if (c->kind == CONN_SSH)
		ssh_reset(c);
}

void conn_retire(struct conn *c)
{
	atomic_store(&c->retired, true);
	conn_reset(c);
}

void conn_shutdown(void)
{
	ssh_shutdown();
}
