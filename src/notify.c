/* notify.c - the notifier thread: inotify events and poll wake-ups for
 * changes made elsewhere (see notify.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "log.h"
#include "map.h"
#include "model.h"
#include "notify.h"
#include "stacks.h"
#include "store.h"
#include "swarm.h"
#include "tree.h"

#define QUEUE_MAX 20000   /* jobs waiting; beyond, the newest are dropped */
#define DROPPED_SAY_MS 60000

enum job_kind { JOB_TOUCH, JOB_CREATE_DIR, JOB_REMOVE_DIR, JOB_CREATE_LINK, JOB_REMOVE_LINK };

struct job {
	struct job *next;
	enum job_kind kind;
	uint64_t seq;            /* its place in the order of queuing */
	/* A fleet view's entry (M/containers, M/images) names a host in a
	 * directory everyone may watch: its host, else "". */
	char view_host[sizeof(((struct host *)0)->name)];
	char path[];             /* in the tree: "/hosts/h/containers/c" */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static struct job *head, **tail = &head;
static size_t queued;
/* The touches waiting, by path, and the last directory made or removed
 * waiting, by path (keys point into the jobs).  A second touch of a path
 * adds nothing while the first waits, as the first one's readers read the
 * content of when it runs; unless the file's directory goes or comes in
 * between (a container removed and made again under the same name), when
 * the second touch is for the new file.  Under churn the engine's events
 * come faster than the kernel takes the notices, and without this the
 * queue grew by the same files touched over and over. */
static struct map touches = MAP_INIT, dir_jobs = MAP_INIT;
static long dropped_said;        /* ms; 0: never */
static unsigned long dropped;    /* since then */
static uint64_t enqueued, done;   /* jobs ever queued / run, for notify_settle */
static bool stopping, running;
static pthread_t thread;
static char *mnt;

/* What the thread is doing now, for notify_whoami(); under op_lock. */
static pthread_mutex_t op_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int self_tid;
static char op_path[PATH_MAX];
static enum notify_self op_kind = SELF_OTHER;

enum notify_self notify_whoami(pid_t pid, const char *path)
{
	enum notify_self r = SELF_NO;

	if (pid == 0 || pid != atomic_load(&self_tid))
		return SELF_NO;
	pthread_mutex_lock(&op_lock);
	r = strcmp(path, op_path) == 0 ? op_kind : SELF_OTHER;
	pthread_mutex_unlock(&op_lock);
	return r;
}

static void set_op(const char *path, enum notify_self kind)
{
	pthread_mutex_lock(&op_lock);
	snprintf(op_path, sizeof(op_path), "%s", path ? path : "");
	op_kind = kind;
	pthread_mutex_unlock(&op_lock);
}

static void enqueue_job(enum job_kind kind, const char *view_host, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* With lock held: a full queue dropped a job.  Said at most once a
 * minute, with the count since, as the serving loop says it is busy. */
static void say_dropped(void)
{
	long now = mono_ms();

	dropped++;
	if (dropped_said && now - dropped_said < DROPPED_SAY_MS)
		return;
	log_warn(0, "notifier: %d notices waiting; %lu dropped since %s (inotify watchers miss "
		 "them; listings and reads are not affected)", QUEUE_MAX, dropped,
		 dropped_said ? "this was last said" : "the mount started");
	dropped_said = now;
	dropped = 0;
}

/* With lock held: whether touch j says nothing that one waiting does not. */
static bool touch_waits(const struct job *j)
{
	const struct job *t = map_get(&touches, j->path);
	char parent[PATH_MAX];

	if (!t)
		return false;
	snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(j->path, '/') - j->path), j->path);
	const struct job *d = map_get(&dir_jobs, parent);
	return !d || d->seq < t->seq;
}

