/* main.c - dockfs: mount a fleet of Docker engines as a directory tree. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libssh2.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <sqlite3.h>
#include <yajl/yajl_version.h>

#include "access.h"
#include "docker.h"
#include "events.h"
#include "follow.h"
#include "fs.h"
#include "import.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "names.h"
#include "notify.h"
#include "store.h"
#include "swarm.h"
#include "tree.h"
#include "vault.h"

struct config {
	char *db;
	char *admins;          /* "-o admins=UID:UID" */
	char *default_level;   /* "-o default_level=viewer" */
	int exec_timeout;
	int private_mount;     /* "-o private": no allow_other */
	int allow_other;       /* "-o allow_other" given (it is the default) */
	char *companion;       /* "-o companion=DIR" */
	char **hosts;          /* "NAME=URL" from --host, in order */
	size_t nhosts;
	int health_interval;
	int resync_interval;
	double entry_timeout;
	double attr_timeout;
	char *passphrase_file; /* "--passphrase-file F" */
	char *import_dir;      /* "--import-docker[=DIR]" */
	int import;
	int version;           /* --version, -V */
	/* The arguments that are no option: MOUNTPOINT, or SOURCE MOUNTPOINT
	 * as mount.fuse3 passes them (mount -t fuse.dockfs SOURCE DIR runs
	 * "dockfs SOURCE DIR -o OPTS"). */
	char *nonopt[2];
	int nnonopt;
	int too_many;          /* a third one */
};

enum { KEY_HOST, KEY_HOST_OPT, KEY_IMPORT, KEY_VERSION };

#define OPT(t, p) { t, offsetof(struct config, p), 1 }
static const struct fuse_opt dockfs_opts[] = {
	/* "--db %s" also matches "--db=PATH" (as "=PATH"): one template
	 * only, and the '=' is dropped after parsing. */
	OPT("--db %s", db),
	/* The same in the -o form that mount(8), fstab and systemd pass
	 * (as sshfs and rclone take theirs): -o db=PATH,host=NAME=URL. */
	OPT("db=%s", db),
	OPT("passphrase_file=%s", passphrase_file),
	FUSE_OPT_KEY("host=", KEY_HOST_OPT),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	OPT("health_interval=%d", health_interval),
	OPT("resync_interval=%d", resync_interval),
	OPT("entry_timeout=%lf", entry_timeout),
	OPT("attr_timeout=%lf", attr_timeout),
	OPT("admins=%s", admins),
	OPT("default_level=%s", default_level),
	OPT("exec_timeout=%d", exec_timeout),
	OPT("private", private_mount),
	OPT("allow_other", allow_other),
	OPT("companion=%s", companion),
	OPT("--passphrase-file %s", passphrase_file),
	FUSE_OPT_KEY("--import-docker", KEY_IMPORT),
	FUSE_OPT_KEY("--import-docker=", KEY_IMPORT),
	FUSE_OPT_KEY("--host ", KEY_HOST),
	FUSE_OPT_END
};

/* ---- the private mount's companion ---------------------------------------------
 *
 * A private mount is served from the kernel's cache, where the kernel opens
 * files without asking us (fs.h).  The files that need an open of their own
 * are symlinks into a second session of the same tree, mounted here and
 * served the shared way (but private too).
 */
struct companion {
	char *dir;                 /* absolute */
	bool made;                 /* we made dir: removed at exit */
	struct fuse_session *se;
	struct fs_options opt;
	pthread_t thread;
	unsigned max_threads, max_idle_threads;   /* the main loop's */
	bool running;              /* its loop's thread runs */
	bool stopped;              /* unmounted */
};

/* Its own copy: a loop may be stuck at exit (detached, see below) and
 * must still find the session it serves reachable. */
static struct companion companion;

