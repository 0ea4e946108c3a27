/* fuzz_text: the one decision on bytes that are not text (text.h) and the
 * value parser of attribute files (tree_parse_value), the gate every write
 * passes (tree_write).
 *
 * Invariants: text_check agrees with jansson (text is a string json_stringn
 * takes); text_printable's output is text, is the input when the input
 * prints, and is a fixed point; text_clip cuts only an incomplete last
 * character; text_explain says something exactly when there is a fault; a
 * value tree_parse_value takes is one line of at most max bytes. */
#include <errno.h>

#include <jansson.h>

#include "text.h"
#include "tree.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t at = 0;
	uint32_t cp = 0;
	enum text_fault f = text_check(s, size, &at, &cp);
	char why[128];

	if (f == TEXT_OK) {
		json_t *j = json_stringn(s, size);

		FUZZ_CHECK(j, "text jansson refuses");
		json_decref(j);
	} else {
		FUZZ_CHECK(at < size, "a fault past the end");
		FUZZ_CHECK(text_check(s, at, NULL, NULL) == TEXT_OK, "a fault before the first");
	}
	text_explain(s, size, why, sizeof(why));
	FUZZ_CHECK((f == TEXT_OK) == (why[0] == '\0'), "explained %s", why);

	struct buf p = BUF_INIT, q = BUF_INIT;
	text_printable(&p, s, size);
	for (size_t i = 0; i < p.len; i++)
		FUZZ_CHECK((unsigned char)p.data[i] >= 0x20 && p.data[i] != 0x7f,
			   "a control byte in printable text");
	FUZZ_CHECK(text_check(p.data, p.len, NULL, NULL) == TEXT_OK, "printable is not text");
	text_printable(&q, p.data, p.len);
	FUZZ_CHECK(q.len == p.len && !memcmp(q.data, p.data, p.len), "not idempotent");
	buf_free(&q);
	buf_free(&p);

	size_t c = text_clip(s, size);
	FUZZ_CHECK(c <= size && size - c <= 3, "clipped %zu of %zu", size - c, size);
	if (f == TEXT_OK)
		FUZZ_CHECK(c == size, "clipped whole text");

	size_t max = size ? data[0] % 64 : 0;
	char *out = malloc(size + 1);
	if (!out)
		abort();
	if (tree_parse_value(s, size, max, out) == 0) {
		size_t n = strlen(out);

		FUZZ_CHECK(n <= max, "a value of %zu > %zu", n, max);
		FUZZ_CHECK(!strchr(out, '\n') && !strchr(out, '\r'), "several lines");
		FUZZ_CHECK(n == size || n + 1 == size, "a value that lost bytes");
	}
	free(out);
	return 0;
}
