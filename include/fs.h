/* fs.h - the FUSE front end: the low-level ops table over the tree core. */
#ifndef DOCKFS_FS_H
#define DOCKFS_FS_H

#include <stdbool.h>

#include <fuse_lowlevel.h>

struct fs_options {
	double entry_timeout;   /* seconds the kernel may cache a name */
	double attr_timeout;    /* seconds the kernel may cache attributes */
};

/* The ops table; data for fuse_session_new is a struct fs_options. */
extern const struct fuse_lowlevel_ops fs_ops;

/* The session, for notifications to the kernel (set before the loop). */
void fs_set_session(struct fuse_session *se);
/* Frees the inode table (after the session loop ended). */
void fs_cleanup(void);

/* For the notifier thread (notify.c), never from a request handler: */
/* Whether the kernel holds the inode of path (someone looked it up). */
bool fs_path_known(const char *path);
/* Makes the kernel forget the name in the directory parent. */
void fs_forget_entry(const char *parent, const char *name);
/* Wakes the poll() waiters on path (its content may have changed). */
void fs_wake_pollers(const char *path);

#endif
