/* loop.c - the session loop: one thread reads and serves; others only take
 * over while a request blocks (the leader/followers pattern).
 *
 * libfuse's multi-threaded loop keeps every idle worker in read() on
 * /dev/fuse, and the kernel hands each request to the one that has waited
 * longest: consecutive requests run on different threads and each pays a
 * thread switch (a warm open/read/close measured 1.6x the single-threaded
 * hello_ll, scripts/bench).  Here one thread at a time, the leader, reads
 * and serves what it read, then reads again.  A handler about to block (on
 * an engine, on the notifier) calls loop_may_block(), which hands the lead
 * to another thread first, so the mount keeps being served meanwhile.  A
 * request that blocks without saying so is caught by a watchdog, which
 * hands the lead on after WATCHDOG_MS: nothing can hang the mount.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "loop.h"

#define WATCHDOG_MS 20   /* a request serving longer hands the lead on */
#define QUIET_MS 1000    /* after this long without requests the watchdog sleeps */
#define IDLE_DEFAULT 4   /* idle followers kept; beyond, they exit */
#define STOP_WAIT_MS 1500 /* at the end, how long a request may still run (engine
			   * calls are cancelled at once: docker_cancel_all) */
#define EXIT_TICK_MS 100  /* how often loop_run looks whether the session ended */
#define WAKE_SIGNAL SIGUSR2 /* ends a worker's read(), and loop_run's wait */

struct worker {
	struct worker *next;
	struct loop *l;
	pthread_t thread;
	struct fuse_buf buf;
	bool leading;
	bool done;               /* ended: joined by loop_run */
	bool cancelled;
	long long serving_since; /* ms, monotonic; 0 while reading or idle */
};

struct loop {
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t follow;   /* followers wait here for the lead */
	pthread_cond_t watch;    /* the watchdog's sleep */
	struct worker *leader;   /* NULL: the next follower takes the lead */
	struct worker *workers;
	unsigned nthreads, nidle, max_threads, max_idle;
	bool exiting, watchdog_asleep;
	bool saturated;          /* all threads are busy now */
	long long saturated_said; /* ms; when the log last said so, 0: never */
	unsigned saturated_unsaid; /* times it happened since then */
	int error;
	long long last_request; /* ms */
	sem_t finish;
	pthread_t watchdog;
};

static __thread struct worker *self;

static void *worker_main(void *arg);

#define SATURATED_SAY_MS 60000

/* With l->lock held: all threads became busy. */
static void say_saturated(struct loop *l)
{
	long long now = mono_ms();

	if (l->saturated_said && now - l->saturated_said < SATURATED_SAY_MS) {
		l->saturated_unsaid++;
		return;
	}
	if (l->saturated_said)
		log_warn(0, "all %u threads serving requests are busy: the next requests wait "
			 "(-o max_threads); %u more times since this was said, %lld s ago",
			 l->max_threads, l->saturated_unsaid, (now - l->saturated_said) / 1000);
	else
		log_warn(0, "all %u threads serving requests are busy: the next requests wait "
			 "(-o max_threads)", l->max_threads);
	l->saturated_said = now;
	l->saturated_unsaid = 0;
}

/* With l->lock held: the lead is free; a follower takes it, or a new
 * thread when none waits. */
static void promote(struct loop *l)
{
	struct worker *w;
	sigset_t all, old;

	l->leader = NULL;
	if (l->nidle) {
		l->saturated = false;
		pthread_cond_signal(&l->follow);
		return;
	}
	if (l->nthreads >= l->max_threads) {
		/* The first to finish takes it; until then nothing is read,
		 * not even the kernel's interrupts: say so, at most once a
		 * minute (a loaded mount meets this many times a second). */
		if (!l->saturated)
			say_saturated(l);
		l->saturated = true;
		return;
	}
	l->saturated = false;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	w->l = l;
	/* Signals go to the thread in loop_run, never to a worker, but for
	 * the one that ends a worker's read() at the end. */
	sigfillset(&all);
	sigdelset(&all, WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(w);
		log_warn(-err, "cannot start a thread to serve requests: %s", strerror(err));
		return;
	}
	w->next = l->workers;
	l->workers = w;
	l->nthreads++;
}

void loop_may_block(void)
{
	struct worker *w = self;

	if (!w)
		return;
	pthread_mutex_lock(&w->l->lock);
	if (w->leading) {
		w->leading = false;
		promote(w->l);
	}
	pthread_mutex_unlock(&w->l->lock);
}

static void wake(int sig)
{
	(void)sig; /* only ends a blocking call with EINTR */
}

