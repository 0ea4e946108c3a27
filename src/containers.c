/* containers.c - M/hosts/<host>/containers/<name>/.
 *
 * Scalars come from the host's model (no network); inspect.json, logs and
 * stats.json are fetched from the engine when opened.  A container is found
 * by name, full id or unique short id; `ls` shows names.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmdline.h"
#include "docker.h"
#include "follow.h"
#include "log.h"
#include "model.h"
#include "format.h"
#include "names.h"
#include "objects.h"
#include "stream.h"
#include "tree.h"

#define LOG_TAIL_LINES 1000      /* logs */
#define FOLLOW_TAIL_LINES 10     /* logs.follow: like tail -f */
#define FOLLOW_BUFFER (1 << 20)  /* unread bytes a follower may hold */
#define EXEC_OUTPUT_MAX (4 << 20)
#define SPEC_MAX (256 << 10)     /* a JSON create body */
#define API_PATH_MAX 640         /* an API path with an id and a name */

long containers_exec_timeout_ms = 60000;

extern const struct node_ops container_dir_ops, container_file_ops, container_live_ops,
	container_logs_ops, container_follow_ops, container_name_ops, container_ctl_ops,
	container_exec_ops, containers_ctl_ops, labels_dir_ops, label_file_ops;

struct container_attr {
	const char *name;
	const struct node_ops *ops;
	bool detail;   /* needs the inspect, not only the list entry */
	void (*show)(const struct container *c, struct buf *out);
	/* live files: fetched when opened (n->sub: the file's name) */
	int (*fetch)(const struct node *n, bool tty, struct buf *out);
};

static void show_id(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->id);
}

static void show_name(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->name);
}

static void show_image(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->image);
}

static void show_state(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->state);
}

static void show_status(const struct container *c, struct buf *out)
{
	format_container_status(&c->cs, time(NULL), out);
	buf_puts(out, "\n");
}

static void show_health(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->health[0] ? c->health : "none");
}

static void show_created(const struct container *c, struct buf *out)
{
	tree_scalar(out, c->created);
}

static void show_exit_code(const struct container *c, struct buf *out)
{
	buf_printf(out, "%d\n", c->cs.exit_code);
}

static void show_pid(const struct container *c, struct buf *out)
{
	buf_printf(out, "%d\n", c->pid);
}

static void show_ports(const struct container *c, struct buf *out)
{
	buf_puts(out, c->ports ? c->ports : "");
}

static int fetch_inspect(const struct node *n, bool tty, struct buf *out)
{
	char path[API_PATH_MAX];
	int err = docker_path(path, sizeof(path), "/containers/%s/json", n->key);

	return err ? err : host_fetch_json(n->host, path, out);
}

static int fetch_stats(const struct node *n, bool tty, struct buf *out)
{
	char path[API_PATH_MAX];
	/* one-shot: answers at once instead of sampling for a second. */
	int err = docker_path(path, sizeof(path), "/containers/%s/stats?stream=false&one-shot=true",
			      n->key);

	return err ? err : host_fetch_json(n->host, path, out);
}

/* ---- logs ------------------------------------------------------------------
 *
 * logs, logs.follow, and variants by name: logs@OPTS, logs.follow@OPTS with
 * OPTS a comma-separated list of tail=N|all, timestamps, stdout, stderr,
 * since=UNIX_SECONDS.
 */

struct logs_opts {
	bool follow;
	long tail;              /* -1: all */
	bool timestamps;
	bool out, err;          /* which streams */
	long since;
};

static int parse_logs_name(const char *name, struct logs_opts *o)
{
	const char *at;

	*o = (struct logs_opts){ .tail = LOG_TAIL_LINES, .out = true, .err = true };
	if (strncmp(name, "logs.follow", 11) == 0) {
		o->follow = true;
		o->tail = FOLLOW_TAIL_LINES;
		at = name + 11;
	} else if (strncmp(name, "logs", 4) == 0) {
		at = name + 4;
	} else {
		return -ENOENT;
	}
	if (!*at)
		return 0;
	if (*at != '@' || !at[1])
		return -ENOENT;
	bool only_out = false, only_err = false;
	char opts[NAME_MAX_ESCAPED], *p = opts, *tok, *end;
	snprintf(opts, sizeof(opts), "%s", at + 1);
	while ((tok = strsep(&p, ","))) {
		if (strncmp(tok, "tail=", 5) == 0) {
			if (strcmp(tok + 5, "all") == 0) {
				o->tail = -1;
				continue;
			}
			o->tail = strtol(tok + 5, &end, 10);
			if (end == tok + 5 || *end || o->tail < 0)
				return -ENOENT;
		} else if (strncmp(tok, "since=", 6) == 0) {
			o->since = strtol(tok + 6, &end, 10);
			if (end == tok + 6 || *end || o->since < 0)
				return -ENOENT;
		} else if (strcmp(tok, "timestamps") == 0) {
			o->timestamps = true;
		} else if (strcmp(tok, "stdout") == 0) {
			only_out = true;
		} else if (strcmp(tok, "stderr") == 0) {
			only_err = true;
		} else {
			return -ENOENT;
		}
	}
	if (only_out != only_err) {
		o->out = only_out;
		o->err = only_err;
	}
	return 0;
}

