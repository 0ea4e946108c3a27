/* hosts.c - M/hosts/ and M/hosts/<host>/: the registry and each engine's
 * own facts (url, type, status, version, info.json, description, default).
 *
 *   mkdir hosts/NAME          makes a host (pending, in memory, until it has a url)
 *   echo URL > hosts/NAME/url sets or changes where it is; reconnects.  The
 *                             first url registers the host with what was
 *                             written to it before (credentials.c)
 *   rmdir hosts/NAME          forgets it
 *
 * The url decides which engine's root the host's admins hold and where its
 * stored credentials go: changing it is for global admins (a host admin
 * could otherwise point its host at any engine the daemon reaches), and a
 * change drops the credentials and the old engine's model (model.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "format.h"
#include "model.h"
#include "objects.h"
#include "store.h"
#include "swarms.h"
#include "tree.h"

extern const struct node_ops containers_dir_ops;
extern const struct node_ops host_permissions_dir_ops;
extern const struct node_ops cred_dir_ops;

#define URL_MAX 500
#define DESCRIPTION_MAX 1000

struct host_attr {
	const char *name;
	/* Called with the host's read lock held, unless locks_itself. */
	void (*show)(struct host *h, struct buf *out);
	int (*set)(struct host *h, const char *value);
	size_t max;
	bool locks_itself;
};

static void show_url(struct host *h, struct buf *out)
{
	tree_scalar(out, h->conn ? h->conn->url : "");
}

static void show_type(struct host *h, struct buf *out)
{
	tree_scalar(out, h->host_type);
}

/* The word first, so `read s < status` and `head -1` give it; when the
 * engine is away, the reason on the next line. */
static void show_status(struct host *h, struct buf *out)
{
	tree_scalar(out, host_health_name(h->health));
	if (h->health != HOST_HEALTHY && h->last_error)
		tree_scalar(out, h->last_error);
	else if (h->insecure && h->conn && h->conn->kind == CONN_TCP)
		tree_scalar(out, "insecure: plain tcp, no TLS");
}

static void show_insecure(struct host *h, struct buf *out)
{
	tree_scalar(out, h->insecure ? "1" : "0");
}

