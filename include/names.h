/* names.h - how Docker names become file names, and back.
 *
 * Image references contain '/' ("registry:5000/team/app:1.2"), which a file
 * name cannot.  The escaping is percent-encoding of exactly two bytes:
 * '%' -> "%25" and '/' -> "%2F".  It is reversible, leaves every other name
 * as Docker prints it, and "%2F" can be typed in a shell without quoting.
 */
#ifndef DOCKFS_NAMES_H
#define DOCKFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a file name and its NUL. */
#define NAME_MAX_ESCAPED 256

/* Writes the escaped form of name into out (outlen bytes with the NUL).
 * Returns its length, or -ENAMETOOLONG if it does not fit. */
int name_escape(const char *name, char *out, size_t outlen);
/* Reverses name_escape.  -EINVAL for a '%' not followed by 25/2F (either
 * case), -ENAMETOOLONG if out is too small. */
int name_unescape(const char *file, char *out, size_t outlen);

/* Host and user names: 1..64 of [A-Za-z0-9._-], not starting with '.' or
 * '-'. */
bool name_host_valid(const char *name);

/* Container, network and volume names as Docker's own rule has them:
 * 1..128 of [a-zA-Z0-9][a-zA-Z0-9_.-]*.  Checked before such a name is
 * sent, so that a bad one is refused in the caller's terms. */
bool name_object_valid(const char *s);

/* An image as the Engine API's /images/{name} takes it: a reference in
 * Docker's grammar (distribution/reference: [DOMAIN[:PORT]/]PATH[:TAG][@DIGEST],
 * path components lower case [a-z0-9] joined by '.', '_', "__" or dashes,
 * at most 255 bytes of name), which also covers "sha256:<hex>" and short
 * ids.  IPv6 literal registries ("[::1]:5000/x") are not taken. */
bool name_image_ref_valid(const char *s);

/* True if s is a prefix (at least 4 hex digits) of the hex id. */
bool name_id_prefix(const char *s, const char *id);

#endif
