/* notify.h - makes the changes engines report visible to the kernel.
 *
 * The kernel raises no inotify events for changes a FUSE daemon makes on
 * its own, so a thread of ours acts on our own mount: utimensat() on a
 * changed file gives IN_ATTRIB, mkdir()/rmdir() of an object that came or
 * went gives IN_CREATE/IN_DELETE on its directory (symlink()/unlink() for
 * the M/containers and M/images views).  The handlers in fs.c recognise
 * these requests by the thread's id and answer them without acting.  The
 * thread also wakes poll() waiters.  It never runs inside a request
 * handler: those only queue work for it (libfuse doc/README.notifications).
 */
#ifndef DOCKFS_NOTIFY_H
#define DOCKFS_NOTIFY_H

#include <sys/types.h>

struct fuse_session;

/* Follows the model's changes: before the hosts' workers start (model.h
 * observers are not added while they run).  Changes before notify_start
 * are dropped: nothing of the mount is in the kernel's caches yet. */
void notify_init(void);
/* Starts the thread, acting on the mount at mountpoint. */
int notify_start(struct fuse_session *se, const char *mountpoint);
/* Stops it (after the session loop ended, so that nothing waits on it). */
void notify_stop(void);
/* Waits, at most timeout_ms, until the jobs queued so far have run: an
 * action's effects reach the kernel before the action's write returns. */
void notify_settle(long timeout_ms);

enum notify_self {
	SELF_NO,            /* not the notifier's request */
	SELF_OTHER,         /* the notifier's, on another path */
	SELF_CREATING,      /* it makes this path appear: lookups say ENOENT */
	SELF_REMOVING_DIR,  /* it makes this directory go: lookups find it */
	SELF_REMOVING_LINK, /* the same for a symlink */
};

/* For fs.c: whether the request of thread pid on path is the notifier's. */
enum notify_self notify_whoami(pid_t pid, const char *path);

#endif
