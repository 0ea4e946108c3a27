/* fs.c - the FUSE front end: one low-level ops table over the tree core.
 *
 * An inode is a path in the tree and the object it names (tree_stat.ident,
 * a container's id); the kernel's lookup counts keep it alive
 * (passthrough_ll style: the inode pointer is the fuse_ino_t).  A renamed
 * or removed object simply stops resolving, and a new object under an old
 * name gets a new inode (inode_ref).  Both sessions of a private mount
 * (below) share the inode table.
 *
 * Two ways to serve a file (DESIGN.md 3b):
 *
 * - Shared mount (and the private mount's companion): every open reaches
 *   us and is authorized as its caller; the file is read with direct_io
 *   from a snapshot taken at open, so reads of one open file agree and
 *   content whose length changed since the kernel last saw st_size is
 *   still returned whole.  Writes act at once (in write, never in
 *   release) as the caller who opened the file.
 *
 * - Private mount (kernel_cached): the first open is answered ENOSYS, after
 *   which the kernel opens files itself and serves reads from its page
 *   cache: a warm read sends no message.  The page cache stops a read at
 *   the kernel's st_size, so each inode keeps the content whose size and
 *   mtime the kernel was last told (in a lookup, getattr or setattr
 *   reply), and reads serve that content, never a newer one.  That does
 *   not close every gap, and no daemon can: two getattrs sent together
 *   carry one attr_version, so the kernel keeps whichever reply it applies
 *   first, which may be the older content; and a reader that passed the
 *   size check may have its page fetched after another caller's getattr
 *   moved the snapshot on.  A read racing a change that lengthens the file
 *   can then end at the old size (dockfs(1) PRIVATE MOUNT says so).  The
 *   notifier drops the kernel's copy of every file the engines change
 *   (fs_inval_file) before it touches it.  A file that needs an open of
 *   its own is shown as a symlink to the same path in the companion
 *   mount, a second session of this daemon served the shared way.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <poll.h>

#include <sodium.h>

#include "docker.h"
#include "fs.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "notify.h"
#include "stream.h"
#include "tree.h"
#include "vault.h"

#define STREAM_BUFFER (1 << 20)  /* unread bytes a stream reader may hold */
#define GATHER_MAX (256 << 10)   /* what a buffered file takes (PEM keys, known_hosts) */
#define SETTLE_MAX_MS 2000       /* an action waits this long for the notifier */

struct inode {
	char *path;            /* "" for the root, else "/a/b" */
	uint64_t nlookup;
	ino_t number;          /* st_ino shown to programs */
	/* The object the path named when the inode was made (tree_stat.ident);
	 * another object under the same name gets a new inode, and this one
	 * leaves the table (detached) until the kernel forgets it. */
	uint64_t ident;
	bool detached;
	uint64_t generation;   /* fixed: the kernel takes a change for a stale inode */
	/* Made by open(O_CREAT) on a private mount: not in the table, a
	 * regular file until the kernel forgets it (see fs_create). */
	bool created;
	/* kernel_cached: the content the kernel last got the size and mtime
	 * of, which its reads are served (see the top of this file). */
	pthread_mutex_t snap_lock;
	bool has_snap;
	struct buf snap;
	struct timespec snap_mtime;
};

static struct fuse_session *session;         /* the main mount's */
static const struct fs_options *session_opts;

void fs_set_session(struct fuse_session *se, const struct fs_options *opts)
{
	session = se;
	session_opts = opts;
}

bool fs_shared(void)
{
	return session_opts && session_opts->shared;
}

static pthread_mutex_t itable_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map itable = MAP_INIT;   /* path -> struct inode */
static struct inode root_inode = { .path = "", .nlookup = 1, .number = FUSE_ROOT_ID,
				   .snap_lock = PTHREAD_MUTEX_INITIALIZER };

/* st_ino: a hash of the path and of the object it names (ident, 0 for
 * none), so readdir (which has no inode at hand, but the listing's
 * idents) and stat agree, numbers are stable across remounts, and a name
 * removed and made again shows another number (tar --listed-incremental,
 * rsync and find -samefile tell them apart). */
static ino_t path_number(const char *parent, const char *name, uint64_t ident)
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[3] = { parent, name ? "/" : "", name ? name : "" };

	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 1099511628211ULL;
		}
	for (int i = 0; ident && i < 8; i++) {
		h ^= (ident >> (8 * i)) & 0xff;
		h *= 1099511628211ULL;
	}
	return h > FUSE_ROOT_ID ? (ino_t)h : (ino_t)(h + 2);
}

static atomic_ullong generation;   /* fuse_entry_param.generation of new inodes */

enum handle_kind { HANDLE_FILE, HANDLE_DIR, HANDLE_STREAM };

/* Every open file and directory, so that an unmount with files still open
 * (SIGTERM: the kernel sends no RELEASE then) frees them all. */
struct open_link {
	struct open_link *prev, *next;
	void *self;             /* the handle; its first member is its kind */
};

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_link open_files = { &open_files, &open_files, NULL };

static void open_track(struct open_link *l, void *self)
{
	l->self = self;
	pthread_mutex_lock(&open_lock);
	l->next = open_files.next;
	l->prev = &open_files;
	open_files.next->prev = l;
	open_files.next = l;
	pthread_mutex_unlock(&open_lock);
}

static void open_untrack(struct open_link *l)
{
	pthread_mutex_lock(&open_lock);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	pthread_mutex_unlock(&open_lock);
}

/* An open file: the snapshot read at open, and who opened it.
 *
 * Counted: the kernel may deliver RELEASE to another thread as soon as a
 * READ's reply is copied, while the replying thread is still inside
 * writev() (ASan checks the iovec after the call returns), so a read holds
 * its own reference until fuse_reply_buf() has returned. */