static int logs_path(const char *id, const struct logs_opts *o, char *path, size_t len)
{
	char tail[24];

	if (o->tail < 0)
		snprintf(tail, sizeof(tail), "all");
	else
		snprintf(tail, sizeof(tail), "%ld", o->tail);
	return docker_path(path, len, "/containers/%s/logs?stdout=%d&stderr=%d&tail=%s"
			   "&timestamps=%d&since=%ld&follow=%d", id, o->out, o->err, tail,
			   o->timestamps, o->since, o->follow);
}

static int fetch_logs(const struct node *n, bool tty, struct buf *out)
{
	char path[API_PATH_MAX];
	struct logs_opts o;
	struct docker_call call = { .path = path };
	struct docker_reply r;
	int err;

	if (parse_logs_name(n->sub, &o))
		return -ENOENT;
	err = logs_path(n->key, &o, path, sizeof(path));
	if (err)
		return err;
	err = host_call(n->host, &call, &r);
	if (!err && r.body.len) {
		/* Without a tty the engine multiplexes stdout and stderr. */
		if (tty)
			buf_append(out, r.body.data, r.body.len);
		else
			docker_demux(r.body.data, r.body.len, out);
	}
	if (err)
		err = tree_fail(err, "%s", r.message);
	docker_reply_free(&r);
	return err;
}

struct tty_ctx {
	bool tty;
};

static void get_tty(const struct container *ct, void *arg);

static int with_container(const struct node *n, void (*fn)(const struct container *, void *),
			  void *arg);

static int container_follow(const struct caller *c, const struct node *n, struct stream *s)
{
	char path[API_PATH_MAX];
	struct logs_opts o;
	struct tty_ctx t = { false };
	int err;

	if (parse_logs_name(n->sub, &o))
		return -ENOENT;
	err = with_container(n, get_tty, &t);
	if (err)
		return err;
	err = logs_path(n->key, &o, path, sizeof(path));
	return err ? err : follow_start(n->host, path, t.tty, NULL, s);
}

static const struct container_attr container_attrs[] = {
	{ "ctl", &container_ctl_ops, false, NULL, NULL },
	{ "exec", &container_exec_ops, false, NULL, NULL },
	{ "id", &container_file_ops, false, show_id, NULL },
	{ "name", &container_name_ops, false, show_name, NULL },
	{ "image", &container_file_ops, false, show_image, NULL },
	{ "state", &container_file_ops, false, show_state, NULL },
	{ "status", &container_file_ops, true, show_status, NULL },
	{ "health", &container_file_ops, true, show_health, NULL },
	{ "created", &container_file_ops, false, show_created, NULL },
	{ "exit_code", &container_file_ops, true, show_exit_code, NULL },
	{ "pid", &container_file_ops, true, show_pid, NULL },
	{ "ports", &container_file_ops, true, show_ports, NULL },
	{ "inspect.json", &container_live_ops, false, NULL, fetch_inspect },
	{ "logs", &container_logs_ops, false, NULL, fetch_logs },
	{ "logs.follow", &container_follow_ops, false, NULL, NULL },
	{ "stats.json", &container_live_ops, false, NULL, fetch_stats },
};

#define N_ATTRS (sizeof(container_attrs) / sizeof(container_attrs[0]))

static const struct container_attr *attr_named(const char *name)
{
	for (size_t i = 0; i < N_ATTRS; i++)
		if (strcmp(container_attrs[i].name, name) == 0)
			return &container_attrs[i];
	return NULL;
}

/* ---- containers/ --------------------------------------------------------- */

static int containers_lookup(const struct caller *c, const struct node *dir, const char *name,
			     struct node *child)
{
	struct host *h = dir->host;
	int err = 0;