static int companion_mount(struct companion *cp, const char *given, const char *prog,
			   const struct fs_options *main_opt)
{
	struct fuse_args a = FUSE_ARGS_INIT(0, NULL);

	if (given) {
		if (!(cp->dir = realpath(given, NULL)))
			return -errno;
	} else {
		const char *base = getenv("XDG_RUNTIME_DIR");
		struct stat sb;
		char tmpl[PATH_MAX];

		if (!base || base[0] != '/' || stat(base, &sb) != 0 || !S_ISDIR(sb.st_mode))
			base = geteuid() == 0 ? "/run" : "/tmp";
		snprintf(tmpl, sizeof(tmpl), "%s/dockfs-open.XXXXXX", base);
		if (!mkdtemp(tmpl) || !(cp->dir = strdup(tmpl)))
			return -errno;
		cp->made = true;
	}
	cp->opt = *main_opt;
	cp->opt.kernel_cached = false;
	cp->opt.companion = NULL;
	if (fuse_opt_add_arg(&a, prog) != 0 || fuse_opt_add_arg(&a, "-ofsname=dockfs-open") != 0)
		abort();
	cp->se = fuse_session_new(&a, &fs_ops, sizeof(fs_ops), &cp->opt);
	fuse_opt_free_args(&a);
	if (!cp->se)
		return -EIO;
	if (fuse_session_mount(cp->se, cp->dir) != 0) {
		fuse_session_destroy(cp->se);
		cp->se = NULL;
		return -EIO;
	}
	return 0;
}

static void *companion_loop(void *arg)
{
	struct companion *cp = arg;

	loop_run(cp->se, cp->max_threads, cp->max_idle_threads, docker_cancel_all);
	return NULL;
}

/* Ends the companion's loop and unmounts it; its session stays for
 * fs_cleanup() to answer what still waits (companion_free after). */
static void companion_stop(struct companion *cp)
{
	if (!cp->se || cp->stopped)
		return;
	cp->stopped = true;
	/* The loop waits on a semaphore for a worker to see the exit flag;
	 * a signal ends that wait, and the loop ends its workers (loop.c). */
	fuse_session_exit(cp->se);
	if (cp->running) {
		for (int i = 0; i < 100 && cp->running; i++) {
			struct timespec step;

			loop_wake(cp->thread);
			clock_gettime(CLOCK_REALTIME, &step);
			step.tv_nsec += 100000000L;
			if (step.tv_nsec >= 1000000000L) {
				step.tv_sec++;
				step.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(cp->thread, NULL, &step) == 0)
				cp->running = false;
		}
		if (cp->running) {
			log_warn(-EBUSY, "the companion mount %s did not stop", cp->dir);
			pthread_detach(cp->thread);
		}
	}
	fuse_session_unmount(cp->se);
	if (cp->made)
		rmdir(cp->dir);
}

/* A loop that did not stop keeps its session to the process's exit. */
static void companion_free(struct companion *cp)
{
	if (cp->running)
		return;
	if (cp->se)
		fuse_session_destroy(cp->se);
	cp->se = NULL;
	free(cp->dir);
	cp->dir = NULL;
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct config *cfg = data;

	switch (key) {
	case KEY_IMPORT:
		cfg->import = 1;
		arg += strlen("--import-docker");
		if (*arg == '=' && !(cfg->import_dir = strdup(arg + 1)))
			abort();
		return 0;
	case KEY_VERSION:
		cfg->version = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (cfg->nnonopt == 2) {
			cfg->too_many = 1;
			return 0;
		}
		if (!(cfg->nonopt[cfg->nnonopt++] = strdup(arg)))
			abort();
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* fstab's options for mount(8) and systemd (x-systemd.automount,
		 * x-gvfs-hide, ...) are not the filesystem's: ignored, as
		 * mount(8) ignores them. */
		return strncmp(arg, "x-", 2) == 0 ? 0 : 1;
	case KEY_HOST:
		arg += strlen("--host");
		if (*arg == '=')
			arg++;
		break;
	case KEY_HOST_OPT:
		arg += strlen("host=");
		break;
	default:
		return 1; /* keep for libfuse */
	}
	char **v = realloc(cfg->hosts, (cfg->nhosts + 1) * sizeof(*v));
	if (!v || !(v[cfg->nhosts] = strdup(arg)))
		abort();
	cfg->hosts = v;
	cfg->nhosts++;
	return 0;
}

/* The version of dockfs and of each library it runs with, as the libraries
 * themselves report it (the ones loaded, not the headers built against). */
