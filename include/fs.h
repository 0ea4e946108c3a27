/* fs.h - the FUSE front end: the low-level ops table over the tree core. */
#ifndef DOCKFS_FS_H
#define DOCKFS_FS_H

#include <stdbool.h>

#include <fuse_lowlevel.h>

struct fs_options {
	double entry_timeout;   /* seconds the kernel may cache a name */
	double attr_timeout;    /* seconds the kernel may cache attributes */
	/* The private mount (DESIGN.md 3b): the kernel answers opens itself
	 * and reads come from its page cache, so a warm read sends no
	 * message; what the engines change is pushed in by the notifier.
	 * Files that need an open of their own (they act, stream, are
	 * fetched or differ per caller) are symlinks into companion. */
	bool kernel_cached;
	const char *companion;  /* absolute path of the companion mount */
	/* Mounted with allow_other: every local user may enter, and the
	 * kernel's caches of names are shared by them all.  A name that
	 * needs a level (tree_stat.gated) is then never cached: each lookup
	 * of it reaches us as its caller, so a name one user looked up is
	 * not found through the cache by another who may not see it. */
	bool shared;
};

/* The ops table; data for fuse_session_new is a struct fs_options. */
extern const struct fuse_lowlevel_ops fs_ops;

/* The main mount's session and options, for notifications to the kernel
 * (set before the loop). */
void fs_set_session(struct fuse_session *se, const struct fs_options *opts);
/* Whether the main mount is shared (fs_options.shared). */
bool fs_shared(void);
/* Frees the inode table (after the session loop ended). */
void fs_cleanup(void);

/* For the notifier thread (notify.c), never from a request handler: */
/* Whether the kernel holds the inode of path (someone looked it up). */
bool fs_path_known(const char *path);
/* Makes the kernel forget the name in the directory parent. */
void fs_forget_entry(const char *parent, const char *name);
/* Wakes the poll() waiters on path (its content may have changed). */
void fs_wake_pollers(const char *path);
/* Drops what the kernel caches of the file at path (kernel_cached mounts;
 * a no-op otherwise), so that the next read asks us. */
void fs_inval_file(const char *path);

#endif