	if (strcmp(name, COLLECTION_CTL) == 0) {
		node_child(child, dir, &containers_ctl_ops);
		return 0;
	}
	pthread_rwlock_rdlock(&h->lock);
	struct container *ct = host_container_find(h, name);
	if (ct) {
		node_child(child, dir, &container_dir_ops);
		snprintf(child->key, sizeof(child->key), "%s", ct->id);
	} else {
		err = -ENOENT;
	}
	pthread_rwlock_unlock(&h->lock);
	return err;
}

static void list_cb(const char *name, void *v, void *arg)
{
	const struct container *ct = v;

	dirlist_add_ident(arg, name, NODE_DIR, tree_ident(ct->id));
}

static int containers_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	if (tree_level(c, dir->host) >= containers_ctl_ops.read_level)
		dirlist_add(out, COLLECTION_CTL, NODE_FILE);
	host_wait_listed(dir->host);
	pthread_rwlock_rdlock(&dir->host->lock);
	map_foreach(&dir->host->container_names, list_cb, out);
	pthread_rwlock_unlock(&dir->host->lock);
	return 0;
}

static int containers_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	st->mtime = n->host->changed[OBJ_KINDS];
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

const struct node_ops containers_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.error_file = true,
	.lookup = containers_lookup,
	.list = containers_list,
	.stat = containers_stat,
};

/* ---- containers/<name>/ -------------------------------------------------- */

/* Runs fn on the container of node n under the host's read lock. */
static int with_container(const struct node *n, void (*fn)(const struct container *, void *),
			  void *arg)
{
	int err = 0;

	pthread_rwlock_rdlock(&n->host->lock);
	struct container *ct = map_get(&n->host->containers, n->key);
	if (ct)
		fn(ct, arg);
	else
		err = -ENOENT;
	pthread_rwlock_unlock(&n->host->lock);
	return err;
}

static void get_mtime(const struct container *ct, void *arg)
{
	*(struct timespec *)arg = ct->changed_ts;
}

static int container_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	const struct container_attr *a = n->attr;

	if (a && a->fetch)
		st->live = true;
	st->ident = tree_ident(n->key);   /* the container's id */
	return with_container(n, get_mtime, &st->mtime);
}

static int container_lookup(const struct caller *c, const struct node *dir, const char *name,
			    struct node *child)
{
	struct logs_opts o;

	if (strcmp(name, "labels") == 0) {
		node_child(child, dir, &labels_dir_ops);
		return 0;
	}
	if (strncmp(name, "logs", 4) == 0 && parse_logs_name(name, &o) == 0) {
		node_child(child, dir, o.follow ? &container_follow_ops : &container_logs_ops);
		child->attr = attr_named("logs");
		snprintf(child->sub, sizeof(child->sub), "%s", name);
		return 0;
	}
	for (size_t i = 0; i < N_ATTRS; i++) {
		if (strcmp(name, container_attrs[i].name) == 0) {
			node_child(child, dir, container_attrs[i].ops);
			child->attr = &container_attrs[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int container_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	enum level lvl = tree_level(c, dir->host);

	/* Stream files are reachable by name but not listed: a recursive
	 * grep or find must never block on a file that never ends. */
	for (size_t i = 0; i < N_ATTRS; i++)
		if (lvl >= container_attrs[i].ops->read_level && !container_attrs[i].ops->stream)
			dirlist_add(out, container_attrs[i].name, NODE_FILE);
	dirlist_add(out, "labels", NODE_DIR);
	return 0;
}

const struct node_ops container_dir_ops = {
	.type = NODE_DIR,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.error_file = true,
	.lookup = container_lookup,
	.list = container_list,
	.stat = container_stat,
};

struct show_ctx {
	const struct container_attr *attr;
	struct buf *out;
	bool tty;
};

static void show_cb(const struct container *ct, void *arg)
{
	struct show_ctx *sc = arg;

	if (sc->attr->show)
		sc->attr->show(ct, sc->out);
	sc->tty = ct->tty;
}

static int container_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const struct container_attr *a = n->attr;
	struct show_ctx sc = { a, out, false };
	int err;

	if (a->detail) {
		err = host_container_detail(n->host, n->key);
		if (err)
			return err;
	}
	err = with_container(n, show_cb, &sc);
	if (!err && a->fetch)
		err = a->fetch(n, sc.tty, out);
	return err;
}

const struct node_ops container_file_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.stat = container_stat,
	.read = container_file_read,
};

const struct node_ops container_live_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.stat = container_stat,
	.read = container_file_read,
};

/* Logs can tell what a program printed, secrets included: operator level,
 * as in the plan. */
