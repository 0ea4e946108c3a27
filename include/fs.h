/* fs.h - the FUSE front end: the low-level ops table over the tree core. */
#ifndef DOCKFS_FS_H
#define DOCKFS_FS_H

#include <fuse_lowlevel.h>

struct fs_options {
	double entry_timeout;   /* seconds the kernel may cache a name */
	double attr_timeout;    /* seconds the kernel may cache attributes */
};

/* The ops table; data for fuse_session_new is a struct fs_options. */
extern const struct fuse_lowlevel_ops fs_ops;

/* Frees the inode table (after the session loop ended). */
void fs_cleanup(void);

#endif
