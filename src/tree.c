/* tree.c - the tree core: resolution of paths, permission checks, dispatch
 * to the subtree modules.  The one place where "may this caller do this?"
 * is answered, for FUSE and HTTP alike.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "map.h"
#include "model.h"
#include "swarm.h"
#include "tree.h"

static struct tree_ctx ctx;

/* Sizes of live files as last fetched, so stat after open is exact
 * (path -> size).  Guarded by live_lock. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map live_sizes = MAP_INIT;

struct live_size {
	size_t size;
	char path[];
};

void tree_init(const struct tree_ctx *c)
{
	ctx = *c;
}

const struct tree_ctx *tree_ctx(void)
{
	return &ctx;
}

enum level tree_level(const struct caller *c, struct host *host)
{
	return access_level(c->uid, host ? host->name : NULL);
}

/* ---- why a write failed -------------------------------------------------- */

/* Set by the module that fails, read by the core right after the call:
 * both run on the same thread, inside one tree operation. */
static __thread char fail_msg[512];
static __thread bool fail_denied;
static __thread char made_id[NAME_MAX_ESCAPED];

void tree_set_resource(const char *id)
{
	snprintf(made_id, sizeof(made_id), "%s", id);
}

int tree_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	return err;
}

int tree_deny(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	fail_denied = true;
	return -EACCES;
}

static void fail_reset(void)
{
	fail_msg[0] = '\0';
	made_id[0] = '\0';
	fail_denied = false;
}

/* `error` files: the last failure of each caller's writes in each
 * directory ("uid:dirpath" -> message); a success clears it. */
static pthread_mutex_t errors_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map errors = MAP_INIT;

struct error_entry {
	char *msg;
	char key[];
};

static void error_key(char *key, size_t len, uid_t uid, const char *dir)
{
	snprintf(key, len, "%u:%s", (unsigned)uid, dir);
}

static void error_set(uid_t uid, const char *dir, const char *msg)
{
	size_t klen = strlen(dir) + 16;
	struct error_entry *e;
	char *key = malloc(klen);

	if (!key)
		abort();
	error_key(key, klen, uid, dir);
	pthread_mutex_lock(&errors_lock);
	e = map_del(&errors, key);
	if (e) {
		free(e->msg);
		free(e);
	}
	if (msg) {
		e = malloc(sizeof(*e) + strlen(key) + 1);
		if (!e || !(e->msg = strdup(msg)))
			abort();
		strcpy(e->key, key);
		map_put(&errors, e->key, e);
	}
	pthread_mutex_unlock(&errors_lock);
	free(key);
}

static void error_get(uid_t uid, const char *dir, struct buf *out)
{
	size_t klen = strlen(dir) + 16;
	char *key = malloc(klen);

	if (!key)
		abort();
	error_key(key, klen, uid, dir);
	pthread_mutex_lock(&errors_lock);
	struct error_entry *e = map_get(&errors, key);
	if (e)
		tree_scalar(out, e->msg);
	pthread_mutex_unlock(&errors_lock);
	free(key);
}

static const struct node_ops error_file_ops = {
	.type = NODE_FILE,
};

/* dir of path into out ("/a/b/c" -> "/a/b"; "/a" -> ""). */
static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n >= len)
		n = len - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

/* Records the outcome of an acting call: the caller's `error` file and
 * the audit log. */
static void outcome(const struct caller *c, const char *path, const struct node *n,
		    const char *host, const char *action, const char *rid,
		    const char *details, int err)
{
	char dir[4096];
	const char *msg = fail_msg[0] ? fail_msg : err ? strerror(-err) : NULL;

	dir_of(path, dir, sizeof(dir));
	error_set(c->uid, dir, err ? msg : NULL);
	if (err)
		log_info("%s %s by uid %u: %s", action, path, (unsigned)c->uid, msg);
	audit_record(c, host, action, n && n->ops->resource ? n->ops->resource : "path",
		     made_id[0] ? made_id : rid && *rid ? rid : path, details,
		     !err ? AUDIT_OK : (err == -EACCES && (fail_denied || !fail_msg[0]))
					? AUDIT_DENIED : AUDIT_FAILED,
		     err, err ? msg : NULL);
	fail_reset();
}

void dirlist_add(struct dirlist *l, const char *name, enum node_type type)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		abort();
	l->v[l->n++].type = type;
}

void dirlist_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	*l = (struct dirlist){ 0 };
}

void node_release(struct node *n)
{
	if (n->host)
		host_put(n->host);
	n->host = NULL;
}

