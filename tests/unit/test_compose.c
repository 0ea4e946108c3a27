/* Unit tests: compose files to stack specs and back (compose.c). */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "compose.h"

struct held {
	const char *name, *data;
};

static const struct held held_files[] = {
	{ "db_password.txt", "s3cret" },
	{ "app.conf", "key=value\n" },
	{ "web.env", "# comment\nFROM_FILE=1\nEMPTY=\nOVERRIDE=file\n" },
	{ NULL, NULL },
};

static int get_file(void *arg, const char *name, const char **data, size_t *len)
{
	for (const struct held *h = arg; h->name; h++)
		if (!strcmp(h->name, name)) {
			*data = h->data;
			*len = strlen(h->data);
			return 0;
		}
	return -ENOENT;
}

static const struct compose_files files = { get_file, (void *)held_files };

static char *at(json_t *j, const char *path)
{
	char part[128];

	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		if (json_is_array(j))
			j = json_array_get(j, (size_t)atoi(part));
		else
			j = json_object_get(j, part);
		path += n;
		if (*path == '.')
			path++;
	}
	return j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(none)");
}

#define CHECK_AT(j, path, want)                                \
	do {                                                   \
		char *got_ = at((j), (path));                  \
		CHECK_STR(got_, want);                         \
		free(got_);                                    \
	} while (0)

static int plan(const char *yaml, const char *env, struct compose_plan *p, char *why)
{
	return compose_plan_make("st", yaml, strlen(yaml), env, env ? strlen(env) : 0, &files, p,
				 why, 256);
}

static void interpolation(void)
{
	json_t *vars = json_pack("{s:s, s:s}", "SET", "v", "EMPTY", "");
	json_t *unset = json_array();
	char *out, why[256];
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "$SET", "v" }, { "${SET}", "v" }, { "a${SET}b", "avb" }, { "$$SET", "$SET" },
		{ "${UNSET:-d}", "d" }, { "${EMPTY:-d}", "d" }, { "${EMPTY-d}", "" },
		{ "${UNSET-d}", "d" }, { "${SET:-d}", "v" }, { "${SET:?x}", "v" }, { "$UNSET", "" },
		{ "${UNSET:-a b}", "a b" }, { "x$$", "x$" }, { "${SET}${SET}", "vv" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = compose_interpolate(cases[i].in, vars, unset, &out, why, sizeof(why));
		CHECK(rc == 0, "interpolate %s (%s)", cases[i].in, rc ? why : "");
		if (!rc) {
			CHECK_STR(out, cases[i].out);
			free(out);
		}
	}
	CHECK_INT(json_array_size(unset), 1);
	CHECK_STR(json_string_value(json_array_get(unset, 0)), "UNSET");
	CHECK(compose_interpolate("${UNSET:?needed here}", vars, NULL, &out, why, sizeof(why)) ==
	      -EINVAL && strstr(why, "required variable UNSET is missing a value: needed here"),
	      "${VAR:?err} refuses: %s", why);
	CHECK(compose_interpolate("${EMPTY:?e}", vars, NULL, &out, why, sizeof(why)) == -EINVAL,
	      "${EMPTY:?e} refuses");
	CHECK(compose_interpolate("${EMPTY?e}", vars, NULL, &out, why, sizeof(why)) == 0 &&
	      !strcmp(out, ""), "${EMPTY?e} is empty");
	free(out);
	CHECK(compose_interpolate("$1", vars, NULL, &out, why, sizeof(why)) == -EINVAL,
	      "$1 is an invalid template");
	CHECK(compose_interpolate("${SET", vars, NULL, &out, why, sizeof(why)) == -EINVAL,
	      "unclosed ${ is an invalid template");
	json_decref(vars);
	json_decref(unset);
}

static void durations(void)
{
	long long ns;

	CHECK(compose_duration("1m30s", &ns) == 0 && ns == 90000000000LL, "1m30s");
	CHECK(compose_duration("250ms", &ns) == 0 && ns == 250000000LL, "250ms");
	CHECK(compose_duration("1.5s", &ns) == 0 && ns == 1500000000LL, "1.5s");
	CHECK(compose_duration("0", &ns) == 0 && ns == 0, "0");
	CHECK(compose_duration("1h", &ns) == 0 && ns == 3600000000000LL, "1h");
	CHECK(compose_duration("10", &ns) == -EINVAL, "10 has no unit");
	CHECK(compose_duration("s", &ns) == -EINVAL, "s alone");
}