struct handle {
	enum handle_kind kind;  /* first: getattr tells the kinds apart */
	struct open_link link;
	atomic_int refs;
	pthread_mutex_t lock;   /* content is replaced by a write's answer */
	struct fuse_pollhandle *ph; /* a poll() waiting for a change */
	struct handle *poll_next;   /* in pollers, while ph is set */
	off_t answer_at;        /* where the write that answered ended */
	off_t answer_origin;    /* the file offset the answer starts at */
	bool answer_fresh;      /* no read since the answer came */
	struct caller opener;
	struct buf content;
	/* Buffered files (node_ops.buffered): what was written since open,
	 * in guarded memory wiped at release; acted on at flush. */
	bool buffered;
	bool gathered_dirty;
	/* A write went past GATHER_MAX: the close acts on nothing (a key cut
	 * at 256 KiB is not the key written) and fails again. */
	bool gathered_too_big;
	struct secret gathered;   /* GATHER_MAX bytes, len = what was written */
	char path[];
};

static struct inode *inode_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &root_inode : (struct inode *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(struct inode *in)
{
	return in == &root_inode ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)in;
}

/* Returns the inode of path, naming the object ident, with one more
 * lookup reference.  An inode of the path that named another object is
 * detached (the kernel keeps it until it forgets it, and finds it gone:
 * fs_getattr), and a new one made: the kernel must never take a new
 * container for the one that had its name.  any: whatever it names (an
 * entry on its way out). */
static struct inode *inode_ref(const char *path, uint64_t ident, bool any)
{
	struct inode *in;

	if (!*path)
		return &root_inode;
	pthread_mutex_lock(&itable_lock);
	in = map_get(&itable, path);
	if (in && !any && in->ident != ident) {
		map_del(&itable, path);
		in->detached = true;
		in = NULL;
	}
	if (!in) {
		in = calloc(1, sizeof(*in));
		if (!in || !(in->path = strdup(path)))
			abort();
		in->ident = ident;
		in->number = path_number(path, NULL, ident);
		pthread_mutex_init(&in->snap_lock, NULL);
		in->generation = atomic_fetch_add(&generation, 1) + 1;
		map_put(&itable, in->path, in);
	}
	in->nlookup++;
	pthread_mutex_unlock(&itable_lock);
	return in;
}

static void inode_free(struct inode *in)
{
	pthread_mutex_destroy(&in->snap_lock);
	buf_free(&in->snap);
	free(in->path);
	free(in);
}

static void inode_unref(struct inode *in, uint64_t n)
{
	if (in == &root_inode)
		return;
	pthread_mutex_lock(&itable_lock);
	in->nlookup -= n < in->nlookup ? n : in->nlookup;
	if (in->nlookup == 0) {
		if (!in->created && !in->detached)
			map_del(&itable, in->path);
		inode_free(in);
	}
	pthread_mutex_unlock(&itable_lock);
}

/* An inode of its own for a file made by open(O_CREAT) on a private mount:
 * the path's own inode is a symlink into the companion there, and the
 * kernel must not see one inode change type (it would fail it with EIO).
 * With entry_timeout 0 the next lookup of the name finds the symlink. */
static struct inode *inode_created(const char *path)
{
	struct inode *in = calloc(1, sizeof(*in));

	if (!in || !(in->path = strdup(path)))
		abort();
	in->number = path_number(path, NULL, 0);
	in->nlookup = 1;
	in->created = true;
	pthread_mutex_init(&in->snap_lock, NULL);
	return in;
}

static void free_inode_cb(const char *k, void *v, void *arg)
{
	inode_free(v);
}


static char *child_path(fuse_ino_t parent, const char *name)
{
	const char *p = inode_of(parent)->path;
	char *path;

	if (asprintf(&path, "%s/%s", p, name) < 0)
		abort();
	return path;
}

static struct caller caller_of(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return (struct caller){ ctx->uid, ctx->gid, ctx->pid };
}

