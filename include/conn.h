/* conn.h - transports: how the HTTP of the Docker API reaches one engine.
 *
 * A host url names the transport:
 *   unix:///var/run/docker.sock     libcurl over a unix socket
 *   tcp://HOST:PORT                 libcurl over TCP + mutual TLS   (issue 4)
 *   ssh://USER@HOST[:PORT][/sock]   libssh2 streamlocal channel     (issue 4)
 * conn_setup() is the seam: it prepares a curl easy handle so that the Docker
 * client never needs to know which transport carries it.
 */
#ifndef DOCKFS_CONN_H
#define DOCKFS_CONN_H

#include <stdatomic.h>

#include <curl/curl.h>

enum conn_kind { CONN_UNIX, CONN_TCP, CONN_SSH };

struct conn {
	atomic_int refs;   /* conn_ref / conn_unref */
	enum conn_kind kind;
	char *url;          /* as registered */
	char *socket_path;  /* CONN_UNIX */
	char *base_url;     /* what curl is given before the API path */
};

/* Parses url into a new conn owned by the caller (conn_free).  -EINVAL for a
 * url that is not one of the forms above. */
int conn_new(const char *url, struct conn **out);
/* Frees c regardless of references (for a conn never shared). */
void conn_free(struct conn *c);
/* Counted references, for calls that run while the url may change. */
struct conn *conn_ref(struct conn *c);
void conn_unref(struct conn *c);

/* Points easy at the engine.  -EPROTONOSUPPORT for a transport this build
 * cannot carry yet; the caller reports it as the host's error. */
int conn_setup(const struct conn *c, CURL *easy);

#endif
