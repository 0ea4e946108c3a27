/* check.h - the smallest test harness: "ok - ..." / "not ok - ..." lines
 * and a closing "N passed, N failed"; main returns non-zero on failure. */
#ifndef DOCKFS_CHECK_H
#define DOCKFS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                              \
	do {                                                          \
		if (cond) {                                           \
			check_passed++;                               \
			printf("ok - ");                              \
		} else {                                              \
			check_failed++;                               \
			printf("not ok - %s:%d: ", __FILE__, __LINE__); \
		}                                                     \
		printf(__VA_ARGS__);                                  \
		printf("\n");                                         \
	} while (0)

#define CHECK_STR(got, want)                                              \
	do {                                                              \
		const char *g_ = (got), *w_ = (want);                     \
		CHECK(g_ && strcmp(g_, w_) == 0, "%s == \"%s\" (got \"%s\")", \
		      #got, w_, g_ ? g_ : "(null)");                       \
	} while (0)

#define CHECK_INT(got, want)                                              \
	do {                                                              \
		long long g_ = (long long)(got), w_ = (long long)(want);  \
		CHECK(g_ == w_, "%s == %lld (got %lld)", #got, w_, g_);   \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}

#endif
