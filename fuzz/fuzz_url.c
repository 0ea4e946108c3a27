/* fuzz_url: a host's url (conn_new in conn.c: unix://, tcp://, ssh://) and
 * the message made from an answer that failed (docker_error_message).
 *
 * Invariants: a url that is taken has the transport's parts (a socket
 * path, an address); the error message ends on a whole character and
 * is printable UTF-8 whenever the engine's own message is. */
#include <errno.h>

#include <jansson.h>

#include "conn.h"
#include "docker.h"
#include "text.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct conn *c = NULL;
	char msg[512];

	if (conn_new("fuzz", s, &c) == 0) {
		FUZZ_CHECK(c->url && !strcmp(c->url, s), "url not kept");
		if (c->kind == CONN_UNIX || c->kind == CONN_SSH)
			FUZZ_CHECK(c->socket_path && c->socket_path[0] == '/', "no socket path");
		if (c->kind == CONN_TCP || c->kind == CONN_SSH)
			FUZZ_CHECK(c->address, "no address");
		if (c->kind == CONN_SSH)
			FUZZ_CHECK(c->user && c->user[0] && c->port >= 1 && c->port <= 65535,
				   "ssh without user or port");
		conn_free(c);
	}

	docker_error_message(404, s, size, "unix:///x.sock", msg, sizeof(msg));
	FUZZ_CHECK(msg[0], "an empty message");
	FUZZ_CHECK(text_clip(msg, strlen(msg)) == strlen(msg), "a cut character: %s", msg);
	json_t *j = json_loadb(s, size, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));
	if (!m || !*m)  /* what is not an engine's answer is shown as text */
		FUZZ_CHECK(text_check(msg, strlen(msg), NULL, NULL) == TEXT_OK, "not text: %s", msg);
	json_decref(j);
	free(s);
	return 0;
}
