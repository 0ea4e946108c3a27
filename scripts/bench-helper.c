/* bench-helper.c - the timing loops of scripts/bench (compiled by it with cc
 * into a temporary directory; not part of the build).
 *
 *   loop N FILE...              open/read/close N times each file, in 20
 *                               interleaved batches: median ns per op of each
 *   http SOCK PATH N            GET PATH N times over one kept-open
 *                               connection (libcurl, one easy handle): median ns
 *   threads FILE T SECS         T threads doing open/read/close: ops/s
 *   spawn N CMD ARGS...         runs CMD N times (stdout to /dev/null):
 *                               median ns per run
 *   cold EXPECTED DIR CMD...    starts CMD (a dockfs in the foreground that
 *                               mounts on DIR), lists DIR until it has at
 *                               least EXPECTED entries: prints "PID NS
 *                               MOUNTED_NS" (the second: until DIR was a mount)
 *   inotify SOCK ID DIR N       pauses/unpauses container ID N times through
 *                               the API; for each, the delay from Docker's
 *                               event time (timeNano) and from the API call's
 *                               return to IN_ATTRIB on DIR/state: prints
 *                               "p50 p99 max" in ns for both, one line each
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static long long pct(long long *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_ll);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void one_read(const char *file)
{
	char buf[4096];
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		die(file);
	if (read(fd, buf, sizeof(buf)) < 0)
		die("read");
	close(fd);
}

/* Interleaved: each round runs a batch on every file in turn, so that a
 * machine busy with other work slows them all alike. */
static int cmd_loop(char **files, int nfiles, long n)
{
	long batch = n / 20 > 0 ? n / 20 : 1;
	long long per[16][20];

	for (int f = 0; f < nfiles && f < 16; f++)
		for (long i = 0; i < batch; i++)
			one_read(files[f]);
	for (int b = 0; b < 20; b++)
		for (int f = 0; f < nfiles && f < 16; f++) {
			long long t0 = now_ns(CLOCK_MONOTONIC);
			for (long i = 0; i < batch; i++)
				one_read(files[f]);
			per[f][b] = (now_ns(CLOCK_MONOTONIC) - t0) / batch;
		}
	for (int f = 0; f < nfiles && f < 16; f++)
		printf("%lld%c", pct(per[f], 20, 0.5), f + 1 < nfiles ? ' ' : '\n');
	return 0;
}

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
	struct { char *data; size_t len, cap; } *b = arg;

	if (!b)
		return s * n;
	if (b->len + s * n + 1 > b->cap) {
		b->cap = (b->len + s * n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			abort();
	}
	memcpy(b->data + b->len, p, s * n);
	b->len += s * n;
	b->data[b->len] = 0;
	return s * n;
}

static CURL *easy(const char *sock)
{
	CURL *c = curl_easy_init();

	if (!c)
		die("curl_easy_init");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	return c;
}