const struct node_ops container_logs_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_OPERATOR,
	.stat = container_stat,
	.read = container_file_read,
};

/* ---- containers/<name>/labels/ ------------------------------------------- */

static void list_labels(const struct container *ct, void *arg)
{
	const char *p = ct->labels, *end = ct->labels + ct->labels_len;
	char file[NAME_MAX_ESCAPED];

	while (p < end) {
		const char *v = p + strlen(p) + 1;
		if (name_escape(p, file, sizeof(file)) >= 0 && file[0] && strcmp(file, ".") &&
		    strcmp(file, ".."))
			dirlist_add(arg, file, NODE_FILE);
		p = v + strlen(v) + 1;
	}
}

static int labels_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	return with_container(dir, list_labels, out);
}

struct label_ctx {
	const char *key;
	bool found;
	struct buf *out;
};

static void find_label(const struct container *ct, void *arg)
{
	struct label_ctx *lc = arg;
	const char *v = container_label(ct, lc->key);

	lc->found = v != NULL;
	if (v && lc->out)
		tree_scalar(lc->out, v);
}

static int labels_lookup(const struct caller *c, const struct node *dir, const char *name,
			 struct node *child)
{
	char key[NAME_MAX_ESCAPED];
	struct label_ctx lc = { key, false, NULL };
	int err = name_unescape(name, key, sizeof(key));

	if (err < 0)
		return -ENOENT;
	err = with_container(dir, find_label, &lc);
	if (err)
		return err;
	if (!lc.found)
		return -ENOENT;
	node_child(child, dir, &label_file_ops);
	snprintf(child->sub, sizeof(child->sub), "%s", key);
	return 0;
}

const struct node_ops labels_dir_ops = {
	.type = NODE_DIR,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.lookup = labels_lookup,
	.list = labels_list,
	.stat = container_stat,
};

static int label_read(const struct caller *c, const struct node *n, struct buf *out)
{
	struct label_ctx lc = { n->sub, false, out };
	int err = with_container(n, find_label, &lc);

	return err ? err : lc.found ? 0 : -ENOENT;
}

const struct node_ops label_file_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.stat = container_stat,
	.read = label_read,
};

const struct node_ops container_follow_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_OPERATOR,
	.stat = container_stat,
	.stream = container_follow,
};

static void get_tty(const struct container *ct, void *arg)
{
	((struct tty_ctx *)arg)->tty = ct->tty;
}

/* ---- actions --------------------------------------------------------------- */

/* One call to the engine for an action; its message becomes the caller's
 * `error` on failure. */
static int act(struct host *h, const char *method, const char *path, const char *body,
	       long timeout_ms, bool create, struct buf *answer)
{
	struct docker_call call = {
		.method = method, .path = path, .body = body,
		.timeout_ms = timeout_ms, .create = create,
	};
	struct docker_reply r;
	int err = host_call(h, &call, &r);

	if (err)
		err = tree_fail(err, "%s", r.message);
	else if (answer)
		buf_append(answer, r.body.data ? r.body.data : "", r.body.len);
	docker_reply_free(&r);
	return err;
}

/* The read after an action must already see it: inspect again before the
 * write returns (the event that follows finds nothing new), within what is
 * left of the write's budget (docker.h).  Not after an action that got no
 * answer: the engine is away or hung, and its events will tell. */
static void settle(struct host *h, const char *id, int action_err)
{
	if (action_err == -ETIMEDOUT || action_err == -EHOSTDOWN || action_err == -EINTR)
		return;
	host_container_refresh(h, id);
}

static bool parse_seconds(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return !errno && end != s && !*end && *out >= 0 && *out <= 86400;
}

/* What `docker kill -s` takes: 1..64, or a name with or without SIG
 * (KILL, SIGHUP, SIGUSR1, RTMIN+3, SIGRTMAX-2), upper case. */