static void print_version(void)
{
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
	int yajl = yajl_version();

	printf("dockfs %s\n", DOCKFS_VERSION);
	printf("libfuse %s\n", fuse_pkgversion());
	printf("libcurl %s\n", curl ? curl->version : "?");
	printf("jansson %s\n", jansson_version_str());
	printf("yajl %d.%d.%d\n", yajl / 10000, yajl / 100 % 100, yajl % 100);
	printf("sqlite %s\n", sqlite3_libversion());
	printf("libsodium %s\n", sodium_version_string());
	printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libssh2 %s\n", libssh2_version(0));
}

static void usage(const char *prog)
{
	printf("usage: %s [SOURCE] MOUNTPOINT [options]\n"
	       "       %s --import-docker[=DIR] [--db PATH]\n\n"
	       "Mounts a fleet of Docker engines and swarms as files.  SOURCE (as mount(8)\n"
	       "and fstab give it) names the mount in /proc/mounts; default dockfs.\n\n"
	       "dockfs options:\n"
	       "    --db PATH, -o db=PATH  registry database (default: %s)\n"
	       "    --host NAME=URL, -o host=NAME=URL\n"
	       "                           register or update a host at start (repeatable)\n"
	       "                           URL: unix:///path | tcp://host:port | ssh://user@host\n"
	       "    -o health_interval=N   seconds between health checks (default 30)\n"
	       "    -o resync_interval=N   seconds between full relists (default 300)\n"
	       "    -o entry_timeout=T     seconds the kernel caches names (default 0.5)\n"
	       "    -o attr_timeout=T      seconds the kernel caches attributes (default 0.5)\n"
	       "    -o admins=UID[:UID...] global admins (default: root and the mounting user)\n"
	       "    -o default_level=L     level of uids that are no user: none|viewer|operator\n"
	       "                           (default none)\n"
	       "    -o exec_timeout=N      seconds an exec may run (default 60)\n"
	       "    -o private             only the mounting user may enter (default: shared\n"
	       "                           with allow_other when permitted; levels apply);\n"
	       "                           reads are served from the kernel's cache\n"
	       "    -o companion=DIR       where a private mount mounts its companion, the\n"
	       "                           files that need an open (default: a new directory\n"
	       "                           in $XDG_RUNTIME_DIR, /run or /tmp)\n"
	       "    --passphrase-file F, -o passphrase_file=F\n"
	       "                           credential store key from the passphrase in F\n"
	       "                           (also DOCKFS_PASSPHRASE; default: the key file\n"
	       "                           DB.key, made on first run)\n"
	       "    --import-docker[=DIR]  register DOCKER_HOST (+ DOCKER_CERT_PATH) and the\n"
	       "                           docker CLI's contexts in DIR (default ~/.docker)\n"
	       "                           as hosts with their TLS files, then exit\n"
	       "    -V, --version          print the version and the libraries' versions\n\n",
	       prog, prog, geteuid() == 0 ? "/var/lib/dockfs/dockfs.db"
				    : "$XDG_DATA_HOME/dockfs/dockfs.db");
}

/* Whether the mount options name the filesystem already (-o fsname=). */
static bool has_fsname(const struct fuse_args *args)
{
	for (int i = 0; i < args->argc; i++)
		if (strstr(args->argv[i], "fsname="))
			return true;
	return false;
}

/* The default registry: system-wide for root, per user otherwise. */
static char *default_db_path(void)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char *path;

	if (geteuid() == 0)
		path = strdup("/var/lib/dockfs/dockfs.db");
	else if (xdg && *xdg)
		asprintf(&path, "%s/dockfs/dockfs.db", xdg) < 0 ? path = NULL : 0;
	else
		asprintf(&path, "%s/.local/share/dockfs/dockfs.db", home ? home : ".") < 0
			? path = NULL : 0;
	return path;
}

static int make_parent_dirs(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Whether this user may mount with allow_other (root, or user_allow_other
 * in /etc/fuse.conf, as fusermount3 checks). */
static bool allow_other_permitted(void)
{
	char line[256];
	bool ok = geteuid() == 0;
	FILE *f = ok ? NULL : fopen("/etc/fuse.conf", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "user_allow_other", 16) == 0)
			ok = true;
	if (f)
		fclose(f);
	return ok;
}

