/* tree.h - the tree core: path -> node; stat, list, read, write, mkdir...
 *
 * Both front ends (FUSE in fs.c, the HTTP bridge) call only these functions,
 * always on behalf of a caller, so every path, permission check and errno
 * exists once.  Paths are absolute within the mount ("/hosts/mgr/url").
 *
 * The subtree modules (hosts.c, containers.c, objects.c, fleet_view.c)
 * implement struct node_ops; they never see a FUSE request.
 */
#ifndef DOCKFS_TREE_H
#define DOCKFS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "access.h"
#include "buf.h"
#include "dirlist.h"
#include "names.h"

struct fleet;
struct store;
struct host;

struct caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;      /* for logs only: never trusted for a decision */
};

struct tree_stat {
	enum node_type type;
	mode_t perm;              /* 0555 dirs, 0444 files, 0644 writable files */
	size_t size;              /* exact content length */
	struct timespec mtime;
	bool live;                /* fetched from the engine when opened */
	bool per_caller;          /* content differs by caller: never cache it */
	bool stream;              /* never ends: read with tree_stream */
	bool buffered;            /* writes gathered, acted on at flush */
	/* Seeing it needs a level that reaching its directory did not prove
	 * (hosts/<h>, containers/<h>:<c>, a host's admin files): a name
	 * cached for one caller would be found by another who may not. */
	bool gated;
	/* Which object the path names now (tree_ident of its id), 0 for
	 * paths that name no object of their own: a name removed and made
	 * again is another object, and must be another inode. */
	uint64_t ident;
};

/* An object's identity from its id (never 0). */
uint64_t tree_ident(const char *id);

/* What a path resolved to.  host is a counted reference (node_release). */
struct node {
	const struct node_ops *ops;
	struct host *host;
	char key[NAME_MAX_ESCAPED];   /* the object within the host (id or name) */
	char sub[NAME_MAX_ESCAPED];   /* an entry within the object */
	const void *attr;             /* the module's descriptor of a file */
};

struct stream;

struct node_ops {
	enum node_type type;
	const char *resource;      /* what the audit log calls it: "container"... */
	enum level read_level;     /* on node->host, to see the node at all */
	enum level write_level;    /* to write a file, or mkdir in a directory */
	enum level remove_level;   /* to rmdir/unlink the node (LEVEL_NONE: admin) */
	bool error_file;           /* a directory with an `error` file for its writes */
	/* A directory that lists objects (hosts/, containers/, services/...):
	 * it holds only its objects, so its own files are dot-files, which no
	 * object name can be (COLLECTION_CTL, COLLECTION_ERROR). */
	bool collection;
	bool secret;               /* what is written never reaches the audit log */
	/* Takes any bytes (secrets, configs, credentials: a PEM file, a
	 * password, a binary blob).  Every other file takes text (text.h),
	 * and tree_write() refuses anything else with EINVAL and the offset
	 * of the first byte that is not, before the module sees it: a module
	 * never has to carry bytes that JSON cannot. */
	bool binary;
	/* Writes are gathered per open file and given to write() whole at
	 * flush (close), whose error the writer's close() returns: for
	 * content that comes in several write(2) calls (cp, a PEM file). */
	bool buffered;
	int (*lookup)(const struct caller *c, const struct node *dir, const char *name,
		      struct node *child);
	int (*list)(const struct caller *c, const struct node *dir, struct dirlist *out);
	/* Fills type-specific stat fields (perm, mtime, live); the core sets
	 * size from read() unless live. */
	int (*stat)(const struct caller *c, const struct node *n, struct tree_stat *st);
	int (*read)(const struct caller *c, const struct node *n, struct buf *out);
	/* Acts.  What the action answers (exec's output) goes to out, which
	 * the writer's open file then reads. */
	int (*write)(const struct caller *c, const struct node *n, const char *data, size_t len,
		     struct buf *out);
	/* A file that streams: starts a producer feeding s (stream.h). */
	int (*stream)(const struct caller *c, const struct node *n, struct stream *s);
	int (*mkdir)(const struct caller *c, const struct node *dir, const char *name);
	int (*rmdir)(const struct caller *c, const struct node *dir, const char *name);
	int (*unlink)(const struct caller *c, const struct node *dir, const char *name);
	/* open(O_CREAT) of a name the directory does not have: accepts it as
	 * a new empty file that the write after it makes (secrets/NAME).
	 * Needs the directory's write_level; acts on nothing by itself. */
	int (*create)(const struct caller *c, const struct node *dir, const char *name);
};

#define COLLECTION_CTL ".ctl"
#define COLLECTION_ERROR ".error"

/* The state the subtrees share: set once by tree_init. */
struct vault;

struct tree_ctx {
	struct fleet *fleet;
	struct store *store;
	struct vault *vault;      /* the credential store's sealing */
	uid_t owner;              /* who mounted */
	struct timespec started;  /* mtime of what has no time of its own */
	enum level default_level; /* of uids that are no user (access_options) */
};

