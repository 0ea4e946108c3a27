/* conn.c - transports under the Docker client. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

static const struct {
	const char *prefix;
	enum conn_kind kind;
} schemes[] = {
	{ "unix://", CONN_UNIX },
	{ "tcp://", CONN_TCP },
	{ "ssh://", CONN_SSH },
};

int conn_new(const char *url, struct conn **out)
{
	struct conn *c;
	size_t i;

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

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->refs, 1);
	c->kind = schemes[i].kind;
	c->url = strdup(url);
	if (c->kind == CONN_UNIX) {
		c->socket_path = strdup(rest);
		/* The host part is ignored on a unix socket but must be a
		 * valid name for curl and the engine's Host header check. */
		c->base_url = strdup("http://docker");
	} else {
		c->base_url = NULL;
	}
	if (!c->url || (c->kind == CONN_UNIX && (!c->socket_path || !c->base_url))) {
		conn_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->socket_path);
	free(c->base_url);
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

int conn_setup(const struct conn *c, CURL *easy)
{
	switch (c->kind) {
	case CONN_UNIX:
		curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
		return 0;
	case CONN_TCP:
	case CONN_SSH:
		break;
	}
	return -EPROTONOSUPPORT;
}
