/* private_file.c - the registry's and the key file's ownership checks
 * (private_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "private_file.h"

#define FIX_DIR "use a directory only the daemon's user can write, such as " \
		"/var/lib/dockfs (root) or $XDG_STATE_HOME/dockfs"

/* One directory on the way: owned by root or us; not writable by group or
 * others, unless it is sticky and not the one that holds the files. */
static int check_dir(const char *dir, const char *file, bool holder)
{
	uid_t me = geteuid();
	struct stat sb;

	if (stat(dir, &sb) != 0)
		return log_error(-errno, "%s: directory %s: %s", file, dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return log_error(-ENOTDIR, "%s: %s is not a directory", file, dir);
	if (sb.st_uid != 0 && sb.st_uid != me)
		return log_error(-EPERM, "%s: refused: the directory %s belongs to uid %u, who "
				 "could replace the registry or its key file; " FIX_DIR, file, dir,
				 (unsigned)sb.st_uid);
	if ((sb.st_mode & 022) && (holder || !(sb.st_mode & S_ISVTX)))
		return log_error(-EPERM, "%s: refused: the directory %s is writable by %s "
				 "(mode %04o), who could plant or replace the registry or its "
				 "key file there; " FIX_DIR, file, dir,
				 (sb.st_mode & 002) ? "others" : "its group",
				 (unsigned)(sb.st_mode & 07777));
	return 0;
}

/* dir and each directory above it, up to /. */
static int check_chain(const char *dir, const char *file)
{
	char p[PATH_MAX];
	int err;

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	err = check_dir(p, file, true);
	for (char *slash; !err && (slash = strrchr(p, '/'));) {
		if (slash == p) {
			if (!p[1])
				break;
			p[1] = '\0';
		} else {
			*slash = '\0';
		}
		err = check_dir(p, file, false);
	}
	return err;
}

int private_dir_check(const char *file)
{
	char lit[PATH_MAX], real[PATH_MAX], cwd[PATH_MAX];
	const char *slash = strrchr(file, '/');
	int n;

	/* The directory as given (made absolute), then as resolved: a
	 * symlink on the way is judged by the directory that holds it and
	 * its target by its own chain. */
	if (file[0] == '/')
		n = snprintf(lit, sizeof(lit), "%.*s", slash == file ? 1 : (int)(slash - file), file);
	else if (!getcwd(cwd, sizeof(cwd)))
		return log_error(-errno, "%s: getcwd: %s", file, strerror(errno));
	else if (slash)
		n = snprintf(lit, sizeof(lit), "%s/%.*s", cwd, (int)(slash - file), file);
	else
		n = snprintf(lit, sizeof(lit), "%s", cwd);
	if (n < 0 || n >= (int)sizeof(lit))
		return -ENAMETOOLONG;
	if (!realpath(lit, real))
		return log_error(-errno, "%s: directory %s: %s", file, lit, strerror(errno));
	int err = check_chain(lit, file);

	return err || !strcmp(lit, real) ? err : check_chain(real, file);
}

/* The open file itself: ours, regular, not writable by others. */
static int check_fd(int fd, const char *file, const char *what, struct stat *sb)
{
	uid_t me = geteuid();

	if (fstat(fd, sb) != 0)
		return log_error(-errno, "%s: %s", file, strerror(errno));
	if (!S_ISREG(sb->st_mode))
		return log_error(-EPERM, "%s: refused: the %s is not a regular file", file, what);
	if (sb->st_uid != me)
		return log_error(-EPERM, "%s: refused: the %s belongs to uid %u, not to this "
				 "daemon's user (uid %u): whoever made it can read or change what "
				 "it holds; move it away (a new one is made) or, if you made it, "
				 "chown it to uid %u", file, what, (unsigned)sb->st_uid,
				 (unsigned)me, (unsigned)me);
	if (sb->st_mode & 022)
		return log_error(-EPERM, "%s: refused: the %s is writable by %s (mode %04o); "
				 "chmod 600 it if nobody else has written it, else move it away",
				 file, what, (sb->st_mode & 002) ? "others" : "its group",
				 (unsigned)(sb->st_mode & 07777));
	return 0;
}

static int refuse_open(int err, const char *file, const char *what)
{
	if (err == -ELOOP)
		return log_error(-ELOOP, "%s: refused: the %s is a symbolic link; give the "
				 "path of the file itself", file, what);
	return log_error(err, "%s: %s", file, strerror(-err));
}

int private_file_open(const char *file, int flags, bool create, const char *what,
		      bool *created, struct stat *sb)
{
	struct stat own;
	int fd, err;

	if (created)
		*created = false;
	if (!sb)
		sb = &own;
	err = private_dir_check(file);
	if (err)
		return err;
	for (int tries = 0; tries < 2; tries++) {
		fd = open(file, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0 || errno != ENOENT || !create)
			break;
		/* O_EXCL: a name that appeared since is opened (and checked)
		 * on the next round, never created over. */
		fd = open(file, (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd >= 0) {
			if (created)
				*created = true;
			break;
		}
		if (errno != EEXIST)
			break;
	}
	if (fd < 0)
		return refuse_open(-errno, file, what);
	/* O_NONBLOCK only kept a planted FIFO from hanging the open. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	err = check_fd(fd, file, what, sb);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int private_file_check(const char *file, const char *what)
{
	struct stat sb;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), err;

	if (fd < 0)
		return errno == ENOENT ? 0 : refuse_open(-errno, file, what);
	err = check_fd(fd, file, what, &sb);
	close(fd);
	return err;
}
