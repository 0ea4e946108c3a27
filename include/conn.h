/* conn.h - transports: how the HTTP of the Docker API reaches one engine.
 *
 * A host url names the transport:
 *   unix:///var/run/docker.sock     libcurl over a unix socket
 *   tcp://HOST:PORT                 libcurl over TCP + mutual TLS, with the CA,
 *                                   client cert and key from the credential
 *                                   store as in-memory blobs; plain TCP only
 *                                   when the host is marked insecure
 *   ssh://USER@HOST[:PORT][/sock]   libssh2: one session per host, a
 *                                   direct-streamlocal channel per HTTP
 *                                   connection (ssh.c)
 * conn_setup() is the seam: it prepares a curl easy handle so that the Docker
 * client never needs to know which transport carries it.
 *
 * A conn also keeps the handles of finished calls (unix and tcp), each with
 * its connection to the engine open: a call on a kept connection costs no
 * connect and, over tcp, no mutual-TLS handshake (9 ms against 0.2 ms on
 * the test fleet).  Not over ssh, whose channels are counted by the server
 * (MaxSessions) and would be held open by idle handles.
 */
#ifndef DOCKFS_CONN_H
#define DOCKFS_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "vault.h"

enum conn_kind { CONN_UNIX, CONN_TCP, CONN_SSH };

#define CONN_IDLE_MAX 4     /* handles (connections) a conn keeps between calls */


struct conn {
	atomic_int refs;    /* conn_ref / conn_unref */
	enum conn_kind kind;
	char host[65];      /* whose credentials it uses */
	char *url;          /* as registered */
	char *socket_path;  /* CONN_UNIX: the socket; CONN_SSH: the remote socket */
	char *base_url;     /* what curl is given before the API path */
	char *address;      /* CONN_TCP: host:port; CONN_SSH: host */
	char *user;         /* CONN_SSH */
	int port;           /* CONN_SSH */
	atomic_bool insecure;     /* CONN_TCP: plain http, no TLS (explicit setting) */
	atomic_bool retired;      /* the host's url changed: no new connection */

	/* Handles of finished calls, their connections open (conn_acquire). */
	pthread_mutex_t idle_lock;
	CURL *idle[CONN_IDLE_MAX];
	int nidle;
};

/* Where transports find a host's secrets ("tls/ca", "ssh/key"...) for the
 * url they connect to (only a secret sealed for that url opens: vault.h):
 * 0 with out filled (secret_free it), -ENOENT when unset, else -errno.  Set
 * once at start; without one every secret is unset. */
typedef int (*conn_secret_fn)(const char *host, const char *url, const char *type,
			      struct secret *out);
void conn_set_secret_source(conn_secret_fn fn);
int conn_secret(const char *host, const char *url, const char *type, struct secret *out);

/* Parses url into a new conn for host, owned by the caller (conn_free).
 * -EINVAL for a url that is not one of the forms above. */
int conn_new(const char *host, const char *url, struct conn **out);
/* Frees c regardless of references (for a conn never shared). */
void conn_free(struct conn *c);
/* Counted references, for calls that run while the url may change. */
struct conn *conn_ref(struct conn *c);
void conn_unref(struct conn *c);

/* Points easy at the engine, with the host's credentials.  On failure a
 * negative errno and why in msg.  The TLS secrets are lent to curl from
 * guarded memory hung on the handle (CURLOPT_PRIVATE, which nobody else
 * may use): free a set-up handle with conn_handle_free (or give it back
 * with conn_release), never with curl_easy_cleanup alone. */
int conn_setup(struct conn *c, CURL *easy, char *msg, size_t msglen);
/* curl_easy_cleanup, then wipes and frees the secrets conn_setup hung on
 * the handle.  NULL is fine. */
void conn_handle_free(CURL *easy);
/* A handle for one call, set up by conn_setup: a kept one (its options
 * reset, its connection kept) or a new one.  NULL with why in msg and
 * *err set on failure.  The caller owns it until conn_release. */
CURL *conn_acquire(struct conn *c, int *err, char *msg, size_t msglen);
/* Gives back the handle of a call: kept when its transfer worked (whatever
 * the HTTP status) and there is room, else cleaned up. */
void conn_release(struct conn *c, CURL *easy, bool worked);
/* Why the transport under the last failed call failed, if it knows better
 * than curl (the ssh session's refusal); "" if not. */
void conn_last_error(struct conn *c, char *msg, size_t msglen);
/* Drops any session and kept connection the transport has (credentials
 * changed). */
void conn_reset(struct conn *c);
/* The host's url changed away from c's: drops what conn_reset drops, and
 * calls still holding c fail from now on instead of connecting (over ssh,
 * they would point the host's session back at the old url). */
void conn_retire(struct conn *c);
/* What curl is given before the API path (tcp: https, or http when
 * insecure); buf holds it when it has to be made. */
const char *conn_base_url(struct conn *c, char *buf, size_t len);
/* At exit, after every host stopped: frees the transports' sessions. */
void conn_shutdown(void);

#endif