static bool valid_signal(const char *s)
{
	size_t n = strlen(s);
	const char *p = s;

	if (!n || n > 16)
		return false;
	if (isdigit((unsigned char)s[0])) {
		long v;
		return parse_seconds(s, &v) && v >= 1 && v <= 64;
	}
	if (!strncmp(p, "SIG", 3))
		p += 3;
	if (!isupper((unsigned char)*p))
		return false;
	while (isupper((unsigned char)*p) || isdigit((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return !*p;
}

static const char ctl_usage[] =
	"start\n"
	"stop [SECONDS]\n"
	"restart [SECONDS]\n"
	"kill [SIGNAL]\n"
	"pause\n"
	"unpause\n"
	"rm [force]\n";

static int ctl_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, ctl_usage);
	return 0;
}

static int ctl_write(const struct caller *c, const struct node *n, const char *data, size_t len,
		     struct buf *out)
{
	struct argv a;
	char path[API_PATH_MAX];
	const char *method = "POST";
	long secs = -1, timeout = 0;
	int err = cmdline_split(data, len, &a);

	if (err)
		return tree_fail(-EINVAL, "one command a write: %s", "see `cat ctl`");
	const char *verb = a.n ? a.v[0] : "", *arg = a.n > 1 ? a.v[1] : NULL;
	err = -EINVAL;
	if (a.n > 2)
		goto bad;
	if (!strcmp(verb, "start") || !strcmp(verb, "pause") || !strcmp(verb, "unpause")) {
		if (arg)
			goto bad;
		err = docker_path(path, sizeof(path), "/containers/%s/%s", n->key, verb);
	} else if (!strcmp(verb, "stop") || !strcmp(verb, "restart")) {
		if (arg && !parse_seconds(arg, &secs))
			goto bad;
		if (secs >= 0)
			err = docker_path(path, sizeof(path), "/containers/%s/%s?t=%ld", n->key, verb,
					  secs);
		else
			err = docker_path(path, sizeof(path), "/containers/%s/%s", n->key, verb);
		/* The engine waits up to the grace period, 10 s by default. */
		timeout = ((secs >= 0 ? secs : 10) + 20) * 1000L;
	} else if (!strcmp(verb, "kill")) {
		if (arg && !valid_signal(arg)) {
			argv_free(&a);
			return tree_fail(-EINVAL, "not a signal: a number 1-64 or a name such as "
					 "KILL, SIGTERM, SIGRTMIN+3 (upper case)");
		}
		/* "SIGRTMIN+3": the '+' reaches the engine as %2B, not a space. */
		err = docker_path(path, sizeof(path), "/containers/%s/kill?signal=%s", n->key,
				  arg ? arg : "KILL");
	} else if (!strcmp(verb, "rm")) {
		if (arg && strcmp(arg, "force"))
			goto bad;
		method = "DELETE";
		err = docker_path(path, sizeof(path), "/containers/%s?force=%d", n->key,
				  arg != NULL);
		timeout = 30000;
	} else {
		goto bad;
	}
	argv_free(&a);
	if (err)
		return tree_fail(err, "cannot name container %s in an API path", n->key);
	/* The verb's deadline is the whole write's, settle included. */
	docker_budget_begin(timeout ? timeout : DOCKER_DEFAULT_TIMEOUT_MS);
	err = act(n->host, method, path, NULL, timeout, false, NULL);
	settle(n->host, n->key, err);
	return err;
bad:
	argv_free(&a);
	return tree_fail(err, "unknown command or bad argument: commands are start, stop "
			 "[SECONDS], restart [SECONDS], kill [SIGNAL], pause, unpause, rm [force]");
}

const struct node_ops container_ctl_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = container_stat,
	.read = ctl_read,
	.write = ctl_write,
};

/* Docker's own rule for container names (names.h). */
static bool valid_container_name(const char *s)
{
	return name_object_valid(s);
}

static int name_write(const struct caller *c, const struct node *n, const char *data,
		      size_t len, struct buf *out)
{
	char name[160], path[API_PATH_MAX];
	int err = tree_parse_value(data, len, 128, name);

	if (err || !valid_container_name(name))
		return tree_fail(-EINVAL, "container names are [a-zA-Z0-9][a-zA-Z0-9_.-]*");
	err = docker_path(path, sizeof(path), "/containers/%s/rename?name=%s", n->key, name);
	if (err)
		return tree_fail(err, "cannot name container %s in an API path", n->key);
	docker_budget_begin(DOCKER_DEFAULT_TIMEOUT_MS);
	err = act(n->host, "POST", path, NULL, 0, true, NULL);
	settle(n->host, n->key, err);
	return err;
}

const struct node_ops container_name_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.stat = container_stat,
	.read = container_file_read,
	.write = name_write,
};

/* ---- exec ------------------------------------------------------------------ */

/* Each user's last exec result per container, for a later `cat exec`
 * ("uid:host:id" -> output).  The writer's own open file has its own copy. */
static pthread_mutex_t results_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map results = MAP_INIT;

struct exec_result {
	char *text;
	char key[];
};

static void result_key(const struct caller *c, const struct node *n, char *key, size_t len)
{
	snprintf(key, len, "%u:%s:%s", (unsigned)c->uid, n->host->name, n->key);
}