/* "-o admins=0:1000": the global admins, replacing root + the mounter.
 * Colons, since libfuse splits -o on commas (an escaped "\\," works too). */
static int parse_admins(const char *text, uid_t **out, size_t *n)
{
	char *copy = strdup(text), *p = copy, *tok, *end;

	*out = NULL;
	*n = 0;
	if (!copy)
		return -ENOMEM;
	while ((tok = strsep(&p, ",:"))) {
		errno = 0;
		unsigned long v = strtoul(tok, &end, 10);
		if (errno || end == tok || *end || v >= (unsigned long)(uid_t)-1) {
			free(copy);
			free(*out);
			return -EINVAL;
		}
		uid_t *a = realloc(*out, (*n + 1) * sizeof(*a));
		if (!a)
			abort();
		*out = a;
		a[(*n)++] = (uid_t)v;
	}
	free(copy);
	return 0;
}

/* The passphrase of the credential store, if one is given: the file's first
 * line, else DOCKFS_PASSPHRASE.  In guarded memory (secret_free). */
static int read_passphrase(const char *file, struct secret *out)
{
	const char *env = getenv("DOCKFS_PASSPHRASE");
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!file && !(env && *env))
		return 0;
	if (secret_alloc(out, 1024))
		return -ENOMEM;
	if (file) {
		FILE *f = fopen(file, "re");
		if (!f) {
			int err = -errno;
			secret_free(out);
			return err;
		}
		/* unbuffered: no copy of it left in stdio's buffer */
		setvbuf(f, NULL, _IONBF, 0);
		int ch;
		while (n + 1 < 1024 && (ch = fgetc(f)) != EOF && ch != '\n')
			out->data[n++] = (unsigned char)ch;
		fclose(f);
	} else {
		n = strlen(env);
		if (n >= 1024)
			n = 1023;
		memcpy(out->data, env, n);
		/* No copy left in the environment (of the daemon it forks, nor
		 * in /proc/PID/environ once the process changes it). */
		sodium_memzero((char *)env, strlen(env));
		unsetenv("DOCKFS_PASSPHRASE");
	}
	out->data[n] = '\0';
	out->len = n;
	if (!n) {
		secret_free(out);
		return -EINVAL;
	}
	return 0;
}

/* Opens the credential store of the registry at db, with the passphrase
 * if there is one (pass->data NULL: the key file). */
static int open_vault(struct store *st, const char *db, const struct secret *pass,
		      struct vault **out)
{
	char *key_file = NULL;
	int err;

	*out = NULL;
	if (asprintf(&key_file, "%s.key", db) < 0)
		return -ENOMEM;
	err = vault_open(st, key_file, pass->data ? (const char *)pass->data : NULL, out);
	free(key_file);
	return err;
}

/* ---- detaching ------------------------------------------------------------
 *
 * What fuse_daemonize does, but before any thread starts (threads do not
 * cross a fork), so that the hosts' workers are already listing their
 * engines while the registry is read and the mount made.  The parent waits
 * until the child is mounted or has failed: errors still reach the
 * terminal, and its exit status says which.
 */
static int detach_fd = -1;   /* the child's end of the parent's pipe */

static int detach_begin(void)
{
	int p[2];
	char ok;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	switch (fork()) {
	case -1:
		close(p[0]);
		close(p[1]);
		return -errno;
	case 0:
		break;
	default:
		close(p[1]);
		do
			n = read(p[0], &ok, 1);
		while (n < 0 && errno == EINTR);
		/* No byte: the child failed (and said why) or died. */
		_exit(n == 1 && ok == 0 ? 0 : 1);
	}
	close(p[0]);
	detach_fd = p[1];
	return setsid() < 0 ? -errno : 0;
}

/* Mounted and serving: the parent may go.  From here on a detached daemon
 * logs to syslog and its standard streams are /dev/null. */
static void detach_done(void)
{
	char ok = 0;
	int fd;

	if (chdir("/") != 0)
		log_warn(-errno, "chdir /: %s", strerror(errno));
	if (detach_fd < 0)
		return;
	log_to_syslog();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (write(detach_fd, &ok, 1) != 1)
		log_warn(-errno, "cannot tell the starting process: %s", strerror(errno));
	close(detach_fd);
	detach_fd = -1;
}

