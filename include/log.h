/* log.h - logging to stderr (foreground) or syslog (background).
 *
 * The error helpers return the negative errno they are given, so a failure
 * path can log and return in one statement (as lxcfs's log_error does):
 *
 *	if (rc != SQLITE_OK)
 *		return log_error(-EIO, "store: %s", sqlite3_errmsg(db));
 */
#ifndef DOCKFS_LOG_H
#define DOCKFS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* To stderr, up to level. */
void log_init(enum log_level level);
/* From now on to syslog (a daemon that has detached; any thread may log). */
void log_to_syslog(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(err, ...) ({ log_msg(LOG_LVL_ERROR, __VA_ARGS__); (err); })
#define log_warn(err, ...)  ({ log_msg(LOG_LVL_WARN, __VA_ARGS__); (err); })
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