static void result_put(const struct caller *c, const struct node *n, const struct buf *b)
{
	char key[API_PATH_MAX];
	struct exec_result *r;

	result_key(c, n, key, sizeof(key));
	r = malloc(sizeof(*r) + strlen(key) + 1);
	if (!r || !(r->text = strdup(b->data ? b->data : "")))
		abort();
	strcpy(r->key, key);
	pthread_mutex_lock(&results_lock);
	struct exec_result *old = map_put(&results, r->key, r);
	pthread_mutex_unlock(&results_lock);
	if (old) {
		free(old->text);
		free(old);
	}
}

static int exec_read(const struct caller *c, const struct node *n, struct buf *out)
{
	char key[API_PATH_MAX];

	result_key(c, n, key, sizeof(key));
	pthread_mutex_lock(&results_lock);
	struct exec_result *r = map_get(&results, key);
	if (r)
		buf_puts(out, r->text);
	pthread_mutex_unlock(&results_lock);
	return 0;
}

/* Below admin, exec only into containers an operator could have made:
 * a shell in a privileged or host-bound container is root on the machine. */
static int judge_exec(const struct caller *c, const struct node *n)
{
	struct allowlist_resolver r;
	struct buf answer = BUF_INIT;
	char path[API_PATH_MAX], why[512];
	json_t *inspect = NULL;
	int err;

	if (tree_level(c, n->host) >= LEVEL_ADMIN)
		return 0;
	err = docker_path(path, sizeof(path), "/containers/%s/json", n->key);
	if (err)
		return tree_fail(err, "bad container id");
	err = act(n->host, "GET", path, NULL, 0, false, &answer);
	if (!err) {
		inspect = json_loadb(answer.data ? answer.data : "", answer.len, 0, NULL);
		objects_resolver(n->host, &r);
		err = allowlist_judge_container(inspect, &r, why, sizeof(why));
		if (err)
			err = err == -EACCES ? tree_deny("exec: %s", why) : tree_fail(err, "%s", why);
	}
	json_decref(inspect);
	buf_free(&answer);
	return err;
}

static int exec_write(const struct caller *c, const struct node *n, const char *data, size_t len,
		      struct buf *out)
{
	struct argv a;
	struct buf answer = BUF_INIT, output = BUF_INIT;
	char path[API_PATH_MAX], eid[80];
	json_t *j = NULL;
	int err = cmdline_split(data, len, &a);

	if (err || a.n == 0) {
		if (!err)
			argv_free(&a);
		return tree_fail(-EINVAL, "write one command line (split like a shell does, "
				 "not run through one)");
	}
	/* exec_timeout bounds the whole exec: the judging inspect, the
	 * exec's creation, its run and its exit code. */
	docker_budget_begin(containers_exec_timeout_ms);
	err = judge_exec(c, n);
	if (err) {
		argv_free(&a);
		return err;
	}
	json_t *cmd = json_array();
	for (int i = 0; i < a.n && cmd; i++) {
		/* NULL for a word that is not UTF-8: never run what is left */
		if (json_array_append_new(cmd, json_string(a.v[i]))) {
			json_decref(cmd);
			cmd = NULL;
		}
	}
	argv_free(&a);
	if (!cmd)
		return tree_fail(-EINVAL, "exec: a word that is not UTF-8 text cannot be sent");
	json_t *body = json_pack("{s:b, s:b, s:o}", "AttachStdout", 1, "AttachStderr", 1, "Cmd", cmd);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	err = docker_path(path, sizeof(path), "/containers/%s/exec", n->key);
	if (err)
		err = tree_fail(err, "cannot name container %s in an API path", n->key);
	else
		err = act(n->host, "POST", path, text, 0, false, &answer);
	free(text);
	if (err)
		goto out;
	j = json_loadb(answer.data, answer.len, 0, NULL);
	snprintf(eid, sizeof(eid), "%s", json_string_value(json_object_get(j, "Id")) ?: "");
	json_decref(j);
	if (!eid[0]) {
		err = tree_fail(-EIO, "the engine gave no exec id");
		goto out;
	}
	buf_reset(&answer);
	if (docker_path(path, sizeof(path), "/exec/%s/start", eid)) {
		err = tree_fail(-EIO, "the engine gave an exec id that names no object: %s", eid);
		goto out;
	}
	err = act(n->host, "POST", path, "{\"Detach\":false,\"Tty\":false}",
		  containers_exec_timeout_ms, false, &answer);
	if (err)
		goto out;
	docker_demux(answer.data ? answer.data : "", answer.len, &output);
	if (output.len > EXEC_OUTPUT_MAX) {
		output.len = EXEC_OUTPUT_MAX;
		output.data[output.len] = '\0';
		buf_puts(&output, "\n[dockfs: output cut]\n");
	}
	buf_reset(&answer);
	if (docker_path(path, sizeof(path), "/exec/%s/json", eid)) {
		err = -EIO;   /* cannot be: the same eid made the start's path */
		goto out;
	}
	err = act(n->host, "GET", path, NULL, 0, false, &answer);
	if (err)
		goto out;
	j = json_loadb(answer.data, answer.len, 0, NULL);
	json_t *code = json_object_get(j, "ExitCode");
	if (output.len && output.data[output.len - 1] != '\n')
		buf_puts(&output, "\n");
	if (json_is_integer(code))
		buf_printf(&output, "[exit %lld]\n", (long long)json_integer_value(code));
	else
		buf_puts(&output, "[exit unknown]\n");
	json_decref(j);
	result_put(c, n, &output);
	if (out)
		buf_append(out, output.data, output.len);
out:
	buf_free(&answer);
	buf_free(&output);
	return err;
}