static const char full[] =
	"version: \"3.8\"\n"
	"x-common: &common\n"
	"  image: busybox:latest\n"
	"  environment:\n"
	"    SHARED: from-anchor\n"
	"  deploy: &dep\n"
	"    replicas: 1\n"
	"services:\n"
	"  web:\n"
	"    <<: *common\n"
	"    command: sleep ${SLEEP:-3600}\n"
	"    env_file: ./web.env\n"
	"    environment:\n"
	"      - OVERRIDE=compose\n"
	"      - FROM_DOTENV\n"
	"      - EMPTY\n"
	"    labels: [\"a=b\"]\n"
	"    ports:\n"
	"      - \"8080:80\"\n"
	"      - target: 53\n"
	"        published: 5353\n"
	"        protocol: udp\n"
	"        mode: host\n"
	"    volumes:\n"
	"      - data:/data:ro\n"
	"      - /srv/x:/x\n"
	"      - type: tmpfs\n"
	"        target: /tmp\n"
	"        tmpfs:\n"
	"          size: 1m\n"
	"    networks:\n"
	"      front:\n"
	"        aliases: [www]\n"
	"      outside:\n"
	"    secrets:\n"
	"      - db_password\n"
	"    configs:\n"
	"      - source: app_conf\n"
	"        target: /etc/app.conf\n"
	"        mode: 0440\n"
	"    healthcheck:\n"
	"      test: wget -q localhost\n"
	"      interval: 30s\n"
	"      retries: 3\n"
	"    stop_grace_period: 1m30s\n"
	"    cap_add: [net_admin]\n"
	"    cap_drop: [ALL]\n"
	"    ulimits:\n"
	"      nofile: {soft: 100, hard: 200}\n"
	"      nproc: 50\n"
	"    extra_hosts: [\"db:10.0.0.2\"]\n"
	"    privileged: true\n"
	"    deploy:\n"
	"      <<: *dep\n"
	"      labels: {tier: front}\n"
	"      placement:\n"
	"        constraints: [node.role == manager]\n"
	"        preferences: [{spread: node.id}]\n"
	"        max_replicas_per_node: 2\n"
	"      resources:\n"
	"        limits: {cpus: \"0.5\", memory: 64M, pids: 100}\n"
	"        reservations: {memory: 16M}\n"
	"      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}\n"
	"      update_config: {parallelism: 2, delay: 10s, order: start-first}\n"
	"  worker:\n"
	"    image: busybox:latest\n"
	"    entrypoint: [\"/bin/sh\", \"-c\"]\n"
	"    command: [\"sleep 1d\"]\n"
	"    deploy: {mode: global}\n"
	"networks:\n"
	"  front:\n"
	"    driver_opts: {encrypted: \"\"}\n"
	"    attachable: true\n"
	"    labels: {net: front}\n"
	"  outside:\n"
	"    external: true\n"
	"    name: ingress-net\n"
	"volumes:\n"
	"  data:\n"
	"    labels: [\"v=1\"]\n"
	"secrets:\n"
	"  db_password:\n"
	"    file: ./db_password.txt\n"
	"configs:\n"
	"  app_conf:\n"
	"    file: app.conf\n"
	"    name: custom_conf\n";