void node_child(struct node *child, const struct node *dir, const struct node_ops *ops)
{
	memset(child, 0, sizeof(*child));
	child->ops = ops;
	child->host = dir->host;
	if (child->host)
		atomic_fetch_add(&child->host->refs, 1);
	memcpy(child->key, dir->key, sizeof(child->key));
}

void tree_scalar(struct buf *out, const char *value)
{
	buf_puts(out, value ? value : "");
	buf_puts(out, "\n");
}

int tree_parse_value(const char *data, size_t len, size_t max, char *out)
{
	if (len && data[len - 1] == '\n')
		len--;
	if (len > max)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' || data[i] == '\0')
			return -EINVAL;
	memcpy(out, data, len);
	out[len] = '\0';
	return 0;
}

/* ---- the root ---------------------------------------------------------- */

static const struct {
	const char *name;
	const struct node_ops *ops;
} root_entries[] = {
	{ "hosts", &hosts_dir_ops },
	{ "containers", &fleet_containers_ops },
	{ "images", &fleet_images_ops },
	{ "swarms", &swarms_dir_ops },
	{ "users", &users_dir_ops },
	{ "audit", &audit_file_ops },
	{ "events", &fleet_events_file_ops },
};

#define N_ROOT (sizeof(root_entries) / sizeof(root_entries[0]))

static int root_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	for (size_t i = 0; i < N_ROOT; i++) {
		if (strcmp(name, root_entries[i].name) == 0) {
			node_child(child, dir, root_entries[i].ops);
			return 0;
		}
	}
	return -ENOENT;
}

static int root_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	enum level lvl = tree_level(c, NULL);

	for (size_t i = 0; i < N_ROOT; i++)
		if (lvl >= root_entries[i].ops->read_level)
			dirlist_add(out, root_entries[i].name, root_entries[i].ops->type);
	return 0;
}

static const struct node_ops root_ops = {
	.type = NODE_DIR,
	.lookup = root_lookup,
	.list = root_list,
};

/* ---- resolution ---------------------------------------------------------- */

static bool may(const struct caller *c, const struct node *n, enum level need)
{
	return need == LEVEL_NONE || tree_level(c, n->host) >= need;
}

/* Walks path from the root.  On success n holds a reference to release. */
static int resolve(const struct caller *c, const char *path, struct node *n)
{
	char name[NAME_MAX_ESCAPED];
	const char *p = path;

	memset(n, 0, sizeof(*n));
	n->ops = &root_ops;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		if (len >= sizeof(name)) {
			node_release(n);
			return -ENAMETOOLONG;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;

		struct node child;
		if (n->ops->error_file && strcmp(name, "error") == 0) {
			/* The caller's own `error` of this directory. */
			while (*p == '/')
				p++;
			n->ops = &error_file_ops;
			if (*p) {
				node_release(n);
				return -ENOTDIR;
			}
			return 0;
		}
		if (!n->ops->lookup) {
			node_release(n);
			return -ENOTDIR;
		}
		memset(&child, 0, sizeof(child));
		int err = n->ops->lookup(c, n, name, &child);
		node_release(n);
		if (err) {
			node_release(&child);
			return err;
		}
		*n = child;
		/* Not allowed to see it is the same as it not being there: a
		 * caller cannot learn which hosts or objects exist. */
		if (!may(c, n, n->ops->read_level)) {
			node_release(n);
			return -ENOENT;
		}
	}
	return 0;
}

static int parent_and_name(const char *path, char *parent, size_t plen, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return -EINVAL;
	if ((size_t)(slash - path) >= plen)
		return -ENAMETOOLONG;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	*name = slash + 1;
	return 0;
}

static void live_size_set(const char *path, size_t size)
{
	pthread_mutex_lock(&live_lock);
	struct live_size *ls = map_get(&live_sizes, path);
	if (!ls) {
		size_t n = strlen(path) + 1;
		ls = malloc(sizeof(*ls) + n);
		if (!ls)
			abort();
		memcpy(ls->path, path, n);
		map_put(&live_sizes, ls->path, ls);
	}
	ls->size = size;
	pthread_mutex_unlock(&live_lock);
}

static size_t live_size_get(const char *path)
{
	size_t size = 0;

	pthread_mutex_lock(&live_lock);
	struct live_size *ls = map_get(&live_sizes, path);
	if (ls)
		size = ls->size;
	pthread_mutex_unlock(&live_lock);
	return size;
}

/* ---- operations ---------------------------------------------------------- */

/* The kind of file n is, without its size; the module's stat error (the
 * object is gone) is returned. */