static int exec_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	int err = container_stat(c, n, st);

	st->live = false; /* size: the caller's last result, computed by read */
	st->per_caller = true;
	return err;
}

const struct node_ops container_exec_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_OPERATOR,
	.write_level = LEVEL_OPERATOR,
	.stat = exec_stat,
	.read = exec_read,
	.write = exec_write,
};

/* ---- containers/.ctl: create and run ---------------------------------------- */

static const char create_usage[] =
	"create [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
	"run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
	"{ ...the Docker API's create body, with \"Name\"... }\n"
	"OPTIONS: docker run's, with its syntax (-dit, --opt=value, --bool=false):\n"
	"  --name NAME, -e/--env K=V, -l/--label K=V, --restart POLICY, --rm, -d, -i, -t,\n"
	"  -p/--publish [IP:][HOSTPORT:]PORT[/PROTO], -P, --expose PORT[-END][/PROTO],\n"
	"  -w/--workdir DIR, -u/--user USER, --entrypoint CMD, -h/--hostname NAME,\n"
	"  --domainname NAME, --network NAME, --network-alias A, --ip IP, --ip6 IP,\n"
	"  -v/--volume SRC:DST[:ro] or DST, --mount type=T,source=S,target=D[,...],\n"
	"  --tmpfs PATH[:OPTS], -m/--memory SIZE, --memory-swap SIZE,\n"
	"  --memory-reservation SIZE, --memory-swappiness N, --cpus N, -c/--cpu-shares N,\n"
	"  --cpu-period N, --cpu-quota N, --cpuset-cpus L, --cpuset-mems L, --blkio-weight N,\n"
	"  --pids-limit N, --shm-size SIZE, --health-cmd CMD, --health-interval D,\n"
	"  --health-timeout D, --health-retries N, --health-start-period D,\n"
	"  --health-start-interval D, --no-healthcheck, --log-driver D, --log-opt K=V,\n"
	"  --add-host HOST:IP, --dns IP, --dns-option OPT, --dns-search DOMAIN,\n"
	"  --ulimit NAME=SOFT[:HARD], --stop-signal SIG, --stop-timeout N, --read-only,\n"
	"  --init, --pull missing|never, --cap-drop CAP, --group-add GROUP;\n"
	"  for admins: --privileged, --cap-add CAP, --device PATH, --pid, --ipc, --uts,\n"
	"  --userns, --cgroupns, --security-opt OPT, --sysctl K=V, --oom-score-adj N,\n"
	"  --oom-kill-disable, --cgroup-parent P, --runtime R, --link C, --volumes-from C,\n"
	"  host paths in -v/--mount, log drivers other than json-file, local, journald, none\n"
	"SIZE: 512m, 1g; D: 1m30s, 500ms (see dockfs(5))\n";

/* The label a create without a name carries (dockfs(5)). */
#define REQUEST_LABEL "com.dockfs.request"

/* A random UUID (version 4) for REQUEST_LABEL. */
static void request_id(char *out, size_t len)
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static void add_request_label(json_t *body, const char *request)
{
	json_t *labels = json_object_get(body, "Labels");

	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(body, "Labels", labels);
	}
	json_object_set_new(labels, REQUEST_LABEL, json_string(request));
}

static int create_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, create_usage);
	return 0;
}

