/* Unit tests: audit.c's audit_text (what the audit log keeps of any bytes). */
#include <jansson.h>

#include "audit.h"
#include "check.h"

static void text_is(const char *data, size_t len, const char *want)
{
	struct buf b = BUF_INIT;

	audit_text(&b, data, len);
	CHECK_STR(b.data, want);
	/* jansson takes it: the row is shown (M/audit refuses no row). */
	json_t *s = json_stringn(b.data, b.len);
	CHECK(s != NULL, "jansson accepts \"%s\"", want);
	json_decref(s);
	/* Idempotent: text already cleaned stays the same. */
	struct buf again = BUF_INIT;
	audit_text(&again, b.data, b.len);
	CHECK_STR(again.data, b.data);
	buf_free(&again);
	buf_free(&b);
}

#define T(lit, want) text_is(lit, sizeof(lit) - 1, want)

int main(void)
{
	T("", "");
	T("stop 5", "stop 5");
	T("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
	T("a\nb\tc\x7f", "a\\x0ab\\x09c\\x7f");
	T("\x1b[31mred", "\\x1b[31mred");                   /* a terminal escape */
	T("x\xffy", "x\\xffy");                              /* never UTF-8 */
	T("\xc3", "\\xc3");                                  /* cut short at the end */
	T("\xc3(", "\\xc3(");                                /* bad continuation */
	T("\xc0\xaf", "\\xc0\\xaf");                         /* overlong '/' */
	T("\xed\xa0\x80", "\\xed\\xa0\\x80");                /* a surrogate */
	T("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");       /* above U+10FFFF */
	T("\xc2\x9b" "2J", "\\xc2\\x9b2J");                  /* C1 CSI */
	T("\xc2\xa0", "\xc2\xa0");                           /* U+00A0 prints */
	T("\\x41", "\\x41");                                 /* text stays text */
	text_is("a\0b", 3, "a\\x00b");

	/* Long text is never cut. */
	static char big[200000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 2] = 'Z';
	struct buf b = BUF_INIT;
	audit_text(&b, big, sizeof(big) - 1);
	CHECK_INT(b.len, sizeof(big) - 1);
	CHECK(b.data[b.len - 1] == 'Z', "the last byte is kept");
	buf_free(&b);
	return check_done();
}
