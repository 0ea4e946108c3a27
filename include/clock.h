/* clock.h - the monotonic clock in milliseconds, for deadlines, backoffs
 * and durations (never for what is shown as a time of day). */
#ifndef DOCKFS_CLOCK_H
#define DOCKFS_CLOCK_H

#include <time.h>

static inline long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

#endif