static void show_last_check(struct host *h, struct buf *out)
{
	char when[64] = "";
	struct tm tm;

	if (h->last_check) {
		gmtime_r(&h->last_check, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	tree_scalar(out, when);
}

static void show_api_version(struct host *h, struct buf *out)
{
	tree_scalar(out, h->api);
}

static void show_version_field(struct host *h, const char *field, struct buf *out)
{
	const char *v = json_string_value(json_object_get(h->version, field));

	tree_scalar(out, v ? v : "");
}

static void show_os_type(struct host *h, struct buf *out)
{
	show_version_field(h, "Os", out);
}

static void show_architecture(struct host *h, struct buf *out)
{
	show_version_field(h, "Arch", out);
}

static void show_stats(struct host *h, struct buf *out)
{
	host_stats_show(h, out);   /* counters are atomics; the rest under its lock */
}

static void show_description(struct host *h, struct buf *out)
{
	tree_scalar(out, h->description);
}

static void show_default(struct host *h, struct buf *out)
{
	tree_scalar(out, h->is_default ? "1" : "0");
}

static void show_version(struct host *h, struct buf *out)
{
	const char *v = json_string_value(json_object_get(h->version, "Version"));

	tree_scalar(out, v ? v : "");
}


static void show_info(struct host *h, struct buf *out)
{
	format_json(h->info, out);
}

/* The setters say why they fail (tree_fail): only they know which of
 * their steps refused.  value is one line of text (tree_parse_value). */
static int no_url_yet(struct host *h, const char *file)
{
	return tree_fail(-EINVAL, "host %s has no url yet (made by mkdir): write its url "
			 "before its %s", h->name, file);
}

static int set_url(struct host *h, const char *value)
{
	int err = cred_host_set_url(h, value);

	if (err == -EINVAL)
		return tree_fail(err, "not a url: %s (unix:///path, tcp://host:port, "
				 "ssh://user@host[:port][/socket])", value);
	if (err == -EEXIST)
		return tree_fail(err, "host %s was registered meanwhile (by another daemon on "
				 "the registry?): write the url again", h->name);
	return err;
}

static int set_description(struct host *h, const char *value)
{
	int err = fleet_host_set_description(h->fleet, h->name, value);

	return err == -EINVAL ? no_url_yet(h, "description") : err;
}

static int set_insecure(struct host *h, const char *value)
{
	if (strcmp(value, "1") && strcmp(value, "0"))
		return tree_fail(-EINVAL, "insecure takes 0 or 1 (1: plain tcp:// without TLS)");
	int err = fleet_host_set_insecure(h->fleet, h->name, value[0] == '1');

	return err == -EINVAL ? no_url_yet(h, "insecure flag") : err;
}

static int set_default(struct host *h, const char *value)
{
	if (strcmp(value, "1") && strcmp(value, "0"))
		return tree_fail(-EINVAL, "default takes 0 or 1");
	int err = fleet_host_set_default(h->fleet, h->name, value[0] == '1');

	return err == -EINVAL ? no_url_yet(h, "default flag") : err;
}

static const struct host_attr host_attrs[] = {
	{ "url", show_url, set_url, URL_MAX, false },
	{ "type", show_type, NULL, 0, false },
	{ "status", show_status, NULL, 0, false },
	{ "description", show_description, set_description, DESCRIPTION_MAX, false },
	{ "default", show_default, set_default, 1, false },
	{ "version", show_version, NULL, 0, false },
	{ "info.json", show_info, NULL, 0, false },
	{ "insecure", show_insecure, set_insecure, 1, false },
	{ "last_check", show_last_check, NULL, 0, false },
	{ "api_version", show_api_version, NULL, 0, false },
	{ "os_type", show_os_type, NULL, 0, false },
	{ "architecture", show_architecture, NULL, 0, false },
	{ "stats", show_stats, NULL, 0, true },
};

#define N_ATTRS (sizeof(host_attrs) / sizeof(host_attrs[0]))

static const struct {
	const char *name;
	const struct node_ops *ops;
} host_dirs[] = {
	{ "containers", &containers_dir_ops },
	{ "images", &images_dir_ops },
	{ "networks", &networks_dir_ops },
	{ "volumes", &volumes_dir_ops },
	{ "permissions", &host_permissions_dir_ops },
	{ "tls", &cred_dir_ops },
	{ "ssh", &cred_dir_ops },
};

#define N_DIRS (sizeof(host_dirs) / sizeof(host_dirs[0]))

extern const struct node_ops host_dir_ops, host_file_ops, host_rwfile_ops, host_ctl_ops,
	host_swarm_link_ops;

/* ---- M/hosts ------------------------------------------------------------- */

struct list_ctx {
	const struct caller *c;
	struct dirlist *out;
};

static void list_host_cb(struct host *h, void *arg)
{
	struct list_ctx *lc = arg;

	if (tree_level(lc->c, h) >= LEVEL_VIEWER)
		dirlist_add(lc->out, h->name, NODE_DIR);
}

static int hosts_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	struct list_ctx lc = { c, out };

	fleet_foreach_host(tree_ctx()->fleet, list_host_cb, &lc);
	return 0;
}

static int hosts_lookup(const struct caller *c, const struct node *dir, const char *name,
			struct node *child)
{
	struct host *h = fleet_host_get(tree_ctx()->fleet, name);

	if (!h)
		return -ENOENT;
	memset(child, 0, sizeof(*child));
	child->ops = &host_dir_ops;
	child->host = h;
	return 0;
}

static int hosts_mkdir(const struct caller *c, const struct node *dir, const char *name)
{
	int err = fleet_host_add(tree_ctx()->fleet, name, NULL);

	if (err == -EINVAL)
		return tree_fail(err, "%s: host names are 1-64 of A-Z a-z 0-9 . _ - "
				 "(not first: . -)", name);
	if (err == -EEXIST)
		return tree_fail(err, "host %s exists", name);
	return err;
}

static int hosts_rmdir(const struct caller *c, const struct node *dir, const char *name)
{
	return fleet_host_remove(tree_ctx()->fleet, name);
}

const struct node_ops hosts_dir_ops = {
	.type = NODE_DIR,
	.collection = true,
	.resource = "host",
	.write_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = hosts_lookup,
	.list = hosts_list,
	.mkdir = hosts_mkdir,
	.rmdir = hosts_rmdir,
};

/* ---- M/hosts/<host> ------------------------------------------------------ */

static int host_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	for (size_t i = 0; i < N_ATTRS; i++) {
		if (strcmp(name, host_attrs[i].name) == 0) {
			node_child(child, dir, host_attrs[i].set ? &host_rwfile_ops : &host_file_ops);
			child->attr = &host_attrs[i];
			return 0;
		}
	}
	for (size_t i = 0; i < N_DIRS; i++) {
		if (strcmp(name, host_dirs[i].name) == 0) {
			node_child(child, dir, host_dirs[i].ops);
			if (host_dirs[i].ops == &cred_dir_ops)
				snprintf(child->key, sizeof(child->key), "%s", name);
			return 0;
		}
	}
	if (strcmp(name, "events") == 0) {
		node_child(child, dir, &events_file_ops);
		return 0;
	}
	if (strcmp(name, "ctl") == 0) {
		node_child(child, dir, &host_ctl_ops);
		return 0;
	}
	if (strcmp(name, "swarm") == 0) {
		char sw[80];

		swarm_of_host(dir->host, sw, sizeof(sw));
		if (!sw[0])
			return -ENOENT;
		node_child(child, dir, &host_swarm_link_ops);
		return 0;
	}
	return -ENOENT;
}