static int kind_of(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	int err = 0;

	memset(st, 0, sizeof(*st));
	st->type = n->ops->type;
	st->perm = n->ops->type == NODE_DIR ? 0555 : n->ops->type == NODE_LINK ? 0777 :
		   n->ops->write ? 0644 : 0444;
	if (n->ops == &error_file_ops) {
		st->per_caller = true;
		return 0;
	}
	if (n->ops->stat)
		err = n->ops->stat(c, n, st);
	st->stream = n->ops->stream != NULL;
	st->buffered = n->ops->buffered;
	return err;
}

int tree_stat(const struct caller *c, const char *path, struct tree_stat *st)
{
	return tree_stat_content(c, path, st, NULL);
}

int tree_stat_content(const struct caller *c, const char *path, struct tree_stat *st,
		      struct buf *content)
{
	struct node n;
	int err;

	memset(st, 0, sizeof(*st)); /* defined even when it fails */
	err = resolve(c, path, &n);

	if (err)
		return err;
	err = kind_of(c, &n, st);
	if (st->mtime.tv_sec == 0)
		st->mtime = ctx.started;
	if (!err && n.ops == &error_file_ops) {
		struct buf b = BUF_INIT;
		char dir[4096];

		dir_of(path, dir, sizeof(dir));
		error_get(c->uid, dir, &b);
		st->size = b.len;
		buf_free(&b);
	} else if (!err && n.ops->stream) {
		st->live = true;
		st->size = 0;
	} else if (!err && st->type != NODE_DIR) {
		if (st->live) {
			st->size = live_size_get(path);
		} else if (n.ops->read) {
			struct buf b = BUF_INIT;
			err = n.ops->read(c, &n, &b);
			st->size = b.len;
			if (content && !err) {
				struct buf old = *content;

				*content = b;  /* the caller's now */
				b = old;
			}
			buf_free(&b);
			/* A write-only file still exists when it has nothing
			 * to show. */
			if (err == -EACCES && n.ops->write)
				err = 0;
		}
	}
	node_release(&n);
	return err;
}

int tree_list(const struct caller *c, const char *path, struct dirlist *out)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	err = n.ops->list ? n.ops->list(c, &n, out) : -ENOTDIR;
	if (!err && n.ops->error_file && may(c, &n, n.ops->write_level))
		dirlist_add(out, "error", NODE_FILE);
	node_release(&n);
	return err;
}

int tree_read(const struct caller *c, const char *path, struct buf *out)
{
	struct node n;
	struct tree_stat st = { 0 };
	int err = resolve(c, path, &n);

	if (err)
		return err;
	if (n.ops == &error_file_ops) {
		char dir[4096];

		dir_of(path, dir, sizeof(dir));
		error_get(c->uid, dir, out);
	} else if (n.ops->type == NODE_DIR) {
		err = -EISDIR;
	} else if (!n.ops->read) {
		err = -EACCES;
	} else {
		err = n.ops->read(c, &n, out);
	}
	if (!err && n.ops->stat && n.ops->stat(c, &n, &st) == 0 && st.live)
		live_size_set(path, out->len);
	node_release(&n);
	return err;
}

int tree_readlink(const struct caller *c, const char *path, struct buf *out)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	err = n.ops->type == NODE_LINK ? n.ops->read(c, &n, out) : -EINVAL;
	node_release(&n);
	return err;
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The audit's name for a write: a ctl file's command word, "exec", or
 * "set <file>" for an attribute. */
static void write_action(const char *path, const char *data, size_t len, char *out,
			 size_t outlen)
{
	const char *file = base_of(path);

	if (strcmp(file, "ctl") == 0) {
		size_t i = 0;

		while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t'))
			i++;
		if (i < len && data[i] == '{') {
			snprintf(out, outlen, "create"); /* a JSON create body */
			return;
		}
		i = 0;
		while (i < len && i + 1 < outlen && data[i] >= 'a' && data[i] <= 'z')
			i++;
		if (i == 0 || (i < len && data[i] != ' ' && data[i] != '\n'))
			snprintf(out, outlen, "ctl");
		else
			snprintf(out, outlen, "%.*s", (int)i, data);
	} else if (strcmp(file, "exec") == 0) {
		snprintf(out, outlen, "exec");
	} else {
		snprintf(out, outlen, "set %s", file);
	}
}

