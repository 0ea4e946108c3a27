/* fs.c - the FUSE front end: one low-level ops table over the tree core.
 *
 * An inode is a path in the tree; the kernel's lookup counts keep it alive
 * (passthrough_ll style: the inode pointer is the fuse_ino_t).  Identity is
 * the path, so a renamed or removed object simply stops resolving.
 *
 * Files are served with direct_io from a snapshot taken at open: reads of
 * one open file are consistent, and content whose length changed since
 * the kernel last saw st_size is still returned whole.  Writes act at once
 * (in write, never in release) as the caller who opened the file.
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
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "map.h"
#include "tree.h"

struct inode {
	char *path;            /* "" for the root, else "/a/b" */
	uint64_t nlookup;
	ino_t number;          /* st_ino shown to programs */
};

static pthread_mutex_t itable_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map itable = MAP_INIT;   /* path -> struct inode */
static struct inode root_inode = { .path = "", .nlookup = 1, .number = FUSE_ROOT_ID };

/* st_ino: a hash of the path, so readdir (which has no inode at hand) and
 * stat agree, and numbers are stable across remounts. */
static ino_t path_number(const char *parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[3] = { parent, name ? "/" : "", name ? name : "" };

	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 1099511628211ULL;
		}
	return h > FUSE_ROOT_ID ? (ino_t)h : (ino_t)(h + 2);
}

enum handle_kind { HANDLE_FILE, HANDLE_DIR };

/* An open file: the snapshot read at open, and who opened it.
 *
 * Counted: the kernel may deliver RELEASE to another thread as soon as a
 * READ's reply is copied, while the replying thread is still inside
 * writev() (ASan checks the iovec after the call returns), so a read holds
 * its own reference until fuse_reply_buf() has returned. */
struct handle {
	enum handle_kind kind;  /* first: getattr tells the two apart */
	atomic_int refs;
	struct caller opener;
	struct buf content;
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

/* Returns the inode of path with one more lookup reference. */
static struct inode *inode_ref(const char *path)
{
	struct inode *in;

