/* text.c - UTF-8 that prints (text.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* The code point of the UTF-8 sequence at s (n > 0 bytes left) and its
 * length, or 0 if none starts there.  jansson checks UTF-8 but does not
 * say where it fails, so the walk is ours. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *out)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80) {
		*out = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*out = cp;
	return len;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

size_t text_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len = utf8_seq(s, n, &cp);

	return len && !is_control(cp) ? len : 0;
}

enum text_fault text_check(const char *data, size_t len, size_t *at, uint32_t *cpp)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_seq(s + i, len - i, &cp);
		enum text_fault f = TEXT_OK;

		if (!n) {
			f = TEXT_NOT_UTF8;
			cp = s[i];
		} else if (cp == 0) {
			f = TEXT_NUL;
		} else if (is_control(cp) && cp != '\t' && cp != '\n' && cp != '\r') {
			f = TEXT_CONTROL;
		}
		if (f) {
			if (at)
				*at = i;
			if (cpp)
				*cpp = cp;
			return f;
		}
		i += n;
	}
	return TEXT_OK;
}

void text_explain(const char *data, size_t len, char *out, size_t outlen)
{
	size_t at = 0;
	uint32_t cp = 0;

	switch (text_check(data, len, &at, &cp)) {
	case TEXT_OK:
		snprintf(out, outlen, "%s", "");
		break;
	case TEXT_NOT_UTF8:
		snprintf(out, outlen, "the byte 0x%02x at offset %zu is not UTF-8", (unsigned)cp,
			 at);
		break;
	case TEXT_NUL:
		snprintf(out, outlen, "a NUL byte at offset %zu", at);
		break;
	case TEXT_CONTROL:
		if (cp < 0x80)
			snprintf(out, outlen, "a control character (0x%02x) at offset %zu",
				 (unsigned)cp, at);
		else
			snprintf(out, outlen, "a control character (U+%04X) at offset %zu",
				 (unsigned)cp, at);
		break;
	}
}

void text_printable(struct buf *out, const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0, run = 0;   /* s[i - run, i) prints, not yet copied */

	buf_reserve(out, len);
	while (i < len) {
		size_t n = text_char(s + i, len - i);

		if (n) {
			i += n;
			run += n;
			continue;
		}
		buf_append(out, s + i - run, run);
		run = 0;
		buf_printf(out, "\\x%02x", s[i]);
		i++;
	}
	buf_append(out, s + i - run, run);
	if (!out->data)
		buf_puts(out, ""); /* a string even when empty */
}

size_t text_clip(const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t start = len;

	/* Back over at most 3 continuation bytes to the lead byte. */
	while (start > 0 && len - start < 4 && (s[start - 1] & 0xc0) == 0x80)
		start--;
	if (start == 0)
		return len;
	start--;
	/* A lead byte whose sequence is longer than what is left: the cut
	 * ended it, so drop it and what follows.  Anything else (a whole
	 * sequence, valid or not) is not the cut's doing and stays. */
	size_t want = (s[start] & 0xe0) == 0xc0 ? 2 : (s[start] & 0xf0) == 0xe0 ? 3
		    : (s[start] & 0xf8) == 0xf0 ? 4 : 0;
	return want > len - start ? start : len;
}
