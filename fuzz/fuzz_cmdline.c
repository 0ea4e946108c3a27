/* fuzz_cmdline: what is written to a ctl or exec file, as words
 * (cmdline_split), then as `docker run` and `docker service create`
 * options (cmdline_container_spec, cmdline_service_spec).
 *
 * Invariants: a split never yields a word with a NUL; a write that is text
 * (text.h) yields words that are text; a spec that parses is a JSON body
 * jansson can write, whose strings are all text when the words were (no
 * word is dropped: each text word is carried or refused); a refusal says
 * why, as printable text. */
#include <jansson.h>

#include "cmdline.h"
#include "text.h"
#include "fuzz.h"

static void check_strings_text(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach((json_t *)j, k, v) {
			FUZZ_CHECK(text_check(k, strlen(k), NULL, NULL) == TEXT_OK, "key %s", k);
			check_strings_text(v);
		}
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			check_strings_text(v);
		break;
	case JSON_STRING:
		FUZZ_CHECK(text_check(json_string_value(j), json_string_length(j), NULL, NULL) ==
			   TEXT_OK, "a string that is not text");
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct argv a;
	char err[256];
	bool text = text_check((const char *)data, size, NULL, NULL) == TEXT_OK;

	if (cmdline_split((const char *)data, size, &a))
		return 0;
	FUZZ_CHECK(a.v && !a.v[a.n], "argv not NULL-terminated");
	for (int i = 0; i < a.n; i++)
		FUZZ_CHECK(!text || text_check(a.v[i], strlen(a.v[i]), NULL, NULL) == TEXT_OK,
			   "word %d of a text line is not text", i);
	if (a.n >= 1) {
		json_t *body = NULL;
		char *name = NULL;
		int rc = cmdline_container_spec(a.n - 1, a.v + 1, &body, &name, err, sizeof(err));

		if (rc == 0) {
			char *dump = json_dumps(body, JSON_COMPACT);

			FUZZ_CHECK(dump, "a body jansson cannot write");
			free(dump);
			check_strings_text(body);
			FUZZ_CHECK(json_is_string(json_object_get(body, "Image")), "no Image");
		} else {
			FUZZ_CHECK(!body && !name, "a refusal that returns a body");
			FUZZ_CHECK(err[0], "a refusal without a reason");
		}
		json_decref(body);
		free(name);

		json_t *spec = NULL;
		rc = cmdline_service_spec(a.n - 1, a.v + 1, &spec, err, sizeof(err));
		if (rc == 0) {
			char *dump = json_dumps(spec, JSON_COMPACT);

			FUZZ_CHECK(dump, "a spec jansson cannot write");
			free(dump);
			check_strings_text(spec);
		} else {
			FUZZ_CHECK(!spec && err[0], "a refusal without a reason");
		}
		json_decref(spec);
	}
	argv_free(&a);
	return 0;
}