/* What was written, as one printable line for the audit log. */
static void write_details(const struct node_ops *ops, const char *data, size_t len,
			  char *out, size_t outlen)
{
	size_t o = 0;

	if (ops && ops->secret) {
		snprintf(out, outlen, "(secret, %zu bytes)", len);
		return;
	}
	if (len && data[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len && o + 4 < outlen; i++) {
		unsigned char ch = (unsigned char)data[i];
		if (ch >= 0x20 && ch != 0x7f) {
			out[o++] = (char)ch;
		} else {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
		}
	}
	if (o + 4 >= outlen && outlen > 4)
		memcpy(out + outlen - 4, "...", 4), o = outlen - 1;
	out[o < outlen ? o : outlen - 1] = '\0';
}

int tree_open(const struct caller *c, const char *path, bool for_write, struct tree_stat *st)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	if (st)
		(void)kind_of(c, &n, st); /* a vanished object fails at read */
	if (n.ops->type == NODE_DIR && for_write)
		err = -EISDIR;
	else if (for_write && !n.ops->write)
		err = -EACCES;
	else if (for_write && !may(c, &n, n.ops->write_level)) {
		/* Refused before anything is written: on record all the same. */
		char action[64];

		snprintf(action, sizeof(action), "open %s", base_of(path));
		err = tree_deny("%s needs the %s level", base_of(path),
				level_name(n.ops->write_level));
		outcome(c, path, &n, n.host ? n.host->name : NULL, action, n.key, "", err);
	}
	node_release(&n);
	return err;
}

int tree_write(const struct caller *c, const char *path, const char *data, size_t len,
	       struct buf *out)
{
	char action[64], details[1024];
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	fail_reset();
	write_action(path, data, len, action, sizeof(action));
	write_details(n.ops, data, len, details, sizeof(details));
	if (!n.ops->write)
		err = tree_deny("%s is not writable", base_of(path));
	else if (!may(c, &n, n.ops->write_level))
		err = tree_deny("%s needs the %s level", base_of(path),
				level_name(n.ops->write_level));
	else
		err = n.ops->write(c, &n, data, len, out);
	outcome(c, path, &n, n.host ? n.host->name : NULL, action, n.key, details, err);
	node_release(&n);
	return err;
}

int tree_stream(const struct caller *c, const char *path, struct stream *s)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	err = n.ops->stream ? n.ops->stream(c, &n, s) : -EINVAL;
	node_release(&n);
	return err;
}

enum dir_op { OP_MKDIR, OP_RMDIR, OP_UNLINK };

static int dir_op(const struct caller *c, const char *path, enum dir_op op)
{
	static const char *const names[] = { "mkdir", "rmdir", "unlink" };
	char parent[4096];
	const char *name;
	struct node dir, target = { 0 };
	int err = parent_and_name(path, parent, sizeof(parent), &name);

	if (err)
		return err;
	err = resolve(c, parent, &dir);
	if (err)
		return err;
	fail_reset();
	if (op != OP_MKDIR) {
		/* The level is the target's: a host admin may remove a host. */
		err = resolve(c, path, &target);
		if (err) {
			node_release(&dir);
			return err;
		}
	}
	int (*fn)(const struct caller *, const struct node *, const char *) =
		op == OP_MKDIR ? dir.ops->mkdir : op == OP_RMDIR ? dir.ops->rmdir : dir.ops->unlink;
	enum level need = op == OP_MKDIR ? dir.ops->write_level
			  : target.ops->remove_level ? target.ops->remove_level : LEVEL_ADMIN;
	const struct node *subject = op == OP_MKDIR ? &dir : &target;

	if (!fn)
		err = op == OP_MKDIR ? -EACCES : -EPERM;
	else if (!may(c, subject, need))
		err = tree_deny("%s needs the %s level", names[op], level_name(need));
	else
		err = fn(c, &dir, name);
	/* Only acts are on record: a directory that has no such operation
	 * refuses like any filesystem would. */
	if (fn) {
		const char *host = dir.host ? dir.host->name : dir.ops == &hosts_dir_ops ? name : NULL;
		outcome(c, path, subject, host, names[op], name, "", err);
	}
	node_release(&target);
	node_release(&dir);
	return err;
}

int tree_mkdir(const struct caller *c, const char *path)
{
	return dir_op(c, path, OP_MKDIR);
}

int tree_rmdir(const struct caller *c, const char *path)
{
	return dir_op(c, path, OP_RMDIR);
}

int tree_unlink(const struct caller *c, const char *path)
{
	return dir_op(c, path, OP_UNLINK);
}

int tree_create(const struct caller *c, const char *path)
{
	char parent[4096];
	const char *name;
	struct node dir;
	int err = parent_and_name(path, parent, sizeof(parent), &name);

	if (err)
		return err;
	err = resolve(c, parent, &dir);
	if (err)
		return err;
	if (!dir.ops->create)
		err = -EACCES;
	else if (!may(c, &dir, dir.ops->write_level))
		err = -EACCES;
	else
		err = dir.ops->create(c, &dir, name);
	node_release(&dir);
	return err ? err : tree_open(c, path, true, NULL);
}