static void conversion(void)
{
	struct compose_plan p;
	char why[256] = "";
	int rc = plan(full, "FROM_DOTENV=dotenv\nEMPTY=\"filled\"\n", &p, why);

	CHECK(rc == 0, "the full file converts (%s)", why);
	if (rc)
		return;
	json_t *web = json_object_get(p.services, "web");
	CHECK_AT(web, "Name", "\"st_web\"");
	CHECK_AT(web, "Labels", "{\"tier\":\"front\",\"com.docker.stack.namespace\":\"st\","
				"\"com.docker.stack.image\":\"busybox:latest\"}");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Args", "[\"sleep\",\"3600\"]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Env",
		 "[\"EMPTY=filled\",\"FROM_DOTENV=dotenv\",\"FROM_FILE=1\",\"OVERRIDE=compose\"]");
	/* the anchor's own environment is replaced, not merged (YAML's <<) */
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Image", "\"busybox:latest\"");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Labels",
		 "{\"a\":\"b\",\"com.docker.stack.namespace\":\"st\"}");
	CHECK_AT(web, "EndpointSpec.Ports",
		 "[{\"Protocol\":\"udp\",\"TargetPort\":53,\"PublishedPort\":5353,\"PublishMode\":\"host\"},"
		 "{\"Protocol\":\"tcp\",\"TargetPort\":80,\"PublishedPort\":8080,\"PublishMode\":\"ingress\"}]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Mounts.0",
		 "{\"Type\":\"volume\",\"Target\":\"/data\",\"ReadOnly\":true,\"Source\":\"st_data\","
		 "\"VolumeOptions\":{\"Labels\":{\"v\":\"1\",\"com.docker.stack.namespace\":\"st\"}}}");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Mounts.1",
		 "{\"Type\":\"bind\",\"Target\":\"/x\",\"Source\":\"/srv/x\"}");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Mounts.2",
		 "{\"Type\":\"tmpfs\",\"Target\":\"/tmp\",\"TmpfsOptions\":{\"SizeBytes\":1048576}}");
	CHECK_AT(web, "TaskTemplate.Networks",
		 "[{\"Target\":\"ingress-net\",\"Aliases\":[\"web\"]},"
		 "{\"Target\":\"st_front\",\"Aliases\":[\"www\",\"web\"]}]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Secrets",
		 "[{\"File\":{\"Name\":\"db_password\",\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292},"
		 "\"SecretName\":\"st_db_password\"}]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Configs",
		 "[{\"File\":{\"Name\":\"/etc/app.conf\",\"UID\":\"0\",\"GID\":\"0\",\"Mode\":288},"
		 "\"ConfigName\":\"custom_conf\"}]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Healthcheck",
		 "{\"Test\":[\"CMD-SHELL\",\"wget -q localhost\"],\"Interval\":30000000000,\"Retries\":3}");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.StopGracePeriod", "90000000000");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.CapabilityAdd", "[\"CAP_NET_ADMIN\"]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.CapabilityDrop", "[\"ALL\"]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Ulimits",
		 "[{\"Name\":\"nofile\",\"Soft\":100,\"Hard\":200},{\"Name\":\"nproc\",\"Soft\":50,\"Hard\":50}]");
	CHECK_AT(web, "TaskTemplate.ContainerSpec.Hosts", "[\"10.0.0.2 db\"]");
	CHECK_AT(web, "TaskTemplate.Placement",
		 "{\"Constraints\":[\"node.role == manager\"],\"Preferences\":[{\"Spread\":"
		 "{\"SpreadDescriptor\":\"node.id\"}}],\"MaxReplicas\":2}");
	CHECK_AT(web, "TaskTemplate.Resources",
		 "{\"Limits\":{\"NanoCPUs\":500000000,\"MemoryBytes\":67108864,\"Pids\":100},"
		 "\"Reservations\":{\"MemoryBytes\":16777216}}");
	CHECK_AT(web, "TaskTemplate.RestartPolicy",
		 "{\"Condition\":\"on-failure\",\"Delay\":5000000000,\"MaxAttempts\":3}");
	CHECK_AT(web, "UpdateConfig",
		 "{\"Parallelism\":2,\"Delay\":10000000000,\"MaxFailureRatio\":0.0,\"Order\":\"start-first\"}");
	CHECK_AT(web, "Mode", "{\"Replicated\":{\"Replicas\":1}}");
	json_t *worker = json_object_get(p.services, "worker");
	CHECK_AT(worker, "Mode", "{\"Global\":{}}");
	CHECK_AT(worker, "TaskTemplate.ContainerSpec.Command", "[\"/bin/sh\",\"-c\"]");
	CHECK_AT(worker, "TaskTemplate.Networks", "[{\"Target\":\"st_default\",\"Aliases\":[\"worker\"]}]");
	CHECK_AT(p.networks, "st_front",
		 "{\"Name\":\"st_front\",\"Driver\":\"overlay\",\"Labels\":{\"net\":\"front\","
		 "\"com.docker.stack.namespace\":\"st\"},\"Options\":{\"encrypted\":\"\"},\"Attachable\":true}");
	CHECK_AT(p.networks, "st_default.Driver", "\"overlay\"");
	CHECK_AT(p.external_networks, "", "[\"ingress-net\"]");
	CHECK_AT(p.secrets, "0.Name", "\"st_db_password\"");
	CHECK_AT(p.secrets, "0.Data", "\"czNjcmV0\"");
	CHECK_AT(p.configs, "0.Name", "\"custom_conf\"");
	CHECK_AT(p.admin_fields, "", "[\"services.web.privileged\"]");
	CHECK(json_array_size(p.missing) == 0, "every file is held");
	compose_plan_free(&p);
}