/* Where the ssh and tls transports get secrets: the daemon's vault. */
static struct store *secret_store;
static struct vault *secret_vault;

static int daemon_secret(const char *host, const char *url, const char *type,
			 struct secret *out)
{
	if (!secret_vault)
		return -ENOENT;
	return vault_get(secret_vault, secret_store, host, url, type, out);
}

/* --host options, and on a first run with nothing registered, the local
 * engine as host "default" (DOCKER_HOST, else the standard socket). */
static int register_hosts(struct store *st, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nhosts; i++) {
		char *eq = strchr(cfg->hosts[i], '=');
		int err;

		if (!eq || eq == cfg->hosts[i]) {
			fprintf(stderr, "dockfs: --host %s: expected NAME=URL\n", cfg->hosts[i]);
			return -EINVAL;
		}
		*eq = '\0';
		err = name_host_valid(cfg->hosts[i]) ? store_host_put(st, cfg->hosts[i], eq + 1)
						      : -EINVAL;
		if (err) {
			fprintf(stderr, "dockfs: --host %s=%s: %s\n", cfg->hosts[i], eq + 1,
				strerror(-err));
			*eq = '=';
			return err;
		}
		*eq = '=';
	}
	if (store_host_count(st) == 0) {
		const char *env = getenv("DOCKER_HOST");
		const char *url = env && *env ? env : "unix:///var/run/docker.sock";
		int err = store_host_add(st, "default", url);

		if (!err)
			err = store_host_set_default(st, "default", true);
		if (err) {
			fprintf(stderr, "dockfs: registering the local engine (%s): %s\n", url,
				strerror(-err));
			return err;
		}
		log_info("first run: registered the local engine %s as host default", url);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct config cfg = {
		.health_interval = 30,
		.resync_interval = 300,
		.entry_timeout = 0.5,
		.attr_timeout = 0.5,
	};
	struct fuse_cmdline_opts opts = { 0 };
	struct fuse_session *se = NULL;
	struct store *st = NULL;
	struct fleet *fleet = NULL;
	struct vault *vault = NULL;
	struct secret pass = { 0 };  /* the passphrase, until the vault opens */
	struct fs_options fsopt;
	struct access_options ao = { NULL, 0, LEVEL_NONE };
	uid_t default_admins[2] = { 0, getuid() };
	uid_t *admins = NULL;
	int ret = 1, err;

	if (fuse_opt_parse(&args, &cfg, dockfs_opts, opt_proc) != 0)
		goto out;
	if (cfg.version) {
		print_version();
		ret = 0;
		goto out;
	}
	if (cfg.too_many) {
		fprintf(stderr, "dockfs: too many arguments: [SOURCE] MOUNTPOINT [options]\n");
		goto out;
	}
	/* An import registers and exits: it mounts nothing, so it needs no
	 * mountpoint (and a given one is neither checked nor used). */
	if (cfg.import) {
		if (cfg.nnonopt)
			fprintf(stderr, "dockfs: --import-docker mounts nothing: %s ignored "
				"(--import-docker=DIR names the docker config directory)\n",
				cfg.nonopt[cfg.nnonopt - 1]);
		if (sodium_init() < 0)
			goto out;
		log_init(LOG_LVL_WARN);
		if (cfg.db && cfg.db[0] == '=')
			memmove(cfg.db, cfg.db + 1, strlen(cfg.db));
		if (!cfg.db && !(cfg.db = default_db_path()))
			goto out;
		struct vault *v = NULL;
		err = read_passphrase(cfg.passphrase_file, &pass);
		if (!err)
			err = make_parent_dirs(cfg.db);
		if (!err)
			err = store_open(cfg.db, &st);
		if (!err)
			err = open_vault(st, cfg.db, &pass, &v);
		if (!err)
			err = import_docker(st, v, cfg.import_dir);
		vault_close(v);
		store_close(st);
		st = NULL;
		if (err < 0)
			fprintf(stderr, "dockfs: import into %s: %s\n", cfg.db, strerror(-err));
		ret = err < 0;
		goto out;
	}
	/* The mountpoint is the last argument that is no option; before it,
	 * mount.fuse3's SOURCE names the mount (the first field of
	 * /proc/mounts, as sshfs's user@host:dir does), unless fsname= does. */
	if (cfg.nnonopt)
		fuse_opt_add_arg(&args, cfg.nonopt[cfg.nnonopt - 1]);
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out;
	if (opts.show_help) {
		usage(argv[0]);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out;
	}
	if (opts.show_version) {
		print_version();
		ret = 0;
		goto out;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [SOURCE] MOUNTPOINT [options]  (--help for more)\n",
			argv[0]);
		goto out;
	}
	/* stderr until detached (detach_done), so start-up errors are seen */
	log_init(opts.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		fprintf(stderr, "dockfs: cannot initialise libsodium/libcurl\n");
		goto out;
	}
	if (cfg.admins) {
		if (parse_admins(cfg.admins, &admins, &ao.nadmins) < 0) {
			fprintf(stderr, "dockfs: -o admins=%s: expected UID[:UID...]\n", cfg.admins);
			goto out;
		}
		ao.admins = admins;
	} else {
		ao.admins = default_admins;
		ao.nadmins = 2;
	}
	if (cfg.default_level && (level_parse(cfg.default_level, &ao.default_level) < 0 ||
				  ao.default_level == LEVEL_ADMIN)) {
		fprintf(stderr, "dockfs: -o default_level=%s: none, viewer or operator\n",
			cfg.default_level);
		goto out;
	}
	if (cfg.exec_timeout > 0)
		containers_exec_timeout_ms = cfg.exec_timeout * 1000L;
	if (cfg.db && cfg.db[0] == '=')
		memmove(cfg.db, cfg.db + 1, strlen(cfg.db));
	if (!cfg.db && !(cfg.db = default_db_path()))
		goto out;
	/* The daemon changes to / when it detaches: keep the path absolute. */
	if (cfg.db[0] != '/') {
		char cwd[PATH_MAX], *abs;

		if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, cfg.db) < 0)
			goto out;
		free(cfg.db);
		cfg.db = abs;
	}
	err = make_parent_dirs(cfg.db);
	if (err) {
		fprintf(stderr, "dockfs: %s: %s\n", cfg.db, strerror(-err));
		goto out;
	}
	/* Read once, before the daemon changes to / (a relative path). */
	err = read_passphrase(cfg.passphrase_file, &pass);
	if (err) {
		fprintf(stderr, "dockfs: passphrase: %s\n", strerror(-err));
		goto out;
	}
	if (!opts.foreground && (err = detach_begin()) != 0) {
		fprintf(stderr, "dockfs: cannot detach: %s\n", strerror(-err));
		goto out;
	}

	/* The hosts' workers start first: the engines list their containers
	 * while the rest starts and the mount is made, and a fresh mount's
	 * first ls then waits for little more than the slowest engine. */
	err = store_open(cfg.db, &st);
	if (!err)
		err = register_hosts(st, &cfg);
	if (!err)
		err = open_vault(st, cfg.db, &pass, &vault);
	if (err == -EKEYREJECTED) {
		fprintf(stderr, "dockfs: %s: the credential store does not open with this %s\n",
			cfg.db, pass.data ? "passphrase" : "key file");
		goto out_store;
	} else if (err) {
		fprintf(stderr, "dockfs: %s: %s\n", cfg.db, strerror(-err));
		goto out_store;
	}
	secret_free(&pass);
	secret_store = st;
	secret_vault = vault;
	conn_set_secret_source(daemon_secret);
	err = access_init(st, &ao);
	if (!err)
		err = fleet_new(st, &(struct fleet_options){ cfg.health_interval,
							  cfg.resync_interval }, &fleet);
	if (err) {
		fprintf(stderr, "dockfs: %s\n", strerror(-err));
		goto out_store;
	}
	struct tree_ctx tc = { fleet, st, vault, getuid(), { 0, 0 }, ao.default_level };
	clock_gettime(CLOCK_REALTIME, &tc.started);
	tree_init(&tc);
	events_init();
	notify_init();
	err = fleet_start(fleet);
	if (err) {
		fprintf(stderr, "dockfs: cannot load the registered hosts: %s\n", strerror(-err));
		goto out_store;
	}

	if (cfg.private_mount && cfg.allow_other) {
		/* The kernel answers a private mount's opens: no level would hold. */
		fprintf(stderr, "dockfs: -o private and -o allow_other exclude each other\n");
		goto out_store;
	}
	fsopt = (struct fs_options){ cfg.entry_timeout, cfg.attr_timeout, false, NULL, false };
	if (cfg.private_mount) {
		err = companion_mount(&companion, cfg.companion, argv[0], &fsopt);
		if (err) {
			fprintf(stderr, "dockfs: the companion mount%s%s: %s\n",
				companion.dir ? " on " : "", companion.dir ? companion.dir : "",
				strerror(-err));
			goto out_store;
		}
		fsopt.kernel_cached = true;
		fsopt.companion = companion.dir;
	}
	if (!has_fsname(&args)) {
		const char *src = cfg.nnonopt == 2 ? cfg.nonopt[0] : "dockfs";
		char *fsname = malloc(strlen("-ofsname=") + 2 * strlen(src) + 1), *o;

		if (!fsname)
			abort();
		o = fsname + sprintf(fsname, "-ofsname=");
		/* libfuse splits -o at commas; a backslash keeps one */
		for (const char *p = src; *p; p++) {
			if (*p == ',' || *p == '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o = '\0';
		fuse_opt_add_arg(&args, fsname);
		free(fsname);
	}
	/* Shared by default: several users on one mount, each seeing what
	 * their levels allow (the daemon's checks, not mode bits, protect). */
	if (!cfg.private_mount && (cfg.allow_other || allow_other_permitted())) {
		fuse_opt_add_arg(&args, "-oallow_other");
		fsopt.shared = true;
	}
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fsopt);
	if (!se)
		goto out_store;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fs_set_session(se, &fsopt);
	/* Before the loop reads a request: no handler can meet a change
	 * the notifier has not been told of. */
	err = notify_start(se, opts.mountpoint);
	if (err)
		log_warn(err, "no inotify events: %s", strerror(-err));
	log_info("mounted on %s (%d hosts, registry %s)", opts.mountpoint, fleet_host_count(fleet),
		 cfg.db);
	if (companion.se) {
		if (pthread_create(&companion.thread, NULL, companion_loop, &companion) != 0) {
			log_error(-EAGAIN, "cannot start the companion mount's loop");
			goto out_unmount;
		}
		companion.max_threads = opts.max_threads;
		companion.max_idle_threads = opts.max_idle_threads;
		companion.running = true;
		log_info("companion mount on %s", companion.dir);
	}
	detach_done();

	if (opts.singlethread)
		ret = fuse_session_loop(se);
	else
		ret = loop_run(se, opts.max_threads, opts.max_idle_threads, docker_cancel_all);
	ret = ret != 0;
	log_info("unmounting");

out_unmount:
	fuse_session_unmount(se);
	companion_stop(&companion);
	notify_stop();
out_signals:
	fuse_remove_signal_handlers(se);
	/* Which restored SIGPIPE's default: the hosts' connections are still
	 * closed below, and a peer gone meanwhile must not kill us. */
	signal(SIGPIPE, SIG_IGN);
out_session:
	companion_stop(&companion); /* when the main mount failed */
	/* Readers first (what the kernel never released), answered while
	 * their sessions still exist, then producers, so that no answer goes
	 * to a session that is gone. */
	if (!companion.running)
		fs_cleanup();
	fuse_session_destroy(se);
out_store:
	companion_stop(&companion);
	companion_free(&companion);
	follow_shutdown();
	events_shutdown();
	fleet_free(fleet);
	conn_shutdown();
	secret_vault = NULL;
	vault_close(vault);
	access_free();
	store_close(st);
	curl_global_cleanup();
out:
	/* When the main session never started. */
	companion_stop(&companion);
	companion_free(&companion);
	for (size_t i = 0; i < cfg.nhosts; i++)
		free(cfg.hosts[i]);
	free(cfg.hosts);
	free(cfg.db);
	free(cfg.admins);
	free(cfg.companion);
	free(cfg.default_level);
	free(cfg.passphrase_file);
	secret_free(&pass);
	free(cfg.import_dir);
	free(cfg.nonopt[0]);
	free(cfg.nonopt[1]);
	free(admins);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