void tree_init(const struct tree_ctx *ctx);
const struct tree_ctx *tree_ctx(void);

/* The caller's level on host (NULL: the fleet level, i.e. global). */
enum level tree_level(const struct caller *c, struct host *host);

/* How long an exec may run (containers.c; -o exec_timeout). */
extern long containers_exec_timeout_ms;

/* The M/audit file and the M/users subtree. */
extern const struct node_ops audit_file_ops;
extern const struct node_ops users_dir_ops;
/* The event files (events.c): M/events and M/hosts/<h>/events. */
extern const struct node_ops fleet_events_file_ops, events_file_ops, swarm_events_file_ops;

int tree_stat(const struct caller *c, const char *path, struct tree_stat *st);
/* The same, and content (replaced) gets what a file that is read to know
 * its size read (not for live, stream or error files: left empty). */
int tree_stat_content(const struct caller *c, const char *path, struct tree_stat *st,
		      struct buf *content);
int tree_list(const struct caller *c, const char *path, struct dirlist *out);
int tree_read(const struct caller *c, const char *path, struct buf *out);
int tree_readlink(const struct caller *c, const char *path, struct buf *out);
/* Acts as c; out (may be NULL) receives what the action answers.  A file
 * that is not binary (node_ops.binary) is given only text (text.h):
 * anything else is EINVAL, with the offset of the first byte that is not
 * in the directory's `error`. */
int tree_write(const struct caller *c, const char *path, const char *data, size_t len,
	       struct buf *out);
/* Records a write refused before it reached tree_write() (the front end's
 * own limit: a buffered file's size) as tree_write() records a failure:
 * the message in the directory's `error` file, the audit log.  Returns
 * err. */
int tree_write_refused(const struct caller *c, const char *path, int err, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));
/* mkdir and create: a name that is not text (text.h) is EINVAL. */
int tree_mkdir(const struct caller *c, const char *path);
int tree_rmdir(const struct caller *c, const char *path);
int tree_unlink(const struct caller *c, const char *path);
/* The new file at path (node_ops.create), then checked like tree_open for
 * writing. */
int tree_create(const struct caller *c, const char *path);
/* Checks that c may open path for reading and/or writing; a refused write
 * is recorded in the audit log.  st (may be NULL) gets what kind of file it
 * is (type, perm, live, per_caller, stream, buffered), not its size. */
int tree_open(const struct caller *c, const char *path, bool for_write, struct tree_stat *st);
/* Starts the producer of a stream file; s then belongs to it and the
 * caller (stream.h). */
int tree_stream(const struct caller *c, const char *path, struct stream *s);

/* For the subtree modules: the message a failing write leaves in the
 * caller's `error` file (the engine's own words when there are some).
 * Returns err, so `return tree_fail(err, "...")` reads naturally. */
int tree_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message tree_fail() left on this thread ("" if none): copy it
 * before the next tree_fail(). */
const char *tree_fail_message(void);
/* Names what an action made (a new container) for the audit log. */
void tree_set_resource(const char *id);
/* Replaces the audit row's details of the current write with text (the
 * request as it was sent to the engine, e.g. the canonical create body).
 * Thread-local like tree_set_resource(), copied, and dropped when the
 * write's row is written (or by the next operation); ignored for a file
 * whose writes are secret. */
void tree_set_details(const char *text);
/* Puts "what: " before the message a helper left (tree_parse_value's
 * "one line of at most 1000 bytes, not 5000"); returns err. */
int tree_fail_context(int err, const char *what);
/* The same, marking the refusal as a permission decision in the audit. */
int tree_deny(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Helpers for the subtree modules. */
void node_release(struct node *n);
/* Sets child to a node of ops on dir's host (taking a reference). */
void node_child(struct node *child, const struct node *dir, const struct node_ops *ops);
/* One value and a newline, the scalar file convention. */
void tree_scalar(struct buf *out, const char *value);
/* Strips one trailing newline (as echo writes) and checks the value is
 * text on one line (no NUL, newline or carriage return), no longer than
 * max bytes: else -EINVAL, with why in the `error` message (tree_fail),
 * which a caller may replace with its own. */
int tree_parse_value(const char *data, size_t len, size_t max, char *out);

/* The subtrees' entry points, for the root. */
extern const struct node_ops hosts_dir_ops;
extern const struct node_ops fleet_containers_ops;
extern const struct node_ops fleet_images_ops;

/* hosts/<h>/url, written (credentials.c): the first url of a host made by
 * mkdir registers it with what was written to it before (credentials,
 * insecure, description) in one transaction; a later url changes it
 * (fleet_host_set_url: its credentials are dropped).  With h->setup_lock
 * held (cred_host_setup_write). */
struct host;
int cred_host_set_url(struct host *h, const char *url);
/* Runs set(h, value) under h->setup_lock: the writers of url, insecure and
 * description, so that what one writes before a host's first url is either
 * registered with that url or lands in the registry after it. */
int cred_host_setup_write(struct host *h, int (*set)(struct host *h, const char *value),
			  const char *value);

#endif