static void credential_spec(void)
{
	struct compose_plan p;
	char why[256] = "";

	CHECK(plan("services: {web: {image: busybox, credential_spec: {file: spec.json}}}", NULL,
		   &p, why) == 0, "credential_spec file: %s", why);
	CHECK_AT(p.services, "web.TaskTemplate.ContainerSpec.Privileges",
		 "{\"CredentialSpec\":{\"File\":\"spec.json\"}}");
	compose_plan_free(&p);
	CHECK(plan("services: {web: {image: busybox, credential_spec: {registry: r}}}", NULL,
		   &p, why) == 0, "credential_spec registry: %s", why);
	CHECK_AT(p.services, "web.TaskTemplate.ContainerSpec.Privileges.CredentialSpec",
		 "{\"Registry\":\"r\"}");
	compose_plan_free(&p);
	/* a config: a runtime reference after the file one of the same name,
	 * both sorted among the others; the spec names it (an id once
	 * deployed) */
	CHECK(plan("services: {web: {image: busybox, credential_spec: {config: cs}, "
		   "configs: [z, cs]}}\nconfigs: {cs: {file: app.conf}, z: {file: app.conf}}", NULL,
		   &p, why) == 0, "credential_spec config: %s", why);
	CHECK_AT(p.services, "web.TaskTemplate.ContainerSpec.Privileges.CredentialSpec",
		 "{\"Config\":\"st_cs\"}");
	CHECK_AT(p.services, "web.TaskTemplate.ContainerSpec.Configs.0.File.Name", "\"cs\"");
	CHECK_AT(p.services, "web.TaskTemplate.ContainerSpec.Configs.1",
		 "{\"ConfigName\":\"st_cs\",\"Runtime\":{}}");
	CHECK_AT(p.services, "web.TaskTemplate.ContainerSpec.Configs.2.ConfigName", "\"st_z\"");
	compose_plan_free(&p);
}

