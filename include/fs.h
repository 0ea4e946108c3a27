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
};

/* The ops table; data for fuse_session_new is a struct fs_options. */
extern const struct fuse_lowlevel_ops fs_ops;

/* The main mount's session and options, for notifications to the kernel
 * (set before the loop). */
void fs_set_session(struct fuse_session *se, const struct fs_options *opts);
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