	if (!*path)
		return &root_inode;
	pthread_mutex_lock(&itable_lock);
	in = map_get(&itable, path);
	if (!in) {
		in = calloc(1, sizeof(*in));
		if (!in || !(in->path = strdup(path)))
			abort();
		in->number = path_number(path, NULL);
		map_put(&itable, in->path, in);
	}
	in->nlookup++;
	pthread_mutex_unlock(&itable_lock);
	return in;
}

static void inode_unref(struct inode *in, uint64_t n)
{
	if (in == &root_inode)
		return;
	pthread_mutex_lock(&itable_lock);
	in->nlookup -= n < in->nlookup ? n : in->nlookup;
	if (in->nlookup == 0) {
		map_del(&itable, in->path);
		free(in->path);
		free(in);
	}
	pthread_mutex_unlock(&itable_lock);
}

static void free_inode_cb(const char *k, void *v, void *arg)
{
	struct inode *in = v;

	free(in->path);
	free(in);
}

void fs_cleanup(void)
{
	pthread_mutex_lock(&itable_lock);
	map_foreach(&itable, free_inode_cb, NULL);
	map_clear(&itable);
	pthread_mutex_unlock(&itable_lock);
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

/* Replies with the entry of path, taking a lookup reference. */
static void reply_entry(fuse_req_t req, const char *path)
{
	struct caller c = caller_of(req);
	struct fuse_entry_param e;
	struct tree_stat ts;
	int err = tree_stat(&c, path, &ts);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	memset(&e, 0, sizeof(e));
	struct inode *in = inode_ref(path);
	e.ino = ino_of(in);
	/* A live file's size changes with every fetch: never cache it. */
	e.attr_timeout = ts.live ? 0 : options(req)->attr_timeout;
	e.entry_timeout = options(req)->entry_timeout;
	fill_stat(&ts, in->number, &e.attr);
	if (fuse_reply_entry(req, &e) != 0)
		inode_unref(in, 1); /* the kernel did not take it */
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	/* `echo x > ctl` opens with O_TRUNC: take it in open, no setattr. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* With async direct I/O the kernel splits a large read into parallel
	 * requests and may return (and RELEASE the file) on the first short
	 * one while the others are still being served from the handle. */
	conn->want &= ~FUSE_CAP_ASYNC_DIO;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char *path = child_path(parent, name);

	reply_entry(req, path);
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
	struct caller c = caller_of(req);
	struct inode *in = inode_of(ino);
	struct tree_stat ts;
	struct stat st;
	int err = tree_stat(&c, in->path, &ts);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* fstat of an open file: the size of the snapshot it reads. */
	if (fi && fi->fh && *(enum handle_kind *)(uintptr_t)fi->fh == HANDLE_FILE)
		ts.size = ((struct handle *)(uintptr_t)fi->fh)->content.len;
	fill_stat(&ts, in->number, &st);
	fuse_reply_attr(req, &st, ts.live ? 0 : options(req)->attr_timeout);
}

/* Truncation is how `echo x > file` starts; it changes nothing by itself.
 * Other attributes cannot be set. */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct caller c = caller_of(req);
	struct inode *in = inode_of(ino);
	int err = 0;

	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		err = -EPERM;
	else if (to_set & FUSE_SET_ATTR_SIZE)
		err = attr->st_size == 0 ? tree_open(&c, in->path, true) : -EINVAL;
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_getattr(req, ino, fi);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct caller c = caller_of(req);
	struct buf b = BUF_INIT;
	int err = tree_readlink(&c, inode_of(ino)->path, &b);

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
	int err = tree_mkdir(&c, path);

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
	int err = tree_rmdir(&c, path);

	fuse_reply_err(req, -err);
	free(path);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct caller c = caller_of(req);
	const char *path = inode_of(ino)->path;
	int acc = fi->flags & O_ACCMODE;
	int err = tree_open(&c, path, acc != O_RDONLY);
	struct handle *h;

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	h = calloc(1, sizeof(*h) + strlen(path) + 1);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	strcpy(h->path, path);
	h->kind = HANDLE_FILE;
	atomic_init(&h->refs, 1);
	h->opener = c;
	if (acc != O_WRONLY) {
		err = tree_read(&c, path, &h->content);
		/* A write-only attribute opened O_RDWR is still writable. */
		if (err == -EACCES && acc == O_RDWR)
			err = 0;
		if (err) {
			buf_free(&h->content);
			free(h);
			fuse_reply_err(req, -err);
			return;
		}
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	if (fuse_reply_open(req, fi) != 0) {
		buf_free(&h->content);
		free(h);
	}
}

static void handle_put(struct handle *h)
{
	if (atomic_fetch_sub(&h->refs, 1) == 1) {
		buf_free(&h->content);
		free(h);
	}
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (off < 0 || (size_t)off >= h->content.len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = h->content.len - (size_t)off;
	atomic_fetch_add(&h->refs, 1);
	fuse_reply_buf(req, h->content.data + off, n < size ? n : size);
	handle_put(h);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	/* Judged as the opener, never as whoever holds the fd now. */
	int err = tree_write(&h->opener, h->path, data, size);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	handle_put((struct handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

struct dir_handle {
	enum handle_kind kind;
	struct dirlist list;
};

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
	/* One snapshot per opendir, so offsets stay meaningful. */
	dirlist_add(&d->list, ".", NODE_DIR);
	dirlist_add(&d->list, "..", NODE_DIR);
	err = tree_list(&c, inode_of(ino)->path, &d->list);
	if (err) {
		dirlist_free(&d->list);
		free(d);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0) {
		dirlist_free(&d->list);
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

	for (size_t i = (size_t)off; i < d->list.n; i++) {
		struct stat st = { 0 };
		enum node_type t = d->list.v[i].type;

		/* glibc hides entries whose d_ino is 0. */
		st.st_ino = path_number(path, d->list.v[i].name);
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
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.release = fs_release,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.statfs = fs_statfs,
};