static int host_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	enum level lvl = tree_level(c, dir->host);
	char sw[80];

	for (size_t i = 0; i < N_ATTRS; i++)
		dirlist_add(out, host_attrs[i].name, NODE_FILE);
	dirlist_add(out, "events", NODE_FILE);
	if (lvl >= host_ctl_ops.read_level)
		dirlist_add(out, "ctl", NODE_FILE);
	for (size_t i = 0; i < N_DIRS; i++)
		if (lvl >= host_dirs[i].ops->read_level)
			dirlist_add(out, host_dirs[i].name, NODE_DIR);
	swarm_of_host(dir->host, sw, sizeof(sw));
	if (sw[0])
		dirlist_add(out, "swarm", NODE_LINK);
	return 0;
}

static int host_dir_stat(const struct caller *c, const struct node *n, struct tree_stat *st)
{
	pthread_rwlock_rdlock(&n->host->lock);
	st->mtime = n->host->status_ts;
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

const struct node_ops host_dir_ops = {
	.type = NODE_DIR,
	.resource = "host",
	.read_level = LEVEL_VIEWER,
	.remove_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = host_lookup,
	.list = host_list,
	.stat = host_dir_stat,
};

static int host_file_read(const struct caller *c, const struct node *n, struct buf *out)
{
	const struct host_attr *a = n->attr;

	if (a->locks_itself) {
		a->show(n->host, out);
		return 0;
	}
	pthread_rwlock_rdlock(&n->host->lock);
	a->show(n->host, out);
	pthread_rwlock_unlock(&n->host->lock);
	return 0;
}

static int host_file_write(const struct caller *c, const struct node *n, const char *data,
			   size_t len, struct buf *out)
{
	const struct host_attr *a = n->attr;
	char *value;
	int err;

	/* The first url too: it registers the host with the credentials
	 * written before it, sealed for that url (credentials.c). */
	if (!strcmp(a->name, "url") && tree_level(c, NULL) < LEVEL_ADMIN)
		return tree_deny("changing the url of host %s needs a global admin: the url "
				 "decides which engine the host's admins and credentials reach",
				 n->host->name);
	value = malloc(a->max + 1);
	if (!value)
		return -ENOMEM;
	/* value is set only when the parse succeeds: no message may quote it
	 * otherwise (one once showed uninitialised heap). */
	err = tree_parse_value(data, len, a->max, value);
	if (err)
		err = tree_fail_context(err, a->name);
	else
		err = cred_host_setup_write(n->host, a->set, value);
	free(value);
	return err;
}

const struct node_ops host_file_ops = {
	.type = NODE_FILE,
	.resource = "host",
	.read_level = LEVEL_VIEWER,
	.stat = host_dir_stat,
	.read = host_file_read,
};

const struct node_ops host_rwfile_ops = {
	.type = NODE_FILE,
	.resource = "host",
	.read_level = LEVEL_VIEWER,
	.write_level = LEVEL_ADMIN,
	.stat = host_dir_stat,
	.read = host_file_read,
	.write = host_file_write,
};

/* ---- M/hosts/<host>/ctl -----------------------------------------------------
 *
 *   test            a health check now; the write fails with its reason
 *   reconnect       drop the connection and connect again
 *   swarm init|join|leave ...   membership (swarms.c; admins of the host)
 */

static const char host_ctl_usage[] =
	"test\n"
	"reconnect\n"
	"swarm init [--advertise-addr ADDR] [--listen-addr ADDR]\n"
	"swarm join --token TOKEN [--advertise-addr ADDR] [--listen-addr ADDR] MANAGER:PORT\n"
	"swarm leave [force]\n";

static int host_ctl_read(const struct caller *c, const struct node *n, struct buf *out)
{
	buf_puts(out, host_ctl_usage);
	return 0;
}

static int host_ctl_write(const struct caller *c, const struct node *n, const char *data,
			  size_t len, struct buf *out)
{
	char msg[512];
	struct argv a;
	int err;

	if (cmdline_split(data, len, &a))
		return tree_fail(-EINVAL, "one command a write: see `cat ctl`");
	if (a.n == 1 && !strcmp(a.v[0], "test")) {
		err = host_test(n->host, out, msg, sizeof(msg));
		if (err)
			err = tree_fail(err, "test: %s", msg);
	} else if (a.n == 1 && !strcmp(a.v[0], "reconnect")) {
		err = fleet_host_reconnect(n->host->fleet, n->host->name);
	} else if (a.n >= 1 && !strcmp(a.v[0], "swarm")) {
		err = swarm_host_ctl(c, n->host, a.n - 1, a.v + 1, out);
	} else {
		err = tree_fail(-EINVAL, "commands: test, reconnect, swarm init|join|leave "
				"(see `cat ctl`)");
	}
	argv_free(&a);
	return err;
}

const struct node_ops host_ctl_ops = {
	.type = NODE_FILE,
	.resource = "host",
	.read_level = LEVEL_OPERATOR,
	.write_level = LEVEL_OPERATOR,
	.stat = host_dir_stat,
	.read = host_ctl_read,
	.write = host_ctl_write,
};

/* M/hosts/<host>/swarm -> ../../swarms/<swarm>, for managers and workers. */
static int swarm_link_read(const struct caller *c, const struct node *n, struct buf *out)
{
	char sw[80];

	swarm_of_host(n->host, sw, sizeof(sw));
	if (!sw[0])
		return -ENOENT;
	buf_printf(out, "../../swarms/%s", sw);
	return 0;
}

const struct node_ops host_swarm_link_ops = {
	.type = NODE_LINK,
	.resource = "host",
	.read_level = LEVEL_VIEWER,
	.stat = host_dir_stat,
	.read = swarm_link_read,
};