static long request(CURL *c, const char *method, const char *path)
{
	char url[1024];
	long code = 0;

	snprintf(url, sizeof(url), "http://docker%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	CURLcode r = curl_easy_perform(c);
	if (r != CURLE_OK) {
		fprintf(stderr, "%s %s: %s\n", method, path, curl_easy_strerror(r));
		exit(1);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static int cmd_http(const char *sock, const char *path, long n)
{
	CURL *c = easy(sock);
	long batch = n / 10 > 0 ? n / 10 : 1;
	long long per[10];

	for (long i = 0; i < batch; i++)
		if (request(c, "GET", path) != 200)
			die("GET: not 200");
	for (int b = 0; b < 10; b++) {
		long long t0 = now_ns(CLOCK_MONOTONIC);
		for (long i = 0; i < batch; i++)
			request(c, "GET", path);
		per[b] = (now_ns(CLOCK_MONOTONIC) - t0) / batch;
	}
	printf("%lld\n", pct(per, 10, 0.5));
	curl_easy_cleanup(c);
	return 0;
}

static const char *thr_file;
static atomic_bool thr_stop;
static atomic_long thr_ops;

static void *thr_body(void *arg)
{
	(void)arg;
	long ops = 0;

	while (!atomic_load_explicit(&thr_stop, memory_order_relaxed)) {
		one_read(thr_file);
		ops++;
	}
	atomic_fetch_add(&thr_ops, ops);
	return NULL;
}

static int cmd_threads(const char *file, int nthr, double secs)
{
	pthread_t *t = calloc((size_t)nthr, sizeof(*t));

	thr_file = file;
	one_read(file);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < nthr; i++)
		if (pthread_create(&t[i], NULL, thr_body, NULL))
			die("pthread_create");
	struct timespec ts = { (time_t)secs, (long)((secs - (long)secs) * 1e9) };
	nanosleep(&ts, NULL);
	atomic_store(&thr_stop, true);
	for (int i = 0; i < nthr; i++)
		pthread_join(t[i], NULL);
	double el = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	printf("%.0f\n", (double)atomic_load(&thr_ops) / el);
	free(t);
	return 0;
}

static long long run_once(char **argv)
{
	long long t0 = now_ns(CLOCK_MONOTONIC);
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	long long el = now_ns(CLOCK_MONOTONIC) - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s exited %d\n", argv[0], WEXITSTATUS(st));
		exit(1);
	}
	return el;
}

static int cmd_spawn(long n, char **argv)
{
	long long *v = calloc((size_t)n, sizeof(*v));

	run_once(argv); /* warm */
	for (long i = 0; i < n; i++)
		v[i] = run_once(argv);
	printf("%lld\n", pct(v, (size_t)n, 0.5));
	free(v);
	return 0;
}

static long count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	long n = 0;
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int cmd_cold(long expected, const char *dir, char **argv)
{
	struct stat parent, here;
	char up[4096];

	snprintf(up, sizeof(up), "%s/..", dir);
	if (stat(up, &parent) < 0)
		die(up);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		setsid();
		execvp(argv[0], argv);
		_exit(127);
	}
	long long mounted = -1;
	for (;;) {
		if (now_ns(CLOCK_MONOTONIC) - t0 > 60000000000LL) {
			fprintf(stderr, "cold: %s not listing %ld entries within 60 s\n", dir,
				expected);
			printf("%d -1\n", pid);
			return 1;
		}
		if (stat(dir, &here) == 0 && here.st_dev != parent.st_dev) {
			char sub[4200];
			if (mounted < 0)
				mounted = now_ns(CLOCK_MONOTONIC) - t0;
			snprintf(sub, sizeof(sub), "%s/containers", dir);
			if (count_entries(sub) >= expected)
				break;
		}
		usleep(200);
	}
	printf("%d %lld %lld\n", pid, now_ns(CLOCK_MONOTONIC) - t0, mounted);
	return 0;
}

/* ---- event -> inotify latency ---- */

static int wait_state_attrib(int ifd, int timeout_ms, long long *when)
{
	char buf[8192] __attribute__((aligned(8)));
	long long deadline = now_ns(CLOCK_MONOTONIC) + (long long)timeout_ms * 1000000LL;

	for (;;) {
		long long left = (deadline - now_ns(CLOCK_MONOTONIC)) / 1000000LL;
		if (left <= 0)
			return -1;
		struct pollfd p = { ifd, POLLIN, 0 };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		long long t = now_ns(CLOCK_REALTIME);
		ssize_t n = read(ifd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (char *q = buf; q < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)q;
			if (e->len && !strcmp(e->name, "state") && (e->mask & (IN_ATTRIB | IN_MODIFY))) {
				*when = t;
				return 0;
			}
			q += sizeof(*e) + e->len;
		}
	}
}

/* Docker's times of the events, from a stream opened before the first
 * action (a since/until query returns at most the engine's last 256). */
struct evstream {
	CURL *c;
	long long *t;
	long n, max;
	atomic_bool stop;
	char line[65536];
	size_t len;
};

static size_t ev_sink(char *p, size_t s, size_t n, void *arg)
{
	struct evstream *e = arg;

	for (size_t i = 0; i < s * n; i++) {
		if (p[i] != '\n') {
			if (e->len + 1 < sizeof(e->line))
				e->line[e->len++] = p[i];
			continue;
		}
		e->line[e->len] = 0;
		char *q = strstr(e->line, "\"timeNano\":");
		if (q && e->n < e->max)
			e->t[e->n++] = atoll(q + 11);
		e->len = 0;
	}
	return s * n;
}

static int ev_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct evstream *e = arg;

	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&e->stop) ? 1 : 0;
}

static void *ev_thread(void *arg)
{
	struct evstream *e = arg;

	curl_easy_perform(e->c);
	return NULL;
}

