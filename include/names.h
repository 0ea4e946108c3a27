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
 * '-', and not "error" or "ctl" (files of the directories they are in). */
bool name_host_valid(const char *name);

/* True if s is a prefix (at least 4 hex digits) of the hex id. */
bool name_id_prefix(const char *s, const char *id);

#endif
