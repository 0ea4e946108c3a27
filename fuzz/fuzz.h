/* fuzz.h - what the libFuzzer harnesses share (scripts/fuzz builds them).
 *
 * FUZZ_CHECK is an invariant of the code under test: a failure aborts, so
 * libFuzzer keeps the input as a crash, as it does for a sanitizer report. */
#ifndef DOCKFS_FUZZ_H
#define DOCKFS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, \
				__LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* data[0..size) as a NUL-terminated copy (free()). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