static void refusals(void)
{
	static const struct {
		const char *yaml, *why;
	} cases[] = {
		{ "services: {web: {image: busybox, bogus: 1}}", "Additional property bogus" },
		{ "services: {web: {command: x}}", "no image specified" },
		{ "services: {web: {image: busybox, extends: x}}", "extends" },
		{ "services: {web: {image: busybox, networks: [nowhere]}}", "undefined network" },
		{ "services: {web: {image: busybox, secrets: [nope]}}", "undefined secret" },
		{ "services: {web: {image: busybox, volumes: [\"nope:/x\"]}}", "undefined volume" },
		{ "services: {web: {image: busybox, volumes: [\"./rel:/x\"]}}", "absolute path" },
		{ "services: {web: {image: \"${X:?give X}\"}}", "give X" },
		{ "services: {web: {image: busybox, deploy: {mode: global, replicas: 2}}}", "replicas" },
		{ "services: {web: {image: busybox, stop_grace_period: 10}}", "invalid duration" },
		{ "a: 1\na: 2\n", "duplicate key" },
		{ "version: \"2\"\nservices: {}", "unsupported Compose file version" },
		{ "- a\n", "top-level object must be a mapping" },
		{ "services: {web: {image: busybox, ports: [\"99999:80\"]}}", "invalid hostPort" },
		{ "services: {web: {image: busybox, credential_spec: {file: a, registry: b}}}",
		  "cannot specify both \"File\" and \"Registry\"" },
		{ "services: {web: {image: busybox, credential_spec: {config: c, file: a, "
		  "registry: b}}}", "cannot specify both \"Config\", \"File\", and \"Registry\"" },
		{ "services: {web: {image: busybox, credential_spec: {config: c}}}",
		  "undefined config \"c\"" },
		{ "services: {web: {image: busybox, credential_spec: {bogus: 1}}}",
		  "Additional property bogus" },
		{ "services: {web: {image: busybox, volumes: [{type: cluster, source: v, target: /v}]}}",
		  "volume type cluster is not carried" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct compose_plan p;
		char why[256] = "";
		int rc = plan(cases[i].yaml, NULL, &p, why);
		CHECK(rc == -EINVAL && strstr(why, cases[i].why), "refused: %s -> %s", cases[i].yaml, why);
		if (!rc)
			compose_plan_free(&p);
	}
}

static void missing_files(void)
{
	struct compose_plan p;
	char why[256] = "";
	const char *yaml = "services: {web: {image: busybox, env_file: gone.env, secrets: [s]}}\n"
			   "secrets: {s: {file: ./gone.txt}}\n";
	int rc = plan(yaml, "", &p, why);

	CHECK(rc == 0, "missing files are listed, not refused (%s)", why);
	if (rc)
		return;
	CHECK_INT(json_array_size(p.missing), 2);
	CHECK_AT(p.secrets, "0.Data", "(none)");
	CHECK_AT(p.unset, "", "[]");
	compose_plan_free(&p);
	rc = plan("services: {web: {image: \"busybox:${TAG}\"}}", NULL, &p, why);
	CHECK(rc == 0, "an unset variable is empty");
	CHECK_AT(p.unset, "", "[\"TAG\"]");
	CHECK_AT(p.services, "web.TaskTemplate.ContainerSpec.Image", "\"busybox:\"");
	compose_plan_free(&p);
}

/* A rendered file converts to the specs it was rendered from. */
static void round_trip(void)
{
	struct compose_plan p, q;
	char why[256] = "";
	int rc = plan(full, "FROM_DOTENV=dotenv\n", &p, why);

	CHECK(rc == 0, "plan (%s)", why);
	if (rc)
		return;
	/* the engine's view: services, networks by id */
	json_t *services = json_array(), *networks = json_array(), *secrets = json_array();
	json_t *configs = json_array(), *spec, *v;
	const char *k;
	json_object_foreach(p.networks, k, v)
		json_array_append_new(networks, json_pack("{s:s, s:s, s:O, s:o, s:b}", "Id", k, "Name", k,
							  "Labels", json_object_get(v, "Labels"),
							  "Options", json_object_get(v, "Options")
								     ? json_incref(json_object_get(v, "Options"))
								     : json_object(),
							  "Attachable", json_is_true(json_object_get(v, "Attachable"))));
	json_array_append_new(networks, json_pack("{s:s, s:s}", "Id", "ingress-net", "Name", "ingress-net"));
	size_t i;
	json_array_foreach(p.secrets, i, v)
		json_array_append_new(secrets, json_pack("{s:O}", "Spec", v));
	json_array_foreach(p.configs, i, v)
		json_array_append_new(configs, json_pack("{s:O}", "Spec", v));
	json_object_foreach(p.services, k, spec)
		json_array_append_new(services, json_pack("{s:O}", "Spec", spec));
	char *text = NULL;
	CHECK(compose_render("st", services, networks, secrets, configs, &text) == 0 && text,
	      "render");
	printf("# rendered:\n%s\n", text ? text : "");
	rc = text ? compose_plan_make("st", text, strlen(text), NULL, 0, &files, &q, why, sizeof(why))
		  : -1;
	CHECK(rc == 0, "the rendered file converts (%s)", why);
	if (!rc) {
		json_object_foreach(p.services, k, spec) {
			json_t *again = json_object_get(q.services, k);
			char *a = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
			char *b = json_dumps(again, JSON_COMPACT | JSON_SORT_KEYS);
			CHECK(b && !strcmp(a, b), "service %s round-trips\n%s\n%s", k, a, b ? b : "");
			free(a);
			free(b);
		}
		compose_plan_free(&q);
	}
	free(text);
	json_decref(services);
	json_decref(networks);
	json_decref(secrets);
	json_decref(configs);
	compose_plan_free(&p);
}

int main(void)
{
	interpolation();
	durations();
	conversion();
	credential_spec();
	refusals();
	missing_files();
	round_trip();
	return check_done();
}
