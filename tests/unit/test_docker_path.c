/* Unit tests: docker_path(), the one maker of Engine API paths.
 *
 * A table of cases, then a property test over random byte strings from a
 * fixed seed: each argument either is refused (-EINVAL, -ENAMETOOLONG) or
 * comes out percent-encoded so that it decodes back to exactly itself and
 * holds nothing the engine's router or query parser would read as
 * structure.  Run longer or with another seed by hand:
 *
 *	DOCKFS_PATH_ITERATIONS=5000000 DOCKFS_PATH_SEED=7 build/test_docker_path
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "docker.h"

#define ITERATIONS 200000
#define SEED 0x5eed14ULL

static void path_is(const char *got, int err, const char *want)
{
	CHECK(err == 0 && strcmp(got, want) == 0, "-> \"%s\" (got %d \"%s\")", want, err, got);
}

static void table(void)
{
	char out[512];
	int err;

	/* What the engine must still find (checked against the fleet's
	 * engines: the router matches the decoded path). */
	err = docker_path(out, sizeof(out), "/images/%s/json", "busybox:latest");
	path_is(out, err, "/images/busybox%3Alatest/json");
	err = docker_path(out, sizeof(out), "/images/%s/json", "library/busybox");
	path_is(out, err, "/images/library%2Fbusybox/json");
	err = docker_path(out, sizeof(out), "/images/%s?force=%d", "registry:5000/a/b:tag", 1);
	path_is(out, err, "/images/registry%3A5000%2Fa%2Fb%3Atag?force=1");
	err = docker_path(out, sizeof(out), "/images/%s/json",
			  "sha256:b05b77ad989bf22b6afc138c9e9a747d611962c3a010a5e05558ca1940dd555b");
	path_is(out, err, "/images/sha256%3Ab05b77ad989bf22b6afc138c9e9a747d611962c3a010a5e05558"
		"ca1940dd555b/json");
	err = docker_path(out, sizeof(out), "/containers/%s/json", "web-1_a.b~c");
	path_is(out, err, "/containers/web-1_a.b~c/json");

	/* Query values: nothing of them is structure. */
	err = docker_path(out, sizeof(out), "/containers/%s/kill?signal=%s", "abc", "SIGRTMIN+3");
	path_is(out, err, "/containers/abc/kill?signal=SIGRTMIN%2B3");
	err = docker_path(out, sizeof(out), "/x?name=%s", "a b?c#d%e&f=g/h");
	path_is(out, err, "/x?name=a%20b%3Fc%23d%25e%26f%3Dg%2Fh");
	err = docker_path(out, sizeof(out), "/x?name=%s", "../nodes/X");
	path_is(out, err, "/x?name=..%2Fnodes%2FX");
	err = docker_path(out, sizeof(out), "/x?name=%s", "\xc3\xa9\xff");
	path_is(out, err, "/x?name=%C3%A9%FF");
	err = docker_path(out, sizeof(out), "/x/%s?force=%d", "%2F", 0);
	path_is(out, err, "/x/%252F?force=0");

	/* Numbers. */
	err = docker_path(out, sizeof(out), "/events?since=%lld&n=%d&t=%ld", -9000000000LL, -5,
			  2147483648L);
	path_is(out, err, "/events?since=-9000000000&n=-5&t=2147483648");
	err = docker_path(out, sizeof(out), "/swarm");
	path_is(out, err, "/swarm");

	/* Refused: what would leave the object, or say nothing. */
	static const char *const bad_anywhere[] = {
		"", ".", "..", "a\nb", "a\rb", "\t", "a\x7f", "\x01", "x\x1f",
	};
	for (size_t i = 0; i < sizeof(bad_anywhere) / sizeof(bad_anywhere[0]); i++) {
		strcpy(out, "junk");
		CHECK_INT(docker_path(out, sizeof(out), "/images/%s/json", bad_anywhere[i]), -EINVAL);
		CHECK_STR(out, "");
		CHECK_INT(docker_path(out, sizeof(out), "/x?name=%s", bad_anywhere[i]), -EINVAL);
	}
	/* Before the query the engine decodes %2F and cleans the path. */
	static const char *const bad_in_path[] = {
		"../nodes/X", "a/../b", "a/..", "a/.", "./a", "/a", "a/", "a//b", "..%2F",
	};
	for (size_t i = 0; i < sizeof(bad_in_path) / sizeof(bad_in_path[0]); i++) {
		if (i == sizeof(bad_in_path) / sizeof(bad_in_path[0]) - 1) {
			/* "%2F" is text to us: "..%2F" is one harmless segment. */
			err = docker_path(out, sizeof(out), "/images/%s/json", bad_in_path[i]);
			path_is(out, err, "/images/..%252F/json");
			continue;
		}
		CHECK_INT(docker_path(out, sizeof(out), "/images/%s/json", bad_in_path[i]), -EINVAL);
		CHECK_INT(docker_path(out, sizeof(out), "/x?n=%s", bad_in_path[i]), 0);
	}
	err = docker_path(out, sizeof(out), "/images/%s/json", "a/...");
	path_is(out, err, "/images/a%2F.../json");
	const char *volatile null_arg = NULL;   /* past the compiler's own check */
	CHECK_INT(docker_path(out, sizeof(out), "/images/%s/json", null_arg), -EINVAL);
	/* Conversions it does not take are a caller's bug: refused. */
	CHECK_INT(docker_path(out, sizeof(out), "/x/%x", 1u), -EINVAL);
	CHECK_INT(docker_path(out, sizeof(out), "/x/%%"), -EINVAL);
	CHECK_INT(docker_path(out, sizeof(out), "/x/%5s", "a"), -EINVAL);

	/* Room: the path and its NUL, exactly ("/a/b%20c" is 8 bytes). */
	strcpy(out, "junk");
	CHECK_INT(docker_path(out, 8, "/a/%s", "b c"), -ENAMETOOLONG);
	CHECK_STR(out, "");
	err = docker_path(out, 9, "/a/%s", "b c");
	path_is(out, err, "/a/b%20c");
	CHECK_INT(docker_path(out, 0, "/a"), -ENAMETOOLONG);
	CHECK_INT(docker_path(out, 3, "/%d", 100), -ENAMETOOLONG);
}

