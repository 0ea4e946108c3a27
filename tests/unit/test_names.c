/* Unit tests: names.c (escaping, host names, short ids). */
#include <errno.h>

#include "check.h"
#include "names.h"

static void roundtrip(const char *name, const char *want_file)
{
	char file[NAME_MAX_ESCAPED], back[NAME_MAX_ESCAPED];

	CHECK(name_escape(name, file, sizeof(file)) >= 0, "escape %s", name);
	CHECK_STR(file, want_file);
	CHECK(name_unescape(file, back, sizeof(back)) >= 0, "unescape %s", file);
	CHECK_STR(back, name);
}

int main(void)
{
	char out[16];

	roundtrip("busybox:latest", "busybox:latest");
	roundtrip("registry:5000/team/app:1.2", "registry:5000%2Fteam%2Fapp:1.2");
	roundtrip("100%/x", "100%25%2Fx");
	roundtrip("%2F", "%252F");
	roundtrip("", "");
	CHECK(name_unescape("a%2fb", out, sizeof(out)) == 3 && strcmp(out, "a/b") == 0,
	      "lower-case %%2f accepted");
	CHECK_INT(name_unescape("a%zz", out, sizeof(out)), -EINVAL);
	CHECK_INT(name_unescape("a%2", out, sizeof(out)), -EINVAL);
	CHECK_INT(name_unescape("a%", out, sizeof(out)), -EINVAL);
	CHECK_INT(name_escape("0123456789abcdef", out, sizeof(out)), -ENAMETOOLONG);
	CHECK_INT(name_escape("////", out, 12), -ENAMETOOLONG);
	CHECK_INT(name_escape("///", out, 10), 9);
	CHECK_INT(name_unescape("0123456789abcdef", out, sizeof(out)), -ENAMETOOLONG);

	CHECK(name_host_valid("mgr"), "mgr valid");
	CHECK(name_host_valid("prod-eu.1_a"), "prod-eu.1_a valid");
	CHECK(!name_host_valid(""), "empty invalid");
	CHECK(!name_host_valid(".hidden"), ".hidden invalid");
	CHECK(!name_host_valid("-x"), "-x invalid");
	CHECK(!name_host_valid("a b"), "space invalid");
	CHECK(!name_host_valid("a:b"), "colon invalid (M/containers uses it)");
	CHECK(!name_host_valid("a/b"), "slash invalid");
	CHECK(name_host_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	      "64 chars valid");
	CHECK(!name_host_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	      "65 chars invalid");

	const char *id = "72358890fdd6422b8f5768f901f8e212f3b724c302e76c0d6c4abc9644df847d";
	CHECK(name_id_prefix("7235", id), "4-digit prefix");
	CHECK(name_id_prefix("72358890fdd6", id), "12-digit short id");
	CHECK(name_id_prefix(id, id), "full id");
	CHECK(!name_id_prefix("723", id), "3 digits too short");
	CHECK(!name_id_prefix("7236", id), "not a prefix");
	CHECK(!name_id_prefix("web", id), "not hex");
	return check_done();
}
