/* fuzz_container_list: the engine's container list parsed as it streams
 * (container_list.c), fed in pieces whose sizes come from the input.
 *
 * Invariants: a list that ends well has summaries with an id; a refused
 * one says why; whole and in pieces agree. */
#include "container_list.h"
#include "model.h"
#include "fuzz.h"

static int parse(const char *s, size_t len, size_t piece, struct container_list *l)
{
	container_list_init(l);
	for (size_t off = 0; off < len; off += piece)
		if (!container_list_feed(s + off, off + piece > len ? len - off : piece, l))
			return -1;
	return container_list_end(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = data[0] % 17 + 1;
	const char *s = (const char *)data + 1;
	struct container_list whole, parts;
	int a = parse(s, size - 1, size, &whole);
	int b = parse(s, size - 1, piece, &parts);

	FUZZ_CHECK((a == 0) == (b == 0), "whole %d, in pieces of %zu %d", a, piece, b);
	if (a == 0) {
		FUZZ_CHECK(whole.n == parts.n, "%zu vs %zu summaries", whole.n, parts.n);
		for (size_t i = 0; i < whole.n; i++) {
			FUZZ_CHECK(whole.v[i] && whole.v[i]->id[0], "a summary without an id");
			FUZZ_CHECK(!strcmp(whole.v[i]->id, parts.v[i]->id), "ids differ");
		}
	} else {
		FUZZ_CHECK(whole.error[0], "refused without a reason");
	}
	container_list_free(&whole);
	container_list_free(&parts);
	return 0;
}
