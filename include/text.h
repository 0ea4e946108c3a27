/* text.h - what dockfs takes as text, and how it shows bytes that are not.
 *
 * Every file that is not binary by nature (node_ops.binary in tree.h:
 * secrets, configs, credentials) takes text, and tree_write() refuses
 * anything else before a module sees it, so no parser downstream can drop
 * what it cannot carry (jansson's json_string() answers NULL to invalid
 * UTF-8, and json_object_set_new() ignores a NULL: a write once reported
 * success while its argument vanished).
 *
 * Text is UTF-8 as RFC 3629 has it (no overlong form, no surrogate, nothing
 * above U+10FFFF: every such string is one jansson takes) in which every
 * character prints, but for tab, newline and carriage return: no NUL, no
 * other C0 control, no DEL, no C1 control (U+0080-U+009F).  A terminal
 * showing a description, a label or an `error` file is then never given
 * an escape sequence.  Pure functions, unit tested and fuzzed.
 */
#ifndef DOCKFS_TEXT_H
#define DOCKFS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum text_fault {
	TEXT_OK,
	TEXT_NOT_UTF8,   /* a byte that starts no valid UTF-8 sequence */
	TEXT_NUL,
	TEXT_CONTROL,    /* C0 (not tab, newline, CR), DEL or C1 */
};

/* The length of the UTF-8 character at s (n > 0 bytes left) if it is one
 * that prints, else 0. */
size_t text_char(const unsigned char *s, size_t n);

/* The first fault in data[0..len): its kind, and in *at (may be NULL) its
 * byte offset and in *cp (may be NULL) the byte (TEXT_NOT_UTF8, TEXT_NUL,
 * a C0 control or DEL) or code point (a C1 control) found there. */
enum text_fault text_check(const char *data, size_t len, size_t *at, uint32_t *cp);

/* What is wrong with data, in words for an `error` file ("the byte 0xff at
 * offset 3 is not UTF-8"), into out; empty when it is text. */
void text_explain(const char *data, size_t len, char *out, size_t outlen);

/* Appends data[0..len) to out as printable UTF-8 text: valid UTF-8 that
 * prints is kept as it is, and every other byte (invalid UTF-8, C0 and C1
 * controls, DEL) becomes the four characters \xNN.  Idempotent; nothing is
 * ever cut; out->data is a string even when len is 0. */
void text_printable(struct buf *out, const char *data, size_t len);

/* The length of the longest prefix of s[0..len) that ends on a character
 * boundary: a string cut by snprintf() mid-character ends before the cut
 * character instead. */
size_t text_clip(const char *s, size_t len);

#endif
