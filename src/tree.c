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
#include "swarms.h"
#include "text.h"
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

struct prefix_drop {
	const char *prefix;
	size_t len;
	struct dirlist keys;
};

static void live_prefix_cb(const char *path, void *v, void *arg)
{
	struct prefix_drop *pd = arg;

	if (strncmp(path, pd->prefix, pd->len) == 0)
		dirlist_add(&pd->keys, path, NODE_FILE);
}

/* A container changed or went: the sizes of its live files are known no
 * more (the next stat fetches), and a removed one's entries go. */
static void live_on_container(struct host *h, const char *name, enum change c, void *arg)
{
	char prefix[512];
	struct prefix_drop pd = { prefix, 0, { 0 } };

	pd.len = (size_t)snprintf(prefix, sizeof(prefix), "/hosts/%s/containers/%s/", h->name, name);
	if (pd.len >= sizeof(prefix))
		return;
	pthread_mutex_lock(&live_lock);
	map_foreach(&live_sizes, live_prefix_cb, &pd);
	for (size_t i = 0; i < pd.keys.n; i++)
		free(map_del(&live_sizes, pd.keys.v[i].name));
	pthread_mutex_unlock(&live_lock);
	dirlist_free(&pd.keys);
}

void tree_init(const struct tree_ctx *c)
{
	static const struct model_observer o = { .container = live_on_container };

	ctx = *c;
	model_observe(&o);
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
static __thread char *sent_details;   /* tree_set_details(), malloc'd */

void tree_set_resource(const char *id)
{
	snprintf(made_id, sizeof(made_id), "%s", id);
}

void tree_set_details(const char *text)
{
	char *copy = text ? strdup(text) : NULL;

	if (text && !copy)
		abort();
	free(sent_details);
	sent_details = copy;
}

/* fail_msg from fmt; a message cut to fit ends on a whole character
 * (the engine's words are UTF-8, and a cut one would not be). */
static void fail_format(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void fail_format(const char *fmt, va_list ap)
{
	int n = vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);

	if (n >= (int)sizeof(fail_msg))
		fail_msg[text_clip(fail_msg, sizeof(fail_msg) - 1)] = '\0';
}

int tree_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_format(fmt, ap);
	va_end(ap);
	return err;
}

int tree_fail_context(int err, const char *what)
{
	char msg[sizeof(fail_msg)];

	snprintf(msg, sizeof(msg), "%s", fail_msg);
	return tree_fail(err, "%s: %s", what, msg);
}

const char *tree_fail_message(void)
{
	return fail_msg;
}

int tree_deny(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_format(fmt, ap);
	va_end(ap);
	fail_denied = true;
	return -EACCES;
}

static void fail_reset(void)
{
	fail_msg[0] = '\0';
	made_id[0] = '\0';
	fail_denied = false;
	free(sent_details);
	sent_details = NULL;
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
		struct buf text = BUF_INIT;

		/* Printable UTF-8 whatever a message quotes (an engine's
		 * answer, a name): `cat error` never shows a terminal raw
		 * bytes, and a reader parsing it as UTF-8 never fails. */
		text_printable(&text, msg, strlen(msg));
		e = malloc(sizeof(*e) + strlen(key) + 1);
		if (!e)
			abort();
		e->msg = buf_steal(&text);
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

static const char *error_name(const struct node_ops *dir)
{
	return dir->collection ? COLLECTION_ERROR : "error";
}

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
	/* What the module sent instead of what was written; never for a
	 * secret, whose bytes stay out of the log whoever asks. */
	if (sent_details && !(n && n->ops->secret))
		details = sent_details;
	audit_record(c, host, action, n && n->ops->resource ? n->ops->resource : "path",
		     made_id[0] ? made_id : rid && *rid ? rid : path, details,
		     !err ? AUDIT_OK : (err == -EACCES && (fail_denied || !fail_msg[0]))
					? AUDIT_DENIED : AUDIT_FAILED,
		     err, err ? msg : NULL);
	fail_reset();
}

uint64_t tree_ident(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
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
		return tree_fail(-EINVAL, "one line of at most %zu bytes, not %zu", max, len);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			return tree_fail(-EINVAL, "one line: a newline at offset %zu", i);
		if (data[i] == '\r' || data[i] == '\0')
			return tree_fail(-EINVAL, "one line of text: a control character "
					 "(0x%02x) at offset %zu", (unsigned char)data[i], i);
	}
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

/* Walks path from the root.  On success n holds a reference to release,
 * and *gated (may be NULL) says whether the last name needs a level that
 * reaching its directory did not already prove: a level on another host
 * than the directory's, or a higher one on the same host.  The kernel may
 * not keep such a name for all callers (fs.c). */
