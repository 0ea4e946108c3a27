/* fuzz_names: file names <-> Docker names (names.c) and API paths
 * (docker_path in docker.c).
 *
 * Invariants: escaping round-trips and leaves no '/'; an unescaped file
 * name escapes back to itself in canonical case; docker_path either
 * refuses or makes a path whose argument is one segment: no '/', '?', '#'
 * or byte outside RFC 3986's unreserved set and '%'; the validators never
 * read past the end (ASan). */
#include <errno.h>
#include <strings.h>

#include "docker.h"
#include "names.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	char esc[NAME_MAX_ESCAPED], back[NAME_MAX_ESCAPED], path[1024];

	(void)name_host_valid(s);
	(void)name_object_valid(s);
	(void)name_image_ref_valid(s);
	(void)name_id_prefix(s, "0123456789abcdef0123456789abcdef");

	if (name_escape(s, esc, sizeof(esc)) >= 0) {
		FUZZ_CHECK(!strchr(esc, '/'), "a '/' in %s", esc);
		FUZZ_CHECK(name_unescape(esc, back, sizeof(back)) >= 0, "cannot unescape %s", esc);
		FUZZ_CHECK(!strcmp(back, s), "round trip changed %s", s);
	}
	/* a file name has no '/' (the kernel splits paths on it) */
	if (!strchr(s, '/') && name_unescape(s, back, sizeof(back)) >= 0 &&
	    name_escape(back, esc, sizeof(esc)) >= 0)
		FUZZ_CHECK(!strcasecmp(esc, s), "%s -> %s -> %s", s, back, esc);

	int err = docker_path(path, sizeof(path), "/containers/%s/json?x=%s", s, s);
	if (!err) {
		const char *seg = path + strlen("/containers/");
		const char *end = strstr(seg, "/json?x=");

		FUZZ_CHECK(end, "the fixed part moved: %s", path);
		for (const char *p = seg; p < end; p++)
			FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789-._~%", *p), "byte 0x%02x in a segment: %s",
				   (unsigned char)*p, path);
	} else {
		FUZZ_CHECK(err == -EINVAL || err == -ENAMETOOLONG, "docker_path: %d", err);
	}
	free(s);
	return 0;
}
