/* loop.h - the session loop: one thread reads and serves, others take
 * over only while a request blocks (see loop.c). */
#ifndef DOCKFS_LOOP_H
#define DOCKFS_LOOP_H

#include <pthread.h>
#include <stdbool.h>

#include <fuse_lowlevel.h>

/* Serves se until it ends, as fuse_session_loop_mt() does, with at most
 * max_threads threads serving at once and max_idle waiting (UINT_MAX: a
 * few).  At the end, on_stop (may be NULL) is called before the requests
 * still running are waited for.  Returns 0 or -errno. */
int loop_run(struct fuse_session *se, unsigned max_threads, unsigned max_idle,
	     void (*on_stop)(void));

/* From a request handler, before something that may take long (an engine,
 * the notifier): another thread reads the next requests meanwhile.  A
 * no-op outside loop_run's threads. */
void loop_may_block(void);

/* Ends a blocking wait of thread with EINTR (a signal with a handler that
 * does nothing): the thread running loop_run, after fuse_session_exit(),
 * so that it sees the session ended. */
void loop_wake(pthread_t thread);

#endif