static void enqueue_job(enum job_kind kind, const char *view_host, const char *fmt, va_list ap)
{
	char path[PATH_MAX];
	int n = vsnprintf(path, sizeof(path), fmt, ap);

	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	struct job *j = malloc(sizeof(*j) + (size_t)n + 1);
	if (!j)
		return;
	j->next = NULL;
	j->kind = kind;
	snprintf(j->view_host, sizeof(j->view_host), "%s", view_host ? view_host : "");
	memcpy(j->path, path, (size_t)n + 1);
	pthread_mutex_lock(&lock);
	if (!running || stopping || (kind == JOB_TOUCH && touch_waits(j))) {
		pthread_mutex_unlock(&lock);
		free(j);
		return;
	}
	if (queued >= QUEUE_MAX) {
		say_dropped();
		pthread_mutex_unlock(&lock);
		free(j);
		return;
	}
	j->seq = ++enqueued;
	if (kind == JOB_TOUCH)
		map_put(&touches, j->path, j);
	else if (kind == JOB_CREATE_DIR || kind == JOB_REMOVE_DIR)
		map_put(&dir_jobs, j->path, j);
	*tail = j;
	tail = &j->next;
	queued++;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

static void enqueue(enum job_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void enqueue(enum job_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	enqueue_job(kind, NULL, fmt, ap);
	va_end(ap);
}

/* An entry of a fleet view, which names host h. */
static void enqueue_view(enum job_kind kind, const struct host *h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void enqueue_view(enum job_kind kind, const struct host *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	enqueue_job(kind, h->name, fmt, ap);
	va_end(ap);
}

/* ---- from the model ---------------------------------------------------------- */

/* Files of a container whose content follows its state. */
static const char *const container_files[] = { "state", "status", "health", "exit_code", "pid" };

static void on_container(struct host *h, const char *name, enum change c, void *arg)
{
	switch (c) {
	case CHANGE_CREATED:
		enqueue(JOB_CREATE_DIR, "/hosts/%s/containers/%s", h->name, name);
		enqueue_view(JOB_CREATE_LINK, h, "/containers/%s:%s", h->name, name);
		break;
	case CHANGE_REMOVED:
		enqueue(JOB_REMOVE_DIR, "/hosts/%s/containers/%s", h->name, name);
		enqueue_view(JOB_REMOVE_LINK, h, "/containers/%s:%s", h->name, name);
		break;
	case CHANGE_UPDATED:
		for (size_t i = 0; i < sizeof(container_files) / sizeof(container_files[0]); i++)
			enqueue(JOB_TOUCH, "/hosts/%s/containers/%s/%s", h->name, name,
				container_files[i]);
		break;
	}
}

static void on_object(struct host *h, enum object_kind kind, const char *name, enum change c,
		      void *arg)
{
	static const char *const dirs[OBJ_KINDS] = { "images", "networks", "volumes" };

	if (c == CHANGE_UPDATED)
		return;
	enqueue(c == CHANGE_CREATED ? JOB_CREATE_DIR : JOB_REMOVE_DIR, "/hosts/%s/%s/%s", h->name,
		dirs[kind], name);
	if (kind == OBJ_IMAGE)
		enqueue_view(c == CHANGE_CREATED ? JOB_CREATE_LINK : JOB_REMOVE_LINK, h,
			     "/images/%s:%s", h->name, name);
}

/* Swarm objects: the lists are replaced whole, so compare them. */
static const char *service_name(json_t *svc)
{
	return swarm_str(svc, "Spec.Name");
}

static bool same_value(json_t *a, json_t *b, const char *path)
{
	json_t *x = swarm_get(a, path), *y = swarm_get(b, path);

	return (!x && !y) || (x && y && json_equal(x, y));
}

static json_t *by_id(json_t *list, const char *id)
{
	return id ? swarm_find(list, "ID", id) : NULL;
}

static void on_swarm(struct host *h, const struct swarm_cache *before,
		     const struct swarm_cache *after, void *arg)
{
	static const char *const service_files[][2] = {
		{ "Spec.Mode.Replicated.Replicas", "replicas" },
		{ "ServiceStatus.RunningTasks", "running" },
		{ "ServiceStatus.DesiredTasks", "running" },
		{ "Spec.TaskTemplate.ContainerSpec.Image", "image" },
	};
	static const char *const node_files[][2] = {
		{ "Spec.Availability", "availability" },
		{ "Status.State", "state" },
		{ "Spec.Role", "role" },
	};
	const char *sw = after->name;
	size_t i;
	json_t *v;

	json_array_foreach(after->services, i, v) {
		json_t *old = before ? by_id(before->services, swarm_str(v, "ID")) : NULL;
		const char *name = service_name(v);

		if (!name)
			continue;
		if (!old) {
			enqueue(JOB_CREATE_DIR, "/swarms/%s/services/%s", sw, name);
			continue;
		}
		for (size_t k = 0; k < sizeof(service_files) / sizeof(service_files[0]); k++)
			if (!same_value(old, v, service_files[k][0]))
				enqueue(JOB_TOUCH, "/swarms/%s/services/%s/%s", sw, name,
					service_files[k][1]);
	}
	if (before) {
		json_array_foreach(before->services, i, v) {
			if (!by_id(after->services, swarm_str(v, "ID")) && service_name(v))
				enqueue(JOB_REMOVE_DIR, "/swarms/%s/services/%s", sw, service_name(v));
		}
	}
	/* stacks: a name the swarm's labels gained or lost; a status that
	 * reads otherwise */
	json_t *had = json_object(), *has = json_object();
	const char *stack;
	if (before)
		stacks_names(before, had);
	stacks_names(after, has);
	json_object_foreach(has, stack, v) {
		if (!json_object_get(had, stack)) {
			if (!stacks_made(after->id, stack))
				enqueue(JOB_CREATE_DIR, "/swarms/%s/stacks/%s", sw, stack);
			continue;
		}
		struct buf a = BUF_INIT, b = BUF_INIT;
		stacks_status(before, stack, &a);
		stacks_status(after, stack, &b);
		if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
			enqueue(JOB_TOUCH, "/swarms/%s/stacks/%s/status", sw, stack);
		buf_free(&a);
		buf_free(&b);
	}
	json_object_foreach(had, stack, v)
		if (!json_object_get(has, stack) && !stacks_made(after->id, stack))
			enqueue(JOB_REMOVE_DIR, "/swarms/%s/stacks/%s", sw, stack);
	json_decref(had);
	json_decref(has);
	json_array_foreach(after->nodes, i, v) {
		const char *id = swarm_str(v, "ID");
		const char *name = json_string_value(json_object_get(after->node_names, id ? id : ""));
		json_t *old = before ? by_id(before->nodes, id) : NULL;

		if (!name)
			continue;
		if (!old) {
			enqueue(JOB_CREATE_DIR, "/swarms/%s/nodes/%s", sw, name);
			continue;
		}
		for (size_t k = 0; k < sizeof(node_files) / sizeof(node_files[0]); k++)
			if (!same_value(old, v, node_files[k][0]))
				enqueue(JOB_TOUCH, "/swarms/%s/nodes/%s/%s", sw, name, node_files[k][1]);
	}
}

static void on_host(struct host *h, void *arg)
{
	enqueue(JOB_TOUCH, "/hosts/%s/status", h->name);
	enqueue(JOB_TOUCH, "/hosts/%s/type", h->name);
}

/* ---- the thread ------------------------------------------------------------------ */

static void parent_of(const char *path, char *out, size_t len, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	snprintf(out, len, "%.*s", (int)n, path);
	*name = slash ? slash + 1 : path;
}

struct everyone_ctx {
	const char *host;
	bool all;
};

static int user_sees_cb(const struct store_user *u, void *arg)
{
	struct everyone_ctx *e = arg;

	/* A user bound to no uid is no local user: it cannot watch. */
	if (u->uid >= 0 && access_level((uid_t)u->uid, e->host) < LEVEL_VIEWER)
		e->all = false;
	return 0;
}

/* Whether everyone who can watch the mount's directories may see the
 * host called host: on a shared mount every local uid (the users that
 * are no dockfs user have the default level), on a private one the user
 * who mounted.  inotify has no watcher of its own to ask: an event on a
 * directory all may watch reaches all of them. */
static bool watchers_may_see(const char *host)
{
	const struct tree_ctx *tc = tree_ctx();

	if (!fs_shared())
		return access_level(tc->owner, host) >= LEVEL_VIEWER;
	if (tc->default_level < LEVEL_VIEWER)
		return false;
	struct everyone_ctx e = { host, true };
	if (store_user_foreach(tc->store, user_sees_cb, &e) != 0)
		return false;
	return e.all;
}

static void run(const struct job *j)
{
	char parent[PATH_MAX], full[PATH_MAX * 2];
	const char *name;

	/* An entry that some watcher may not see is not announced at all
	 * (listings and lookups still show it to those who may). */
	if (j->view_host[0] && !watchers_may_see(j->view_host))
		return;
	parent_of(j->path, parent, sizeof(parent), &name);
	/* Nobody can watch a directory the kernel has not looked up. */
	if (!fs_path_known(parent)) {
		if (j->kind == JOB_TOUCH)
			fs_wake_pollers(j->path);
		return;
	}
	snprintf(full, sizeof(full), "%s%s", mnt, j->path);
	switch (j->kind) {
	case JOB_TOUCH:
		/* The kernel's copy first, so that whoever the touch wakes
		 * reads the new content. */
		fs_inval_file(j->path);
		utimensat(AT_FDCWD, full, NULL, AT_SYMLINK_NOFOLLOW);
		fs_wake_pollers(j->path);
		break;
	case JOB_CREATE_DIR:
	case JOB_CREATE_LINK:
		/* A name someone already looked up must be forgotten first, or
		 * the kernel answers EEXIST without asking us. */
		fs_forget_entry(parent, name);
		set_op(j->path, SELF_CREATING);
		if (j->kind == JOB_CREATE_DIR)
			mkdir(full, 0555);
		else
			symlink(".", full);
		break;
	case JOB_REMOVE_DIR:
		set_op(j->path, SELF_REMOVING_DIR);
		rmdir(full);
		break;
	case JOB_REMOVE_LINK:
		set_op(j->path, SELF_REMOVING_LINK);
		unlink(full);
		break;
	}
	set_op(NULL, SELF_OTHER);
}

static void *notifier(void *arg)
{
	atomic_store(&self_tid, (int)syscall(SYS_gettid));
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!head && !stopping)
			pthread_cond_wait(&wake, &lock);
		if (stopping)
			break;
		struct job *j = head;
		head = j->next;
		if (!head)
			tail = &head;
		queued--;
		struct map *m = j->kind == JOB_TOUCH ? &touches : &dir_jobs;
		if (map_get(m, j->path) == j)
			map_del(m, j->path);
		pthread_mutex_unlock(&lock);
		run(j);
		free(j);
		pthread_mutex_lock(&lock);
		done++;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

void notify_init(void)
{
	static const struct model_observer o = {
		.container = on_container, .object = on_object, .host = on_host,
		.swarm = on_swarm,
	};

	model_observe(&o);
}

int notify_start(struct fuse_session *se, const char *mountpoint)
{
	mnt = realpath(mountpoint, NULL);
	if (!mnt)
		return -errno;
	pthread_mutex_lock(&lock);
	running = true;
	pthread_mutex_unlock(&lock);
	if (pthread_create(&thread, NULL, notifier, NULL) != 0) {
		running = false;
		return -EAGAIN;
	}
	return 0;
}

void notify_settle(long timeout_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	/* Never on the notifier itself: it would wait for its own job. */
	if (running && !stopping && (int)syscall(SYS_gettid) != atomic_load(&self_tid)) {
		uint64_t target = enqueued;

		while (done < target && running && !stopping &&
		       pthread_cond_timedwait(&done_cond, &lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&lock);
}

void notify_stop(void)
{
	struct job *j;

	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_cond_broadcast(&done_cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&lock);
	map_clear(&touches);
	map_clear(&dir_jobs);
	while ((j = head)) {
		head = j->next;
		free(j);
	}
	tail = &head;
	running = false;
	pthread_mutex_unlock(&lock);
	free(mnt);
	mnt = NULL;
}
