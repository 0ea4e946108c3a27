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

	CHECK(name_object_valid("web-1_a.b"), "web-1_a.b valid");
	CHECK(name_object_valid("x"), "one char valid");
	CHECK(!name_object_valid(""), "empty object name invalid");
	CHECK(!name_object_valid("-x"), "-x invalid");
	CHECK(!name_object_valid(".."), ".. invalid");
	CHECK(!name_object_valid("../nodes"), "../nodes invalid");
	CHECK(!name_object_valid("a b"), "a b invalid");
	CHECK(!name_object_valid("a+b"), "a+b invalid");
	CHECK(!name_object_valid("a%2Fb"), "a%%2Fb invalid");

	static const char *const refs_ok[] = {
		"busybox", "busybox:latest", "library/busybox", "library/busybox:1.36",
		"registry:5000/a/b:tag", "localhost/x", "localhost:5000/x:y", "Registry.Example/x",
		"my-reg.example.com/team/app_x__y.z--w:v1.2-rc_3",
		"sha256:b05b77ad989bf22b6afc138c9e9a747d611962c3a010a5e05558ca1940dd555b",
		"b05b77ad989b",
		"busybox@sha256:b05b77ad989bf22b6afc138c9e9a747d611962c3a010a5e05558ca1940dd555b",
		"a/b:t@sha256+b64u:0123456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < sizeof(refs_ok) / sizeof(refs_ok[0]); i++)
		CHECK(name_image_ref_valid(refs_ok[i]), "reference %s valid", refs_ok[i]);
	static const char *const refs_bad[] = {
		"", "..", ".", "../nodes/X", "a/../b", "a//b", "/a", "a/", "Busybox", "a b",
		"a?b", "a#b", "a+b", "a%2Fb", "a\nb", "a:", "a:-x", "a:.x", "reg:/a", "reg:50x0/a",
		"-reg.io/a", "reg-.io/a", "reg..io/a", "a__-b", "a..b", "a.", "_a",
		"a@sha256:abc", "a@:0123456789abcdef0123456789abcdef", "a@sha256",
		"x:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"[::1]:5000/a",
	};
	for (size_t i = 0; i < sizeof(refs_bad) / sizeof(refs_bad[0]); i++)
		CHECK(!name_image_ref_valid(refs_bad[i]), "reference \"%s\" invalid", refs_bad[i]);
	return check_done();
}