static int cmd_inotify(const char *sock, const char *id, const char *dir, long n)
{
	CURL *c = easy(sock);
	char path[512];
	long long *ret = calloc((size_t)n, sizeof(long long));
	long long *recv = calloc((size_t)n, sizeof(long long));
	int ifd = inotify_init1(IN_NONBLOCK);
	struct evstream ev = { .max = n, .t = calloc((size_t)n + 1, sizeof(long long)) };
	pthread_t evt_thread;
	char q[1024];

	if (ifd < 0 || inotify_add_watch(ifd, dir, IN_ATTRIB | IN_MODIFY) < 0)
		die(dir);
	snprintf(q, sizeof(q),
		 "http://docker/events?filters=%%7B%%22container%%22%%3A%%5B%%22%s%%22%%5D%%2C%%22event%%22%%3A%%5B%%22pause%%22%%2C%%22unpause%%22%%5D%%7D",
		 id);
	ev.c = easy(sock);
	curl_easy_setopt(ev.c, CURLOPT_URL, q);
	curl_easy_setopt(ev.c, CURLOPT_TIMEOUT, 0L);
	curl_easy_setopt(ev.c, CURLOPT_WRITEFUNCTION, ev_sink);
	curl_easy_setopt(ev.c, CURLOPT_WRITEDATA, &ev);
	curl_easy_setopt(ev.c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(ev.c, CURLOPT_XFERINFOFUNCTION, ev_progress);
	curl_easy_setopt(ev.c, CURLOPT_XFERINFODATA, &ev);
	if (pthread_create(&evt_thread, NULL, ev_thread, &ev))
		die("pthread_create");
	usleep(300000); /* the stream is open before the first action */
	long missed = 0;
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/containers/%s/%s", id, i % 2 ? "unpause" : "pause");
		if (request(c, "POST", path) != 204) {
			fprintf(stderr, "POST %s failed\n", path);
			return 1;
		}
		ret[i] = now_ns(CLOCK_REALTIME);
		if (wait_state_attrib(ifd, 2000, &recv[i]) < 0) {
			recv[i] = -1;
			missed++;
		}
		/* let the other files' touches of this change pass */
		usleep(2000);
		char drain[8192];
		while (read(ifd, drain, sizeof(drain)) > 0)
			;
	}
	if (n % 2) {
		snprintf(path, sizeof(path), "/containers/%s/unpause", id);
		request(c, "POST", path);
	}
	for (int i = 0; i < 300 && ev.n < n; i++)
		usleep(10000);
	atomic_store(&ev.stop, true);
	pthread_join(evt_thread, NULL);
	curl_easy_cleanup(ev.c);
	long long *a = calloc((size_t)n, sizeof(long long));
	long long *b = calloc((size_t)n, sizeof(long long));
	long na = 0, nb = 0;
	for (long i = 0; i < n; i++) {
		if (recv[i] < 0)
			continue;
		b[nb++] = recv[i] - ret[i];
		if (ev.n == n)
			a[na++] = recv[i] - ev.t[i];
	}
	if (na)
		printf("event %lld %lld %lld %ld\n", pct(a, (size_t)na, 0.5), pct(a, (size_t)na, 0.99),
		       pct(a, (size_t)na, 1.0), missed);
	else
		printf("event - - - %ld\n", missed);
	if (nb)
		printf("return %lld %lld %lld %ld\n", pct(b, (size_t)nb, 0.5), pct(b, (size_t)nb, 0.99),
		       pct(b, (size_t)nb, 1.0), missed);
	fprintf(stderr, "inotify: docker reported %ld of %ld events\n", ev.n, n);
	curl_easy_cleanup(c);
	return 0;
}

int main(int argc, char **argv)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc >= 4 && !strcmp(argv[1], "loop"))
		return cmd_loop(argv + 3, argc - 3, atol(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "http"))
		return cmd_http(argv[2], argv[3], atol(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "threads"))
		return cmd_threads(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc >= 4 && !strcmp(argv[1], "spawn"))
		return cmd_spawn(atol(argv[2]), argv + 3);
	if (argc >= 5 && !strcmp(argv[1], "cold"))
		return cmd_cold(atol(argv[2]), argv[3], argv + 4);
	if (argc >= 6 && !strcmp(argv[1], "inotify"))
		return cmd_inotify(argv[2], argv[3], argv[4], atol(argv[5]));
	fprintf(stderr, "usage: see the comment at the top of bench-helper.c\n");
	return 2;
}