static int create_write(const struct caller *c, const struct node *n, const char *data,
			size_t len, struct buf *out)
{
	json_t *body = NULL;
	char *name = NULL, path[API_PATH_MAX], why[256];
	struct buf answer = BUF_INIT;
	bool start = false;
	int err;

	if (len > SPEC_MAX)
		return tree_fail(-EINVAL, "a spec is at most %d bytes", SPEC_MAX);
	size_t skip = 0;
	while (skip < len && (data[skip] == ' ' || data[skip] == '\n' || data[skip] == '\t'))
		skip++;
	if (skip < len && data[skip] == '{') {
		json_error_t je;
		/* Duplicate keys are refused: what is checked must be what the
		 * engine decodes. */
		body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
		/* je is filled only when the parse fails: an array parses. */
		if (!body)
			return tree_fail(-EINVAL, "bad JSON: %s (line %d, column %d)", je.text,
					 je.line, je.column);
		if (!json_is_object(body)) {
			err = tree_fail(-EINVAL, "a create body is a JSON object, not %s",
					format_json_kind(body));
			json_decref(body);
			return err;
		}
		const char *nm = json_string_value(json_object_get(body, "Name"));
		if (nm && !(name = strdup(nm)))
			abort();
		json_object_del(body, "Name");
	} else {
		struct argv a;

		if (cmdline_split(data, len, &a))
			return tree_fail(-EINVAL, "unbalanced quotes or a control byte");
		if (a.n < 1 || (strcmp(a.v[0], "create") && strcmp(a.v[0], "run"))) {
			argv_free(&a);
			return tree_fail(-EINVAL, "commands: create|run [OPTIONS] IMAGE [COMMAND...], "
					 "or a JSON create body");
		}
		start = strcmp(a.v[0], "run") == 0;
		err = cmdline_container_spec(a.n - 1, a.v + 1, &body, &name, why, sizeof(why));
		argv_free(&a);
		if (err)
			return tree_fail(err, "%s", why);
	}
	if (name)
		tree_set_resource(name);
	if (name && !valid_container_name(name)) {
		err = tree_fail(-EINVAL, "container names are [a-zA-Z0-9][a-zA-Z0-9_.-]*");
		goto out;
	}
	/* Below admin the body sent is the one the allowlist writes, whatever
	 * syntax made it. */
	err = objects_judge_body(c, n->host, ALLOW_CONTAINER, &body);
	if (err)
		goto out;
	/* Without a name, a create that times out would leave the user no
	 * way to find what the engine may make later: a label does. */
	char request[40] = "";
	if (!name) {
		request_id(request, sizeof(request));
		add_request_label(body, request);
		char rid[80];
		snprintf(rid, sizeof(rid), "%s=%s", REQUEST_LABEL, request);
		tree_set_resource(rid);
	}
	char *text = json_dumps(body, JSON_COMPACT);
	docker_budget_begin(DOCKER_DEFAULT_TIMEOUT_MS);
	if (name)
		err = docker_path(path, sizeof(path), "/containers/create?name=%s", name);
	else
		err = docker_path(path, sizeof(path), "/containers/create");
	if (!err)
		err = act(n->host, "POST", path, text, 0, true, &answer);
	else
		err = tree_fail(err, "container names are [a-zA-Z0-9][a-zA-Z0-9_.-]*");
	free(text);
	if (err == -ETIMEDOUT && request[0]) {
		char said[400];

		snprintf(said, sizeof(said), "%s", tree_fail_message());
		err = tree_fail(err, "%s; find it by its label: docker ps -a --filter label=%s=%s",
				said, REQUEST_LABEL, request);
	}
	if (err)
		goto out;
	json_t *reply = json_loadb(answer.data, answer.len, 0, NULL);
	char id[80];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(reply, "Id")) ?: "");
	json_decref(reply);
	if (start && id[0]) {
		err = docker_path(path, sizeof(path), "/containers/%s/start", id);
		err = err ? tree_fail(-EIO, "the engine gave an id that names no object: %s", id)
			  : act(n->host, "POST", path, NULL, 0, false, NULL);
	}
	if (id[0]) {
		if (!name)
			tree_set_resource(id);
		settle(n->host, id, err);
		if (out)
			buf_printf(out, "%s\n", id);
	}
out:
	buf_free(&answer);
	json_decref(body);
	free(name);
	return err;
}

const struct node_ops containers_ctl_ops = {
	.type = NODE_FILE,
	.resource = "container",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_OPERATOR,
	.read = create_read,
	.write = create_write,
};