static const struct fs_options *options(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void fill_stat(const struct tree_stat *ts, ino_t number, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = number;
	st->st_mode = ts->perm | (ts->type == NODE_DIR ? S_IFDIR : ts->type == NODE_LINK ? S_IFLNK :
							 S_IFREG);
	st->st_nlink = ts->type == NODE_DIR ? 2 : 1;
	st->st_uid = tree_ctx()->owner;
	st->st_gid = getgid();
	st->st_size = (off_t)ts->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((ts->size + 511) / 512);
	st->st_mtim = ts->mtime;
	st->st_ctim = ts->mtime;
	st->st_atim = ts->mtime;
}

/* Whether a file must be opened to be read right: it acts, streams, is
 * fetched at open or differs by caller.  On a private mount such a file
 * is a symlink into the companion. */
static bool needs_open(const struct tree_stat *ts)
{
	return ts->type == NODE_FILE && (ts->live || ts->per_caller || ts->stream || ts->buffered ||
					 (ts->perm & 0222));
}

static char *companion_target(fuse_req_t req, const char *path)
{
	char *target;

	if (asprintf(&target, "%s%s", options(req)->companion, path) < 0)
		abort();
	return target;
}

/* The inode's snapshot becomes content (taken), and ts->mtime what the
 * kernel is told: unchanged content keeps the mtime it had, so the kernel
 * keeps its pages; changed content gets a later one, so the kernel drops
 * them even when the size is the same (auto_inval_data). */
static void snapshot_set(struct inode *in, struct buf *content, struct tree_stat *ts)
{
	pthread_mutex_lock(&in->snap_lock);
	if (in->has_snap && in->snap.len == content->len &&
	    (!content->len || memcmp(in->snap.data, content->data, content->len) == 0)) {
		ts->mtime = in->snap_mtime;
	} else {
		struct timespec *m = &in->snap_mtime;

		if (in->has_snap && (ts->mtime.tv_sec < m->tv_sec ||
				     (ts->mtime.tv_sec == m->tv_sec && ts->mtime.tv_nsec <= m->tv_nsec))) {
			ts->mtime = *m;
			if (++ts->mtime.tv_nsec == 1000000000) {
				ts->mtime.tv_sec++;
				ts->mtime.tv_nsec = 0;
			}
		}
		struct buf old = in->snap;
		in->snap = *content;
		*content = old;
		in->snap_mtime = ts->mtime;
		in->has_snap = true;
	}
	pthread_mutex_unlock(&in->snap_lock);
}

/* What the kernel is told of path (for lookup, getattr and setattr):
 * *timeout gets the attribute timeout.  For a kernel_cached mount, a file
 * that needs an open becomes a symlink, and content the file's content. */
static int kernel_stat(fuse_req_t req, const char *path, struct tree_stat *ts,
		       struct buf *content, double *timeout)
{
	const struct fs_options *o = options(req);
	struct caller c = caller_of(req);
	int err;

	if (!o->kernel_cached) {
		err = tree_stat(&c, path, ts);
		/* A live file's size changes with every fetch: never cache it. */
		*timeout = !err && (ts->live || ts->per_caller) ? 0 : o->attr_timeout;
		return err;
	}
	err = tree_stat_content(&c, path, ts, content);
	if (!err && needs_open(ts)) {
		ts->type = NODE_LINK;
		ts->perm = 0777;
		ts->size = strlen(o->companion) + strlen(path);
	}
	/* What changes without a notice from the engines (a host's reported
	 * facts) is still looked at again after attr_timeout. */
	*timeout = o->attr_timeout;
	return err;
}

/* Fills st for the kernel from ts, making content the snapshot of in. */
static void kernel_attr(fuse_req_t req, struct inode *in, struct tree_stat *ts,
			struct buf *content, struct stat *st)
{
	if (options(req)->kernel_cached && ts->type == NODE_FILE)
		snapshot_set(in, content, ts);
	fill_stat(ts, in->number, st);
}

/* Replies with the entry of path, taking a lookup reference. */
static void reply_entry(fuse_req_t req, const char *path)
{
	struct fuse_entry_param e;
	struct tree_stat ts;
	struct buf content = BUF_INIT;
	double timeout;
	int err = kernel_stat(req, path, &ts, &content, &timeout);

	if (err) {
		buf_free(&content);
		fuse_reply_err(req, -err);
		return;
	}
	memset(&e, 0, sizeof(e));
	struct inode *in = inode_ref(path, ts.ident, false);
	e.ino = ino_of(in);
	e.generation = in->generation;
	e.attr_timeout = timeout;
	/* A gated name is asked for again at every lookup (fs_options.shared). */
	e.entry_timeout = ts.gated && options(req)->shared ? 0 : options(req)->entry_timeout;
	kernel_attr(req, in, &ts, &content, &e.attr);
	buf_free(&content);
	if (fuse_reply_entry(req, &e) != 0)
		inode_unref(in, 1); /* the kernel did not take it */
}

bool fs_path_known(const char *path)
{
	bool known;

	if (!*path)
		return true;
	pthread_mutex_lock(&itable_lock);
	known = map_get(&itable, path) != NULL;
	pthread_mutex_unlock(&itable_lock);
	return known;
}

void fs_inval_file(const char *path)
{
	fuse_ino_t ino = 0;

	if (!session || !session_opts || !session_opts->kernel_cached)
		return;
	pthread_mutex_lock(&itable_lock);
	struct inode *in = map_get(&itable, path);
	if (in)
		ino = ino_of(in);
	pthread_mutex_unlock(&itable_lock);
	/* An inode forgotten meanwhile: the kernel answers ENOENT. */
	if (ino)
		fuse_lowlevel_notify_inval_inode(session, ino, 0, 0);
}

void fs_forget_entry(const char *parent, const char *name)
{
	fuse_ino_t ino = 0;

	pthread_mutex_lock(&itable_lock);
	struct inode *in = *parent ? map_get(&itable, parent) : &root_inode;
	if (in)
		ino = ino_of(in);
	pthread_mutex_unlock(&itable_lock);
	/* Not under the lock: the kernel may answer with FORGETs, whose
	 * handler takes it. */
	if (ino && session)
		fuse_lowlevel_notify_inval_entry(session, ino, name, strlen(name));
}

/* poll() on a file: readable at once (it is a file), and POLLPRI when its
 * content differs from what the open file holds, like cgroup.events.  The
 * waiters are woken by the notifier when the model changes. */
static pthread_mutex_t pollers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *pollers;

/* A private mount's files are opened by the kernel alone, so a poll()
 * there has no open file of ours to compare with: it waits for the next
 * change instead.  The kernel asks again after a wake-up (without a poll
 * handle), and that poll is told POLLPRI once. */
#define WOKEN_KEEP 10   /* seconds a wake-up nobody asked about is kept */
#define PATH_POLLERS_MAX 256 /* waiting polls kept; beyond, the oldest is dropped */

struct path_poller {
	struct path_poller *next;
	struct fuse_pollhandle *ph;  /* NULL once woken */
	time_t woken_at;
	char path[];
};

static struct path_poller *path_pollers;   /* newest first */
static size_t path_pollers_n;

/* With pollers_lock held: takes one woken poller of path, if any. */
static bool path_poller_take_woken(const char *path)
{
	time_t now = time(NULL);
	bool found = false;

	for (struct path_poller **pp = &path_pollers; *pp;) {
		struct path_poller *p = *pp;
		bool stale = !p->ph && now - p->woken_at > WOKEN_KEEP;

		if (stale || (!found && !p->ph && strcmp(p->path, path) == 0)) {
			found |= !stale;
			*pp = p->next;
			path_pollers_n--;
			free(p);
		} else {
			pp = &p->next;
		}
	}
	return found;
}

static unsigned poll_path(const char *path, struct fuse_pollhandle *ph)
{
	const unsigned base = POLLIN | POLLRDNORM;
	bool woken;

	pthread_mutex_lock(&pollers_lock);
	woken = path_poller_take_woken(path);
	if (ph && !woken) {
		struct path_poller *p = calloc(1, sizeof(*p) + strlen(path) + 1);

		if (p) {
			strcpy(p->path, path);
			p->ph = ph;
			p->next = path_pollers;
			path_pollers = p;
			path_pollers_n++;
			ph = NULL;
		}
	}
	/* Each poll(2) call registers anew, and a poller that timed out
	 * never says so: keep the newest. */
	struct path_poller *drop = NULL;
	if (path_pollers_n > PATH_POLLERS_MAX) {
		struct path_poller **pp = &path_pollers;

		while ((*pp)->next)
			pp = &(*pp)->next;
		drop = *pp;
		*pp = NULL;
		path_pollers_n--;
	}
	pthread_mutex_unlock(&pollers_lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
	if (drop) {
		if (drop->ph)
			fuse_pollhandle_destroy(drop->ph);
		free(drop);
	}
	return woken ? base | POLLPRI | POLLERR : base;
}

void fs_wake_pollers(const char *path)
{
	struct fuse_pollhandle *phs[64];
	int n = 0;

	pthread_mutex_lock(&pollers_lock);
	for (struct handle **pp = &pollers; *pp && n < 64;) {
		struct handle *h = *pp;
		if (strcmp(h->path, path) == 0) {
			phs[n++] = h->ph;
			h->ph = NULL;
			*pp = h->poll_next;
		} else {
			pp = &h->poll_next;
		}
	}
	for (struct path_poller *p = path_pollers; p && n < 64; p = p->next) {
		if (p->ph && strcmp(p->path, path) == 0) {
			phs[n++] = p->ph;
			p->ph = NULL;
			p->woken_at = time(NULL);
		}
	}
	pthread_mutex_unlock(&pollers_lock);
	for (int i = 0; i < n; i++) {
		fuse_lowlevel_notify_poll(phs[i]);
		fuse_pollhandle_destroy(phs[i]);
	}
}

static void pollers_remove(struct handle *h)
{
	pthread_mutex_lock(&pollers_lock);
	for (struct handle **pp = &pollers; *pp; pp = &(*pp)->poll_next) {
		if (*pp == h) {
			*pp = h->poll_next;
			break;
		}
	}
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	h->ph = NULL;
	pthread_mutex_unlock(&pollers_lock);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	const struct fs_options *o = userdata;

	/* The first open answered ENOSYS ends opens for good (fs_open). */
	if (o->kernel_cached && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT))
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
	/* A changed mtime makes the kernel drop a file's pages (snapshot_set). */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* `echo x > ctl` opens with O_TRUNC: take it in open, no setattr. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* With async direct I/O the kernel splits a large read into parallel
	 * requests and may return (and RELEASE the file) on the first short
	 * one while the others are still being served from the handle. */
	conn->want &= ~FUSE_CAP_ASYNC_DIO;
}

/* An entry for something the notifier is removing: it is gone from the
 * model, but the kernel must find it to remove it. */
static void reply_vanishing(fuse_req_t req, const char *path, enum node_type type)
{
	struct fuse_entry_param e;
	struct tree_stat ts = { .type = type, .perm = type == NODE_DIR ? 0555 : 0777 };

	clock_gettime(CLOCK_REALTIME, &ts.mtime);
	memset(&e, 0, sizeof(e));
	struct inode *in = inode_ref(path, 0, true);
	e.ino = ino_of(in);
	fill_stat(&ts, in->number, &e.attr);
	if (fuse_reply_entry(req, &e) != 0)
		inode_unref(in, 1);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char *path = child_path(parent, name);

	switch (notify_whoami(fuse_req_ctx(req)->pid, path)) {
	case SELF_CREATING:
		fuse_reply_err(req, ENOENT);
		break;
	case SELF_REMOVING_DIR:
		reply_vanishing(req, path, NODE_DIR);
		break;
	case SELF_REMOVING_LINK:
		reply_vanishing(req, path, NODE_LINK);
		break;
	default:
		reply_entry(req, path);
	}
	free(path);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_unref(inode_of(ino), nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inode_unref(inode_of(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct inode *in = inode_of(ino);
	struct tree_stat ts;
	struct stat st;
	struct buf content = BUF_INIT;
	double timeout;
	int err;

	if (in->created) {
		/* What the create said, whatever the name is now (cp fstats). */
		struct tree_stat made = { .type = NODE_FILE, .perm = 0644 };

		clock_gettime(CLOCK_REALTIME, &made.mtime);
		fill_stat(&made, in->number, &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	err = kernel_stat(req, in->path, &ts, &content, &timeout);

	/* The path names another object now: this inode's is gone. */
	if (!err && in != &root_inode && ts.ident != in->ident)
		err = -ENOENT;
	if (err) {
		buf_free(&content);
		fuse_reply_err(req, -err);
		return;
	}
	/* fstat of an open file: the size of the snapshot it reads. */
	if (fi && fi->fh && *(enum handle_kind *)(uintptr_t)fi->fh == HANDLE_FILE) {
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;

		pthread_mutex_lock(&h->lock);
		ts.size = h->content.len;
		pthread_mutex_unlock(&h->lock);
		fill_stat(&ts, in->number, &st);
	} else {
		kernel_attr(req, in, &ts, &content, &st);
	}
	buf_free(&content);
	fuse_reply_attr(req, &st, timeout);
}

/* Truncation is how `echo x > file` starts; it changes nothing by itself.
 * Other attributes cannot be set. */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct caller c = caller_of(req);
	struct inode *in = inode_of(ino);
	int err = 0;

	if (notify_whoami(fuse_req_ctx(req)->pid, in->path) != SELF_NO)
		err = 0; /* the notifier's touch: the kernel raises IN_ATTRIB */
	else if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		err = -EPERM;
	else if (to_set & FUSE_SET_ATTR_SIZE) {
		loop_may_block(); /* a refusal is written to the audit log */
		err = attr->st_size == 0 ? tree_open(&c, in->path, true, NULL) : -EINVAL;
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_getattr(req, ino, fi);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct caller c = caller_of(req);
	const char *path = inode_of(ino)->path;
	struct buf b = BUF_INIT;
	struct tree_stat ts;
	int err;

	if (options(req)->kernel_cached && tree_open(&c, path, false, &ts) == 0 &&
	    needs_open(&ts)) {
		char *target = companion_target(req, path);

		fuse_reply_readlink(req, target);
		free(target);
		return;
	}
	err = tree_readlink(&c, path, &b);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_readlink(req, b.data);
	buf_free(&b);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct caller c = caller_of(req);
	char *path = child_path(parent, name);
	int err = 0;

	/* The notifier's mkdir only announces what the model has already. */
	if (notify_whoami(c.pid, path) == SELF_NO) {
		loop_may_block();
		err = tree_mkdir(&c, path);
	}

	if (err)
		fuse_reply_err(req, -err);
	else
		reply_entry(req, path);
	free(path);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct caller c = caller_of(req);
	char *path = child_path(parent, name);
	int err = 0;

	if (notify_whoami(c.pid, path) == SELF_NO) {
		loop_may_block();
		err = tree_rmdir(&c, path);
	}

	fuse_reply_err(req, -err);
	free(path);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct caller c = caller_of(req);
	char *path = child_path(parent, name);
	int err = 0;

	if (notify_whoami(c.pid, path) == SELF_NO) {
		loop_may_block();
		err = tree_unlink(&c, path);
	}

	fuse_reply_err(req, -err);
	free(path);
}

/* ---- stream files (logs.follow, events) ------------------------------------
 *
 * A read with nothing to return is not answered at once: the request is
 * kept and answered from the producer's thread when data comes, so a
 * waiting reader holds no worker thread of the session.  poll() is
 * answered the same way, through fuse_lowlevel_notify_poll() from the
 * producer's thread (never from inside a handler).
 */
struct stream_handle {
	enum handle_kind kind;
	struct open_link link;
	pthread_mutex_t lock;
	struct stream *s;
	fuse_req_t pending;          /* a read waiting for data */
	size_t pending_size;
	struct fuse_pollhandle *ph;
	bool nonblock;
};

/* With sh->lock held: answers the pending read if there is something to
 * answer it with. */
static void answer_pending(struct stream_handle *sh)
{
	bool done;
	int err;
	char *buf = malloc(sh->pending_size ? sh->pending_size : 1);

	if (!buf)
		abort();
	size_t n = stream_take(sh->s, buf, sh->pending_size, &done, &err);
	if (n || done) {
		fuse_req_t req = sh->pending;

		sh->pending = NULL;
		if (n || !err)
			fuse_reply_buf(req, buf, n);
		else
			fuse_reply_err(req, -err);
	}
	free(buf);
}

static void stream_ready_cb(void *arg)
{
	struct stream_handle *sh = arg;

	pthread_mutex_lock(&sh->lock);
	if (sh->pending)
		answer_pending(sh);
	if (sh->ph) {
		fuse_lowlevel_notify_poll(sh->ph);
		fuse_pollhandle_destroy(sh->ph);
		sh->ph = NULL;
	}
	pthread_mutex_unlock(&sh->lock);
}

static void stream_interrupted(fuse_req_t req, void *arg)
{
	struct stream_handle *sh = arg;
	bool mine;

	pthread_mutex_lock(&sh->lock);
	mine = sh->pending == req;
	if (mine)
		sh->pending = NULL;
	pthread_mutex_unlock(&sh->lock);
	if (mine)
		fuse_reply_err(req, EINTR);
}

static void open_stream(fuse_req_t req, const struct caller *c, const char *path,
			struct fuse_file_info *fi)
{
	struct stream_handle *sh;
	int err;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	sh = calloc(1, sizeof(*sh));
	if (!sh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	sh->kind = HANDLE_STREAM;
	open_track(&sh->link, sh);
	pthread_mutex_init(&sh->lock, NULL);
	sh->nonblock = fi->flags & O_NONBLOCK;
	sh->s = stream_new(STREAM_BUFFER);
	stream_set_notify(sh->s, stream_ready_cb, sh);
	err = tree_stream(c, path, sh->s);
	if (err) {
		stream_cancel(sh->s);
		stream_put(sh->s); /* the producer's, never taken */
		stream_put(sh->s);
		open_untrack(&sh->link);
		free(sh);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)sh;
	/* Offsets mean nothing in a stream, but lseek must not fail: head(1)
	 * and others seek back over what they did not use. */
	fi->direct_io = 1;
	if (fuse_reply_open(req, fi) != 0) {
		stream_cancel(sh->s);
		stream_put(sh->s);
		open_untrack(&sh->link);
		free(sh);
	}
}

static void read_stream(fuse_req_t req, struct stream_handle *sh, size_t size)
{
	/* Before req is published in sh->pending: once it is, the producer
	 * may answer and free it at any moment.  Outside sh->lock, as the
	 * callback runs at once if req was already interrupted (and then
	 * finds nothing pending: fuse_req_interrupted() below catches it). */
	fuse_req_interrupt_func(req, stream_interrupted, sh);
	pthread_mutex_lock(&sh->lock);
	if (sh->pending) {
		/* One waiting read per open file; a second is a caller bug. */
		pthread_mutex_unlock(&sh->lock);
		fuse_reply_err(req, EBUSY);
		return;
	}
	sh->pending = req;
	sh->pending_size = size;
	answer_pending(sh);
	if (sh->pending == req && (sh->nonblock || fuse_req_interrupted(req))) {
		sh->pending = NULL;
		pthread_mutex_unlock(&sh->lock);
		fuse_reply_err(req, sh->nonblock ? EAGAIN : EINTR);
		return;
	}
	pthread_mutex_unlock(&sh->lock);
}

static void release_stream(struct stream_handle *sh)
{
	stream_cancel(sh->s); /* no stream_ready_cb after this */
	pthread_mutex_lock(&sh->lock);
	if (sh->ph)
		fuse_pollhandle_destroy(sh->ph);
	/* Only at unmount can a read still wait: answering frees it. */
	if (sh->pending)
		fuse_reply_err(sh->pending, EINTR);
	sh->pending = NULL;
	pthread_mutex_unlock(&sh->lock);
	stream_put(sh->s);
	pthread_mutex_destroy(&sh->lock);
	open_untrack(&sh->link);
	free(sh);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct stream_handle *sh = (struct stream_handle *)(uintptr_t)fi->fh;
	unsigned revents;

	if (!sh) {
		fuse_reply_poll(req, poll_path(inode_of(ino)->path, ph));
		return;
	}
	if (sh->kind != HANDLE_STREAM) {
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;
		struct buf now = BUF_INIT;
		bool changed;

		if (ph) {
			pthread_mutex_lock(&pollers_lock);
			if (h->ph)
				fuse_pollhandle_destroy(h->ph);
			else {
				h->poll_next = pollers;
				pollers = h;
			}
			h->ph = ph;
			pthread_mutex_unlock(&pollers_lock);
		}
		loop_may_block(); /* a live file is fetched again */
		tree_read(&h->opener, h->path, &now);
		pthread_mutex_lock(&h->lock);
		changed = now.len != h->content.len ||
			  (now.len && memcmp(now.data, h->content.data, now.len) != 0);
		pthread_mutex_unlock(&h->lock);
		buf_free(&now);
		fuse_reply_poll(req, POLLIN | POLLRDNORM | (changed ? POLLPRI | POLLERR : 0));
		return;
	}
	pthread_mutex_lock(&sh->lock);
	if (ph) {
		if (sh->ph)
			fuse_pollhandle_destroy(sh->ph);
		sh->ph = ph;
	}
	revents = stream_ready(sh->s) ? POLLIN : 0;
	pthread_mutex_unlock(&sh->lock);
	fuse_reply_poll(req, revents);
}

/* After an action: when the main mount is served from the kernel's cache,
 * what the action changed must be dropped from it before the write
 * returns, so that `echo stop > ctl; cat state` reads the new state. */
static void settle(void)
{
	/* Within what is left of the write's budget (docker.h). */
	if (session_opts && session_opts->kernel_cached)
		notify_settle(docker_budget_left(SETTLE_MAX_MS) < SETTLE_MAX_MS
			      ? docker_budget_left(SETTLE_MAX_MS) : SETTLE_MAX_MS);
}

static void handle_put(struct handle *h)
{
	if (atomic_fetch_sub(&h->refs, 1) == 1) {
		open_untrack(&h->link);
		pollers_remove(h);
		buf_free(&h->content);
		secret_free(&h->gathered);
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
}

/* Only the notifier makes symlinks: announcing a view entry that exists. */
static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	char *path = child_path(parent, name);

	if (notify_whoami(fuse_req_ctx(req)->pid, path) != SELF_NO)
		reply_entry(req, path);
	else
		fuse_reply_err(req, EPERM);
	free(path);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct caller c = caller_of(req);
	const char *path = inode_of(ino)->path;
	int acc = fi->flags & O_ACCMODE;
	struct tree_stat ts;
	int err = tree_open(&c, path, acc != O_RDONLY, &ts);
	struct handle *h;

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* Private mount: from now on the kernel opens files without asking
	 * (only the mounting user can be here), and reads are served from
	 * the inode's snapshot.  A file that needs an open is a symlink; one
	 * that became so since the kernel looked is still served whole. */
	if (options(req)->kernel_cached && !needs_open(&ts)) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	/* Fetched from an engine, a producer to start, a SQLite read: let
	 * another thread serve meanwhile.  The model's files are memory. */
	if (ts.live || ts.stream || ts.per_caller || acc != O_RDONLY)
		loop_may_block();
	if (ts.stream) {
		open_stream(req, &c, path, fi);
		return;
	}
	h = calloc(1, sizeof(*h) + strlen(path) + 1);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	strcpy(h->path, path);
	h->kind = HANDLE_FILE;
	open_track(&h->link, h);
	atomic_init(&h->refs, 1);
	pthread_mutex_init(&h->lock, NULL);
	h->opener = c;
	if (acc != O_RDONLY && ts.buffered) {
		h->buffered = true;
		if (secret_alloc(&h->gathered, GATHER_MAX) != 0) {
			handle_put(h);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		h->gathered.len = 0;
	}
	if (acc != O_WRONLY) {
		err = tree_read(&c, path, &h->content);
		/* A write-only attribute opened O_RDWR is still writable. */
		if (err == -EACCES && acc == O_RDWR)
			err = 0;
		if (err) {
			handle_put(h);
			fuse_reply_err(req, -err);
			return;
		}
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	/* Nothing to flush in a read-only open: spare the kernel the call. */
	if (acc == O_RDONLY)
		fi->noflush = 1;
	if (fuse_reply_open(req, fi) != 0)
		handle_put(h);
}

/* open(O_CREAT) of a name that does not exist: a directory that makes
 * objects by writing (secrets/, labels/) accepts it, and the handle is a
 * writable one like fs_open's. */
static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct caller c = caller_of(req);
	char *path = child_path(parent, name);
	struct fuse_entry_param e;
	struct tree_stat ts;
	int err;

	loop_may_block();
	err = tree_create(&c, path);

	if (!err)
		err = tree_stat(&c, path, &ts);
	struct handle *h = err ? NULL : calloc(1, sizeof(*h) + strlen(path) + 1);
	if (!err && !h)
		err = -ENOMEM;
	if (err) {
		fuse_reply_err(req, -err);
		free(path);
		return;
	}
	strcpy(h->path, path);
	h->kind = HANDLE_FILE;
	open_track(&h->link, h);
	atomic_init(&h->refs, 1);
	pthread_mutex_init(&h->lock, NULL);
	h->opener = c;
	/* A new file of a directory that gathers its files (a stack's): cp
	 * writes it in pieces, and it is given whole at close like an
	 * existing one opened for writing (fs_open). */
	if (ts.buffered) {
		h->buffered = true;
		if (secret_alloc(&h->gathered, GATHER_MAX) != 0) {
			handle_put(h);
			fuse_reply_err(req, ENOMEM);
			free(path);
			return;
		}
		h->gathered.len = 0;
	}
	memset(&e, 0, sizeof(e));
	struct inode *in = options(req)->kernel_cached ? inode_created(path)
						       : inode_ref(path, 0, true);
	e.ino = ino_of(in);
	e.attr_timeout = 0;
	e.entry_timeout = 0;
	fill_stat(&ts, in->number, &e.attr);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	if (fuse_reply_create(req, &e, fi) != 0) {
		inode_unref(in, 1);
		handle_put(h);
	}
	free(path);
}

/* A read on the private mount: the content whose size the kernel has. */
static void read_snapshot(fuse_req_t req, struct inode *in, size_t size, off_t off)
{
	struct caller c = caller_of(req);
	char *part = NULL;
	size_t n = 0;
	int err = 0;

	pthread_mutex_lock(&in->snap_lock);
	if (!in->has_snap) {
		/* Not looked up by this mount (the companion's): as it is. */
		buf_reset(&in->snap);
		err = tree_read(&c, in->path, &in->snap);
		clock_gettime(CLOCK_REALTIME, &in->snap_mtime);
		in->has_snap = err == 0;
	}
	if (!err && off >= 0 && (size_t)off < in->snap.len) {
		n = in->snap.len - (size_t)off;
		n = n < size ? n : size;
		part = malloc(n);
		if (!part)
			abort();
		memcpy(part, in->snap.data + off, n);
	}
	pthread_mutex_unlock(&in->snap_lock);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, part, n);
	free(part);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (!h) {
		read_snapshot(req, inode_of(ino), size, off);
		return;
	}
	if (h->kind == HANDLE_STREAM) {
		read_stream(req, (struct stream_handle *)h, size);
		return;
	}
	atomic_fetch_add(&h->refs, 1);
	pthread_mutex_lock(&h->lock);
	/* After `echo cmd >&3`, `cat <&3` reads on from where the write
	 * ended; a reader that seeks back to 0 reads the same answer.  The
	 * first read after the write decides which. */
	if (h->answer_fresh) {
		h->answer_origin = off >= h->answer_at ? h->answer_at : 0;
		h->answer_fresh = false;
	}
	off -= h->answer_origin;
	if (off < 0 || (size_t)off >= h->content.len) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		size_t n = h->content.len - (size_t)off;
		fuse_reply_buf(req, h->content.data + off, n < size ? n : size);
	}
	pthread_mutex_unlock(&h->lock);
	handle_put(h);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct buf answer = BUF_INIT;
	int err;

	if (!h) {
		/* The private mount's own files are all read-only (a writable
		 * one is a symlink into the companion). */
		fuse_reply_err(req, EACCES);
		return;
	}
	if (h->buffered) {
		pthread_mutex_lock(&h->lock);
		if (off < 0 || (size_t)off + size > GATHER_MAX) {
			err = EFBIG;
			if (!h->gathered_too_big) {
				/* Said once in `error` and the audit, as any
				 * refused write is. */
				loop_may_block();
				tree_write_refused(&h->opener, h->path, -EFBIG,
						   "%s takes at most %d bytes: nothing was set",
						   strrchr(h->path, '/') + 1, GATHER_MAX);
			}
			h->gathered_too_big = true;
			h->gathered_dirty = false;
			sodium_memzero(h->gathered.data, h->gathered.len);
			h->gathered.len = 0;
		} else if (h->gathered_too_big) {
			err = EFBIG; /* the rest of a write already refused */
		} else {
			memcpy(h->gathered.data + off, data, size);
			if ((size_t)off + size > h->gathered.len)
				h->gathered.len = (size_t)off + size;
			h->gathered_dirty = true;
			err = 0;
		}
		pthread_mutex_unlock(&h->lock);
		if (err)
			fuse_reply_err(req, err);
		else
			fuse_reply_write(req, size);
		return;
	}
	/* Judged as the opener, never as whoever holds the fd now. */
	loop_may_block();
	bool began = docker_budget_begin(0);   /* the write's and its settle's */
	err = tree_write(&h->opener, h->path, data, size, &answer);
	settle();
	docker_budget_end(began);

	if (!err && answer.len) {
		/* What the action answered is what this open file reads now. */
		pthread_mutex_lock(&h->lock);
		struct buf old = h->content;
		h->content = answer;
		h->answer_at = off + (off_t)size;
		h->answer_fresh = true;
		answer = old;
		pthread_mutex_unlock(&h->lock);
	}
	buf_free(&answer);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

/* close(): a buffered file acts now, and its error is close()'s. */
static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	int err = 0;

	/* The private mount gathers nothing at close (buffered files are in
	 * the companion): ENOSYS stops the kernel's FLUSH on every close. */
	if (options(req)->kernel_cached) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (h && h->kind == HANDLE_FILE && h->buffered) {
		pthread_mutex_lock(&h->lock);
		if (h->gathered_too_big) {
			err = -EFBIG;
			h->gathered_too_big = false;
		} else if (h->gathered_dirty) {
			loop_may_block();
			h->gathered_dirty = false;
			bool began = docker_budget_begin(0);
			err = tree_write(&h->opener, h->path, (const char *)h->gathered.data,
					 h->gathered.len, NULL);
			settle();
			docker_budget_end(began);
			sodium_memzero(h->gathered.data, h->gathered.len);
			h->gathered.len = 0;
		}
		pthread_mutex_unlock(&h->lock);
	}
	fuse_reply_err(req, -err);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (h && h->kind == HANDLE_STREAM) {
		loop_may_block(); /* its producer is stopped */
		release_stream((struct stream_handle *)h);
	}
	else if (h)
		handle_put(h);
	fuse_reply_err(req, 0);
}

struct dir_handle {
	enum handle_kind kind;
	struct open_link link;
	struct dirlist list;
};

/* On the private mount, the files that need an open are symlinks: readdir's
 * d_type says so too (find -type l). */
static void link_types(const struct caller *c, const char *dir, struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct tree_stat ts;
		char *path;

		if (l->v[i].type != NODE_FILE)
			continue;
		if (asprintf(&path, "%s/%s", dir, l->v[i].name) < 0)
			abort();
		if (tree_open(c, path, false, &ts) == 0 && needs_open(&ts))
			l->v[i].type = NODE_LINK;
		free(path);
	}
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct caller c = caller_of(req);
	struct dir_handle *d = calloc(1, sizeof(*d));
	int err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->kind = HANDLE_DIR;
	open_track(&d->link, d);
	/* One snapshot per opendir, so offsets stay meaningful. */
	dirlist_add(&d->list, ".", NODE_DIR);
	dirlist_add(&d->list, "..", NODE_DIR);
	err = tree_list(&c, inode_of(ino)->path, &d->list);
	if (!err && options(req)->kernel_cached)
		link_types(&c, inode_of(ino)->path, &d->list);
	if (err) {
		dirlist_free(&d->list);
		open_untrack(&d->link);
		free(d);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0) {
		dirlist_free(&d->list);
		open_untrack(&d->link);
		free(d);
	}
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	const char *path = inode_of(ino)->path;
	uint64_t dir_ident = inode_of(ino)->ident;

	for (size_t i = (size_t)off; i < d->list.n; i++) {
		struct stat st = { 0 };
		enum node_type t = d->list.v[i].type;
		/* An entry of an object's directory is of that object, unless
		 * the listing says it is one of its own. */
		uint64_t ident = d->list.v[i].ident ? d->list.v[i].ident : dir_ident;

		/* glibc hides entries whose d_ino is 0. */
		st.st_ino = path_number(path, d->list.v[i].name, ident);
		st.st_mode = t == NODE_DIR ? S_IFDIR : t == NODE_LINK ? S_IFLNK : S_IFREG;
		size_t n = fuse_add_direntry(req, buf + used, size - used, d->list.v[i].name, &st,
					     (off_t)(i + 1));
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;

	dirlist_free(&d->list);
	open_untrack(&d->link);
	free(d);
	fuse_reply_err(req, 0);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st = { 0 };

	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_namemax = 255;
	fuse_reply_statfs(req, &st);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.readlink = fs_readlink,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.unlink = fs_unlink,
	.symlink = fs_symlink,
	.poll = fs_poll,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.release = fs_release,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.statfs = fs_statfs,
};

void fs_cleanup(void)
{
	/* What the kernel never released (the session ended with files open). */
	while (open_files.next != &open_files) {
		void *self = open_files.next->self;

		switch (*(enum handle_kind *)self) {
		case HANDLE_FILE:
			atomic_store(&((struct handle *)self)->refs, 1);
			handle_put(self);
			break;
		case HANDLE_STREAM:
			release_stream(self);
			break;
		case HANDLE_DIR:
			open_untrack(&((struct dir_handle *)self)->link);
			dirlist_free(&((struct dir_handle *)self)->list);
			free(self);
			break;
		}
	}
	pthread_mutex_lock(&itable_lock);
	map_foreach(&itable, free_inode_cb, NULL);
	map_clear(&itable);
	pthread_mutex_unlock(&itable_lock);
	buf_free(&root_inode.snap);
	pthread_mutex_lock(&pollers_lock);
	while (path_pollers) {
		struct path_poller *p = path_pollers;

		path_pollers = p->next;
		if (p->ph)
			fuse_pollhandle_destroy(p->ph);
		free(p);
	}
	path_pollers_n = 0;
	pthread_mutex_unlock(&pollers_lock);
}
