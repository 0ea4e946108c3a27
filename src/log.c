/* log.c - stderr or syslog, one line per message, safe from any thread. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static atomic_bool use_syslog;  /* switched while workers log: log_to_syslog */
static enum log_level max_level = LOG_LVL_INFO;

void log_init(enum log_level level)
{
	max_level = level;
}

void log_to_syslog(void)
{
	if (!atomic_load(&use_syslog))
		openlog("dockfs", LOG_PID, LOG_DAEMON);
	atomic_store(&use_syslog, true);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (atomic_load(&use_syslog)) {
		syslog(prio[level], "%s", line);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		/* One fprintf per line: stdio locks the stream, so lines from
		 * different threads never interleave. */
		fprintf(stderr, "%02d:%02d:%02d.%03ld dockfs %s: %s\n", tm.tm_hour,
			tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, tag[level], line);
	}
}
