/* private_file.h - files that must be the daemon's alone: the registry (and
 * SQLite's -wal and -shm files beside it) and the credential key file.
 *
 * Another local user who can create, replace or write one of them owns the
 * daemon: a key file they wrote is a key they know (they open every stored
 * credential), a database they own takes the admin rows they insert.  So:
 *
 *   - the directory that holds them is owned by the daemon's user or root
 *     and writable by no one else, so no one else can create, rename or
 *     remove a name in it; every directory above it (as given and as
 *     resolved) is owned by root or the daemon's user and is not writable
 *     by group or others unless sticky (/tmp/d made by us is fine, /tmp
 *     itself is not, since anyone can make /tmp/fleet.db.key first);
 *   - an existing file is opened with O_NOFOLLOW (a symlink is refused) and
 *     checked on the open descriptor (fstat): a regular file, owned by the
 *     daemon's euid, not writable by group or others;
 *   - a missing file is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600,
 *     so nothing planted between the check and the creation is used.
 *
 * Every refusal is logged with the file and the fix, and returns -EPERM
 * (owner, mode, directory, not a regular file) or -ELOOP (a symlink).
 */
#ifndef DOCKFS_PRIVATE_FILE_H
#define DOCKFS_PRIVATE_FILE_H

#include <stdbool.h>
#include <sys/stat.h>

/* Checks the directory that holds file, and the ones above it. */
int private_dir_check(const char *file);

/* Opens file with flags (O_RDONLY or O_RDWR; O_CLOEXEC and O_NOFOLLOW are
 * added) after the checks above; when it does not exist and create is
 * set, creates it (O_EXCL, 0600) and sets *created (may be NULL).  what
 * names the file in messages ("registry", "key file").  Returns the open
 * descriptor (the caller's) or a negative errno; *sb (may be NULL) gets
 * its fstat. */
int private_file_open(const char *file, int flags, bool create, const char *what,
		      bool *created, struct stat *sb);

/* The same checks on a file that may exist (SQLite's -wal and -shm):
 * 0 when it is absent or fine. */
int private_file_check(const char *file, const char *what);

#endif