void loop_wake(pthread_t thread)
{
	pthread_kill(thread, WAKE_SIGNAL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct loop *l = w->l;
	struct fuse_session *se = l->se;

	self = w;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		bool quit = false;

		while (!l->exiting && l->leader && !quit) {
			if (l->nidle >= l->max_idle) {
				quit = true;
				break;
			}
			l->nidle++;
			pthread_cond_wait(&l->follow, &l->lock);
			l->nidle--;
		}
		if (quit && !l->exiting) {
			/* Enough idle threads: this one goes, on its own. */
			for (struct worker **pp = &l->workers; *pp; pp = &(*pp)->next)
				if (*pp == w) {
					*pp = w->next;
					break;
				}
			l->nthreads--;
			pthread_detach(w->thread);
			pthread_mutex_unlock(&l->lock);
			free(w->buf.mem);
			free(w);
			return NULL;
		}
		if (l->exiting)
			break;
		l->leader = w;
		w->leading = true;
		pthread_mutex_unlock(&l->lock);

		int res = fuse_session_receive_buf(se, &w->buf);

		pthread_mutex_lock(&l->lock);
		if ((res == -EINTR || res == -EAGAIN) && !l->exiting) {
			if (w->leading) {
				w->leading = false;
				l->leader = NULL;
			}
			continue;
		}
		if (res <= 0 || fuse_session_exited(se)) {
			if (res < 0 && !l->exiting)
				l->error = res; /* not the EINTR that ends it */
			l->exiting = true;
			pthread_cond_broadcast(&l->follow);
			pthread_cond_signal(&l->watch);
			sem_post(&l->finish);
			break;
		}
		w->serving_since = l->last_request = mono_ms();
		if (l->watchdog_asleep)
			pthread_cond_signal(&l->watch);
		pthread_mutex_unlock(&l->lock);

		fuse_session_process_buf(se, &w->buf);

		pthread_mutex_lock(&l->lock);
		w->serving_since = 0;
		if (w->leading) {
			/* Reads on at the top, as the leader still. */
			w->leading = false;
			l->leader = NULL;
		}
	}
	if (w->leading) {
		w->leading = false;
		l->leader = NULL;
	}
	w->done = true;
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* Hands the lead on when the leader has served one request for longer
 * than WATCHDOG_MS; sleeps while the session is quiet. */
static void *watchdog_main(void *arg)
{
	struct loop *l = arg;

	pthread_mutex_lock(&l->lock);
	while (!l->exiting) {
		long long now = mono_ms();
		struct worker *w = l->leader;

		if (w && w->serving_since && now - w->serving_since >= WATCHDOG_MS) {
			w->leading = false;
			promote(l);
		}
		if (now - l->last_request > QUIET_MS && !(w && w->serving_since)) {
			l->watchdog_asleep = true;
			pthread_cond_wait(&l->watch, &l->lock);
			l->watchdog_asleep = false;
		} else {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += WATCHDOG_MS / 2 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&l->watch, &l->lock, &until);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int loop_run(struct fuse_session *se, unsigned max_threads, unsigned max_idle,
	     void (*on_stop)(void))
{
	struct loop l = { .se = se, .max_threads = max_threads ? max_threads : 1,
			  .max_idle = max_idle == UINT_MAX ? IDLE_DEFAULT : max_idle };
	struct sigaction sa = { .sa_handler = wake }; /* no SA_RESTART */
	sigset_t all, old;
	int err;

	sigemptyset(&sa.sa_mask);
	sigaction(WAKE_SIGNAL, &sa, NULL);
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.follow, NULL);
	pthread_cond_init(&l.watch, NULL);
	sem_init(&l.finish, 0, 0);
	l.last_request = mono_ms();

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&l.watchdog, NULL, watchdog_main, &l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		l.error = -err;
		goto out;
	}
	pthread_mutex_lock(&l.lock);
	promote(&l);
	bool started = l.nthreads > 0;
	pthread_mutex_unlock(&l.lock);

	/* A signal (SIGTERM: libfuse's handler ends the session) interrupts
	 * the wait; a worker posts when the kernel ends the session. */
	while (started && !fuse_session_exited(se)) {
		pthread_mutex_lock(&l.lock);
		bool exiting = l.exiting;
		pthread_mutex_unlock(&l.lock);
		if (exiting)
			break;
		/* Not sem_wait alone: the signal may be taken by a thread
		 * other than this one (a host's worker, curl's resolver), whose
		 * handler ends the session without waking us; looked at again
		 * every tick. */
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += EXIT_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		sem_timedwait(&l.finish, &until);
	}
	if (!started)
		l.error = -EAGAIN;

	pthread_mutex_lock(&l.lock);
	l.exiting = true;
	pthread_cond_broadcast(&l.follow);
	pthread_cond_signal(&l.watch);
	pthread_mutex_unlock(&l.lock);
	pthread_join(l.watchdog, NULL);
	if (on_stop)
		on_stop(); /* requests waiting for engines give up */
	/* Followers see the flag; the reader is woken from read() (again and
	 * again: it may not have been in it yet); a request still running
	 * may finish for STOP_WAIT_MS, then it is cancelled, as libfuse's
	 * loop does with all its workers. */
	for (long waited = 0;; waited += 20) {
		bool running = false;
		struct timespec tick = { 0, 20 * 1000000L };

		pthread_mutex_lock(&l.lock);
		for (struct worker *w = l.workers; w; w = w->next) {
			if (w->done || w->cancelled)
				continue;
			running = true;
			if (!w->serving_since) {
				loop_wake(w->thread);
			} else if (waited >= STOP_WAIT_MS) {
				log_warn(-EBUSY, "a request still runs at the end: cancelled");
				pthread_cancel(w->thread);
				w->cancelled = true;
			}
		}
		pthread_mutex_unlock(&l.lock);
		if (!running)
			break;
		nanosleep(&tick, NULL);
	}
	while (l.workers) {
		struct worker *w = l.workers;

		l.workers = w->next;
		pthread_join(w->thread, NULL);
		free(w->buf.mem);
		free(w);
	}
out:
	sem_destroy(&l.finish);
	pthread_cond_destroy(&l.watch);
	pthread_cond_destroy(&l.follow);
	pthread_mutex_destroy(&l.lock);
	fuse_session_reset(se);
	return l.error;
}
