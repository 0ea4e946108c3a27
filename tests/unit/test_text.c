/* Unit tests: what dockfs takes as text (text.c), and buf's promise that
 * a buffer is a string as soon as it has memory (the empty word '' once
 * was not). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "cmdline.h"
#include "text.h"

static void fault(const char *s, size_t len, enum text_fault want, size_t want_at,
		  const char *words)
{
	size_t at = 99;
	uint32_t cp;
	char why[128];

	CHECK_INT(text_check(s, len, &at, &cp), want);
	if (want) {
		CHECK_INT(at, want_at);
		text_explain(s, len, why, sizeof(why));
		CHECK(strstr(why, words) != NULL, "explained \"%s\", want \"%s\"", why, words);
	}
}

int main(void)
{
	fault("plain text\twith tab\r\n", 21, TEXT_OK, 0, "");
	fault("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 14, TEXT_OK, 0, "");
	fault("x\xff\xfe\xc3(\n", 6, TEXT_NOT_UTF8, 1, "0xff at offset 1 is not UTF-8");
	fault("ab\xc3(", 4, TEXT_NOT_UTF8, 2, "0xc3 at offset 2");
	fault("\xc0\xaf", 2, TEXT_NOT_UTF8, 0, "0xc0 at offset 0");           /* overlong '/' */
	fault("\xed\xa0\x80", 3, TEXT_NOT_UTF8, 0, "not UTF-8");     /* a surrogate */
	fault("\xf4\x90\x80\x80", 4, TEXT_NOT_UTF8, 0, "not UTF-8"); /* above U+10FFFF */
	fault("a\0b", 3, TEXT_NUL, 1, "NUL byte at offset 1");
	fault("a\x1b[31m", 6, TEXT_CONTROL, 1, "(0x1b) at offset 1");
	fault("ab\x7f", 3, TEXT_CONTROL, 2, "(0x7f)");
	fault("\xc2\x85", 2, TEXT_CONTROL, 0, "U+0085");

	struct buf b = BUF_INIT;
	text_printable(&b, "a\xff\x01\xc3\xa9\n", 6);
	CHECK_STR(b.data, "a\\xff\\x01\xc3\xa9\\x0a");
	buf_free(&b);

	CHECK_INT(text_clip("ab\xc3", 3), 2);
	CHECK_INT(text_clip("ab\xe2\x82", 4), 2);
	CHECK_INT(text_clip("ab\xe2\x82\xac", 5), 5);
	CHECK_INT(text_clip("ab\xf4\x90\x80\x80", 6), 6); /* whole, if invalid: not cut */

	/* reserved only, still a string */
	buf_reserve(&b, 0);
	CHECK_STR(b.data, "");
	buf_free(&b);
	struct argv a;
	CHECK_INT(cmdline_split("x '' \"\" y", 9, &a), 0);
	CHECK_INT(a.n, 4);
	if (a.n == 4) {
		CHECK_STR(a.v[1], "");
		CHECK_STR(a.v[2], "");
	}
	argv_free(&a);

	/* a word that is not text is refused, never dropped */
	char *argv_bad[] = { "-e", "A=\xff", "busybox", NULL };
	char err[256];
	json_t *body;
	char *name;
	CHECK_INT(cmdline_container_spec(3, argv_bad, &body, &name, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "word 2") && strstr(err, "not UTF-8"), "%s", err);
	CHECK_INT(cmdline_service_spec(3, argv_bad, &body, err, sizeof(err)), -EINVAL);
	return check_done();
}
