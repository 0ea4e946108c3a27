/* Unit tests: the engine's container list parsed as it streams, whole and
 * split at every byte, and refused when it is no container list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "container_list.h"
#include "model.h"

/* Two summaries as Docker 20.10 writes them, with members the model does
 * not keep (nested ones among them) and a label whose value is "". */
static const char *two =
	"[{\"Id\":\"def456\",\"Names\":[\"/done\",\"/other/alias\"],\"Image\":\"busybox\","
	"\"ImageID\":\"sha256:bb\",\"Command\":\"true\",\"Created\":1795738354,\"Ports\":[],"
	"\"Labels\":{\"k\":\"v\",\"empty\":\"\"},\"State\":\"exited\","
	"\"Status\":\"Exited (3) 2 minutes ago\",\"HostConfig\":{\"NetworkMode\":\"default\"},"
	"\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAMConfig\":null,\"Aliases\":null,"
	"\"IPPrefixLen\":0,\"Labels\":{\"not\":\"these\"}}}},\"Mounts\":[{\"Type\":\"volume\","
	"\"RW\":true,\"Id\":\"not-this\"}]},"
	" {\"Id\":\"abc123\",\"Names\":[\"/web\"],\"Image\":\"nginx:1\",\"Created\":1795738400,"
	"\"State\":\"paused\",\"Labels\":{}}]";

static int parse_in_pieces(const char *text, size_t piece, struct container_list *l)
{
	size_t len = strlen(text);

	container_list_init(l);
	for (size_t off = 0; off < len; off += piece)
		if (!container_list_feed(text + off, off + piece > len ? len - off : piece, l))
			return -EIO;
	return container_list_end(l);
}

static void test_two(void)
{
	struct container_list l;

	CHECK_INT(parse_in_pieces(two, strlen(two), &l), 0);
	CHECK_INT(l.n, 2);
	if (l.n == 2) {
		struct container *c = l.v[0], *d = l.v[1];

		CHECK_STR(c->id, "def456");
		CHECK_STR(c->name, "done");
		CHECK_STR(c->image, "busybox");
		CHECK_STR(c->state, "exited");
		CHECK_STR(c->created, "2026-11-27T00:12:34Z");
		CHECK_INT(c->created_ts.tv_sec, 1795738354);
		CHECK_STR(container_label(c, "k"), "v");
		CHECK_STR(container_label(c, "empty"), "");
		CHECK(container_label(c, "not") == NULL, "a network's labels are not the container's");
		CHECK(!c->detailed, "a summary is not detailed");
		CHECK(!c->cs.running, "exited is not running");
		CHECK_STR(c->ports, "");
		CHECK_STR(d->name, "web");
		CHECK_STR(d->state, "paused");
		CHECK(d->cs.running && d->cs.paused, "paused counts as running and paused");
		CHECK_INT(d->labels_len, 0);
	}
	container_list_free(&l);

	/* curl hands the body over in pieces of any size. */
	int bad = 0;
	for (size_t piece = 1; piece < 64; piece++) {
		if (parse_in_pieces(two, piece, &l) || l.n != 2 ||
		    strcmp(l.v[0]->name, "done") || strcmp(l.v[1]->id, "abc123") ||
		    !container_label(l.v[0], "k") || strcmp(container_label(l.v[0], "k"), "v"))
			bad++;
		container_list_free(&l);
	}
	CHECK_INT(bad, 0);
}

static void test_odd_entries(void)
{
	struct container_list l;

	/* No Id: skipped.  No name: the id.  Duplicate members: the last.
	 * Escapes decoded; a NUL ends a label's text. */
	CHECK_INT(parse_in_pieces("[{\"Names\":[\"/ghost\"]},"
				  "{\"Id\":\"i1\",\"State\":\"running\",\"Image\":\"a\",\"Image\":\"b\","
				  "\"Labels\":{\"x\":\"1\"},\"Labels\":{\"caf\\u00e9\":\"t\\u0000ail\","
				  "\"n\":null,\"num\":5}}]",
				  7, &l),
		  0);
	CHECK_INT(l.n, 1);
	if (l.n == 1) {
		CHECK_STR(l.v[0]->id, "i1");
		CHECK_STR(l.v[0]->name, "i1");
		CHECK_STR(l.v[0]->image, "b");
		CHECK(container_label(l.v[0], "x") == NULL, "the first Labels replaced");
		CHECK_STR(container_label(l.v[0], "caf\xc3\xa9"), "t");
		CHECK_STR(container_label(l.v[0], "n"), "");
		CHECK_STR(container_label(l.v[0], "num"), "");
		CHECK(l.v[0]->cs.running, "running");
	}
	container_list_free(&l);

	/* A huge name is cut to what the model holds, not refused. */
	struct buf big = BUF_INIT;
	buf_puts(&big, "[{\"Id\":\"i2\",\"Names\":[\"/");
	for (int i = 0; i < 100000; i++)
		buf_puts(&big, "n");
	buf_puts(&big, "\"]}]");
	CHECK_INT(parse_in_pieces(big.data, 4096, &l), 0);
	CHECK_INT(l.n, 1);
	if (l.n == 1)
		CHECK_INT(strlen(l.v[0]->name), sizeof(l.v[0]->name) - 1);
	container_list_free(&l);
	buf_free(&big);

	CHECK_INT(parse_in_pieces("[]", 1, &l), 0);
	CHECK_INT(l.n, 0);
	container_list_free(&l);
}

/* The answer is refused with a message; `before` entries came ahead of the
 * fault (the caller frees them with the list and keeps none). */
static void refused(const char *text, size_t before, const char *why)
{
	struct container_list l;
	int err = parse_in_pieces(text, 3, &l);

	CHECK(err == -EIO && l.error[0] && l.n == before,
	      "%s: -EIO (got %d, %zu entries, \"%s\")", why, err, l.n, l.error);
	container_list_free(&l);
}

static void test_refused(void)
{
	struct buf deep = BUF_INIT;

	refused("", 0, "empty");
	refused("{\"message\":\"page not found\"}", 0, "an error object");
	refused("\"text\"", 0, "a string");
	refused("[1]", 0, "an entry that is a number");
	refused("[[]]", 0, "an entry that is an array");
	refused("[{\"Id\":\"kept\"}, \"x\"]", 1, "a later entry that is a string");
	refused("[{\"Id\":\"a\",\"Names\":[\"/t", 0, "truncated");
	refused("[{\"Id\":\"a\"}] trailing", 1, "trailing garbage");
	refused("[{\"Id\":\"\xff\xfe\"}]", 0, "not UTF-8");
	refused("[{\"Id\":1e99999999}]", 0, "a number out of range");
	buf_puts(&deep, "[{\"Id\":\"d\",\"x\":");
	for (int i = 0; i < 100; i++)
		buf_puts(&deep, "[");
	refused(deep.data, 0, "nested too deeply");
	buf_free(&deep);
}

int main(void)
{
	test_two();
	test_odd_entries();
	test_refused();
	return check_done();
}