/* ---- the property ---------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: fixed, so a failure names its seed and iteration. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A random C string: bytes 1..255, weighted to what matters here. */
static void random_arg(char *s, size_t cap)
{
	static const char special[] = "/./../%?#+ &=:~-_\\\n\r\x7f\x01\x1f" "aZ9";
	size_t n = (size_t)(rnd() % 24);

	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rnd();
		if (r % 3 == 0)
			s[i] = special[(r >> 8) % (sizeof(special) - 1)];
		else
			s[i] = (char)(1 + (r >> 8) % 255);
	}
	s[n] = '\0';
}

/* The rule, written the other way round (whole string, then its parts). */
static bool oracle_ok(const char *a, bool in_path)
{
	if (!strcmp(a, "") || !strcmp(a, ".") || !strcmp(a, ".."))
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			return false;
	if (!in_path)
		return true;
	char copy[64];
	snprintf(copy, sizeof(copy), "/%s/", a);
	return !strstr(copy, "//") && !strstr(copy, "/./") && !strstr(copy, "/../");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;   /* lower case is not what docker_path writes */
}

/* Decodes the n bytes at s (unreserved bytes and %XX only) into out;
 * false for anything else, a raw '/', '?', '#', '+', ' ' or lone '%' among them. */
static bool decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return false;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || strchr("-._~", c)) {
			out[o++] = (char)c;
		} else {
			return false;
		}
	}
	out[o] = '\0';
	return true;
}

static void property(void)
{
	const char *env_n = getenv("DOCKFS_PATH_ITERATIONS"), *env_seed = getenv("DOCKFS_PATH_SEED");
	long iterations = env_n ? atol(env_n) : ITERATIONS;
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : SEED;
	long wrong_err = 0, wrong_text = 0, wrong_room = 0, refused = 0, made = 0;
	int shown = 0;

	rng_state = seed;
	for (long it = 0; it < iterations; it++) {
		char arg[32], out[160], back[160];
		bool in_path = rnd() & 1;
		const char *pre = in_path ? "/images/" : "/containers/c/kill?signal=";
		const char *post = in_path ? "/json" : "&n=7";
		size_t outlen = rnd() % 4 == 0 ? (size_t)(rnd() % 60) : sizeof(out);

		random_arg(arg, sizeof(arg));
		strcpy(out, "junk");
		int err = in_path ? docker_path(out, outlen, "/images/%s/json", arg)
				  : docker_path(out, outlen, "/containers/c/kill?signal=%s&n=%d",
						arg, 7);
		size_t need = strlen(pre) + strlen(post) + 1;
		for (const char *p = arg; *p; p++)
			need += strchr("-._~", *p) || ((*p | 32) >= 'a' && (*p | 32) <= 'z') ||
				(*p >= '0' && *p <= '9') ? 1 : 3;
		bool ok = oracle_ok(arg, in_path);
		int want = !ok ? -EINVAL : need > outlen ? -ENAMETOOLONG : 0;
		bool bad = false;

		if (err != want) {
			wrong_err++;
			bad = true;
		} else if (err) {
			refused++;
			if (outlen && out[0]) {
				wrong_text++;
				bad = true;
			}
		} else {
			size_t len = strlen(out), lp = strlen(pre), ls = strlen(post);
			made++;
			if (len + 1 != need) {
				wrong_room++;
				bad = true;
			} else if (strncmp(out, pre, lp) || strcmp(out + len - ls, post) ||
				   !decode(out + lp, len - lp - ls, back) || strcmp(back, arg)) {
				wrong_text++;
				bad = true;
			}
		}
		if (bad && shown++ < 5) {
			printf("# seed %#llx iteration %ld: arg", (unsigned long long)seed, it);
			for (const char *p = arg; *p; p++)
				printf(" %02x", (unsigned char)*p);
			printf(", outlen %zu: got %d \"%s\", wanted %d\n", outlen, err,
			       err ? (outlen ? out : "") : out, want);
		}
	}
	CHECK(wrong_err == 0, "%ld random arguments (seed %#llx): the error is the rule's "
	      "(%ld wrong)", iterations, (unsigned long long)seed, wrong_err);
	CHECK(wrong_text == 0, "every path made decodes back to its argument with nothing raw "
	      "but unreserved bytes, every refusal leaves \"\" (%ld wrong)", wrong_text);
	CHECK(wrong_room == 0, "every path has the length its escaping needs (%ld wrong)",
	      wrong_room);
	/* The draw must exercise both outcomes, or the property says little. */
	CHECK(iterations < 1000 || (made > iterations / 10 && refused > iterations / 10),
	      "both outcomes drawn: %ld made, %ld refused", made, refused);
}

int main(void)
{
	table();
	property();
	return check_done();
}
