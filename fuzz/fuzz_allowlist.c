/* fuzz_allowlist: JSON bodies written by callers below admin, through
 * allowlist_rebuild (allowlist.c) with a resolver that stands for an
 * engine's networks and volumes.  The first byte picks the kind.
 *
 * Invariants: a refusal says why; a body that is rebuilt is rebuilt again
 * to itself (what dockfs writes, it would take), and jansson can write it. */
#include <errno.h>

#include <jansson.h>

#include "allowlist.h"
#include "fuzz.h"

static int net(void *arg, const char *ref, struct allowlist_ref *out)
{
	static const struct {
		const char *name, *id, *driver;
	} nets[] = {
		{ "host", "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0", "host" },
		{ "back", "aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66",
		  "bridge" },
		{ "ovl", "0011223344556677", "overlay" },
	};
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		if (!strcmp(ref, nets[i].name) || (*ref && !strncmp(nets[i].id, ref, strlen(ref)))) {
			snprintf(out->name, sizeof(out->name), "%s", nets[i].name);
			snprintf(out->id, sizeof(out->id), "%s", nets[i].id);
			snprintf(out->driver, sizeof(out->driver), "%s", nets[i].driver);
			return 0;
		}
	}
	return -ENOENT;
}

static int vol(void *arg, const char *name, struct allowlist_ref *out)
{
	if (!strcmp(name, "plain") || !strcmp(name, "bindvol")) {
		snprintf(out->name, sizeof(out->name), "%s", name);
		snprintf(out->driver, sizeof(out->driver), "local");
		out->options = !strcmp(name, "bindvol");
		return 0;
	}
	return -ENOENT;
}

static const struct allowlist_resolver resolver = { net, vol, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum allowlist_kind kind = (enum allowlist_kind)(data[0] % 4);
	json_t *in = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	json_t *out = NULL, *again = NULL;
	char why[512] = "";

	if (!in)
		return 0;
	int err = allowlist_rebuild(kind, in, &resolver, &out, why, sizeof(why));
	if (err) {
		FUZZ_CHECK(!out, "a refusal with a body");
		FUZZ_CHECK(why[0], "a refusal (%d) without a reason", err);
	} else {
		char *dump = json_dumps(out, JSON_COMPACT);

		FUZZ_CHECK(dump, "a rebuilt body jansson cannot write");
		err = allowlist_rebuild(kind, out, &resolver, &again, why, sizeof(why));
		FUZZ_CHECK(!err, "its own body refused: %s: %s", why, dump);
		FUZZ_CHECK(json_equal(out, again), "rebuilt differently: %s", dump);
		free(dump);
	}
	json_decref(again);
	json_decref(out);
	json_decref(in);
	return 0;
}