static int resolve_gated(const struct caller *c, const char *path, struct node *n,
			 bool *gated)
{
	char name[NAME_MAX_ESCAPED];
	const char *p = path;
	/* The strongest read level checked so far on proven_host: compared,
	 * never dereferenced (a parent and its child are alive together
	 * during the lookup, so two hosts never share an address here). */
	const struct host *proven_host = NULL;
	enum level proven = LEVEL_NONE;

	if (gated)
		*gated = false;
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
		if (n->ops->error_file && strcmp(name, error_name(n->ops)) == 0) {
			/* The caller's own `error` of this directory. */
			while (*p == '/')
				p++;
			n->ops = &error_file_ops;
			if (*p) {
				node_release(n);
				return -ENOTDIR;
			}
			if (gated)
				*gated = false;
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
		if (n->host != proven_host) {
			proven_host = n->host;
			proven = LEVEL_NONE;
		}
		if (gated)
			*gated = n->ops->read_level > proven;
		if (n->ops->read_level > proven)
			proven = n->ops->read_level;
	}
	return 0;
}

static int resolve(const struct caller *c, const char *path, struct node *n)
{
	return resolve_gated(c, path, n, NULL);
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

/* Whether a size of path is known (in *size). */
static bool live_size_get(const char *path, size_t *size)
{
	pthread_mutex_lock(&live_lock);
	struct live_size *ls = map_get(&live_sizes, path);
	if (ls)
		*size = ls->size;
	pthread_mutex_unlock(&live_lock);
	return ls != NULL;
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

static int tree_stat_content_in(const struct caller *c, const char *path, struct tree_stat *st,
		      struct buf *content)
{
	struct node n;
	int err;

	bool gated;

	memset(st, 0, sizeof(*st)); /* defined even when it fails */
	err = resolve_gated(c, path, &n, &gated);

	if (err)
		return err;
	err = kind_of(c, &n, st);
	st->gated = gated;
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
			/* Exact before the first open too (tar reads st_size
			 * bytes): fetched now when nothing is known, within the
			 * stat's deadline.  A failed fetch shows 0 and is not
			 * kept: the open that follows says why.  Not for the
			 * private mount (content asked for), which shows live
			 * files as symlinks. */
			if (!live_size_get(path, &st->size) && !content && n.ops->read) {
				struct buf b = BUF_INIT;
				char saved[sizeof(fail_msg)];

				/* A stat is no write: its failure is nobody's
				 * `error`. */
				memcpy(saved, fail_msg, sizeof(saved));
				if (n.ops->read(c, &n, &b) == 0) {
					st->size = b.len;
					live_size_set(path, b.len);
				}
				memcpy(fail_msg, saved, sizeof(saved));
				buf_free(&b);
			}
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

int tree_stat_content(const struct caller *c, const char *path, struct tree_stat *st,
		      struct buf *content)
{
	/* One deadline budget for the whole call (docker.h). */
	bool began = docker_budget_begin(0);
	int err = tree_stat_content_in(c, path, st, content);

	docker_budget_end(began);
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
		dirlist_add(out, error_name(n.ops), NODE_FILE);
	node_release(&n);
	return err;
}

static int tree_read_in(const struct caller *c, const char *path, struct buf *out)
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

int tree_read(const struct caller *c, const char *path, struct buf *out)
{
	/* One deadline budget for the whole call (docker.h). */
	bool began = docker_budget_begin(0);
	int err = tree_read_in(c, path, out);

	docker_budget_end(began);
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

	if (strcmp(file, "ctl") == 0 || strcmp(file, COLLECTION_CTL) == 0) {
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

/* What was written, for the audit log: whole (a write is at most what one
 * FUSE request carries, or a buffered file's GATHER_MAX), as printable
 * text (audit_text), one trailing newline dropped.  A secret only by its
 * size. */
static void write_details(const struct node_ops *ops, const char *data, size_t len,
			  struct buf *out)
{
	if (ops && ops->secret) {
		buf_printf(out, "(secret, %zu bytes)", len);
		return;
	}
	if (len && data[len - 1] == '\n')
		len--;
	audit_text(out, data, len);
}

/* What one write to a file that is not buffered may carry.  The kernel
 * hands a write(2) over in requests of up to 1 MiB (libfuse asks for 256
 * pages), each of which would act on its own: the first request of a
 * larger write is larger than this, so all of it is refused before any
 * part acts.  Above the largest content any file takes (a secret's 500
 * KiB). */
#define WRITE_MAX (512 << 10)

/* The one decision on bytes that are not text (text.h): refused, with
 * where, never dropped or carried half. */
static int not_text(const char *file, const char *data, size_t len)
{
	char why[128];

	text_explain(data, len, why, sizeof(why));
	if (file)
		return tree_fail(-EINVAL, "%s takes UTF-8 text: %s", file, why);
	return tree_fail(-EINVAL, "a name is UTF-8 text: %s", why);
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

static int tree_write_in(const struct caller *c, const char *path, const char *data, size_t len,
	       struct buf *out)
{
	char action[64];
	struct buf details = BUF_INIT;
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	fail_reset();
	write_action(path, data, len, action, sizeof(action));
	write_details(n.ops, data, len, &details);
	if (!n.ops->write)
		err = tree_deny("%s is not writable", base_of(path));
	else if (!may(c, &n, n.ops->write_level))
		err = tree_deny("%s needs the %s level", base_of(path),
				level_name(n.ops->write_level));
	else if (!n.ops->buffered && len > WRITE_MAX)
		err = tree_fail(-EFBIG, "a write to %s is at most %d bytes (%zu written): a "
				"larger one would reach it in parts, each acted on", base_of(path),
				WRITE_MAX, len);
	else if (!n.ops->binary && text_check(data, len, NULL, NULL) != TEXT_OK)
		err = not_text(base_of(path), data, len);
	else
		err = n.ops->write(c, &n, data, len, out);
	outcome(c, path, &n, n.host ? n.host->name : NULL, action, n.key, details.data, err);
	buf_free(&details);
	node_release(&n);
	return err;
}

int tree_write_refused(const struct caller *c, const char *path, int err, const char *fmt, ...)
{
	char action[64];
	struct node n;
	va_list ap;

	if (resolve(c, path, &n))
		return err;
	fail_reset();
	va_start(ap, fmt);
	fail_format(fmt, ap);
	va_end(ap);
	write_action(path, "", 0, action, sizeof(action));
	outcome(c, path, &n, n.host ? n.host->name : NULL, action, n.key, "", err);
	node_release(&n);
	return err;
}

int tree_write(const struct caller *c, const char *path, const char *data, size_t len,
	       struct buf *out)
{
	/* One deadline budget for the whole call (docker.h). */
	bool began = docker_budget_begin(0);
	int err = tree_write_in(c, path, data, len, out);

	docker_budget_end(began);
	return err;
}

static int tree_stream_in(const struct caller *c, const char *path, struct stream *s)
{
	struct node n;
	int err = resolve(c, path, &n);

	if (err)
		return err;
	err = n.ops->stream ? n.ops->stream(c, &n, s) : -EINVAL;
	node_release(&n);
	return err;
}

int tree_stream(const struct caller *c, const char *path, struct stream *s)
{
	/* One deadline budget for the whole call (docker.h). */
	bool began = docker_budget_begin(0);
	int err = tree_stream_in(c, path, s);

	docker_budget_end(began);
	return err;
}

enum dir_op { OP_MKDIR, OP_RMDIR, OP_UNLINK };

static int dir_op_in(const struct caller *c, const char *path, enum dir_op op)
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
	else if (op == OP_MKDIR && text_check(name, strlen(name), NULL, NULL) != TEXT_OK)
		err = not_text(NULL, name, strlen(name));
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

static int dir_op(const struct caller *c, const char *path, enum dir_op op)
{
	/* One deadline budget for the whole call (docker.h). */
	bool began = docker_budget_begin(0);
	int err = dir_op_in(c, path, op);

	docker_budget_end(began);
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

static int tree_create_in(const struct caller *c, const char *path)
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
	fail_reset();
	if (!dir.ops->create) {
		err = -EACCES; /* no directory of this kind makes files: not a decision */
	} else if (!may(c, &dir, dir.ops->write_level)) {
		/* Refused before anything is written: on record, as a refused
		 * open of an existing file is (tree_open). */
		char action[NAME_MAX_ESCAPED + 8];

		snprintf(action, sizeof(action), "open %s", name);
		err = tree_deny("%s needs the %s level", name, level_name(dir.ops->write_level));
		outcome(c, path, &dir, dir.host ? dir.host->name : NULL, action, name, "", err);
	} else if (text_check(name, strlen(name), NULL, NULL) != TEXT_OK) {
		err = not_text(NULL, name, strlen(name));
		if (dir.ops->error_file)
			error_set(c->uid, parent, fail_msg);
		fail_reset();
	} else {
		err = dir.ops->create(c, &dir, name);
		/* A name refused (secrets/"a b") says why in the directory's
		 * `error`; a create only registers a name, so the audit has no
		 * row for it: the write that follows has. */
		if (err && fail_msg[0] && dir.ops->error_file)
			error_set(c->uid, parent, fail_msg);
		fail_reset();
	}
	node_release(&dir);
	return err ? err : tree_open(c, path, true, NULL);
}

int tree_create(const struct caller *c, const char *path)
{
	/* One deadline budget for the whole call (docker.h). */
	bool began = docker_budget_begin(0);
	int err = tree_create_in(c, path);

	docker_budget_end(began);
	return err;
}
