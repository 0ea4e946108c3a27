/* Unit tests: word splitting and `docker run` options (cmdline.c). */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "cmdline.h"

static void split_is(const char *line, int n, const char *const want[])
{
	struct argv a;
	int rc = cmdline_split(line, strlen(line), &a);

	CHECK(rc == 0, "split [%s]", line);
	if (rc)
		return;
	CHECK_INT(a.n, n);
	for (int i = 0; i < n && i < a.n; i++)
		CHECK_STR(a.v[i], want[i]);
	CHECK(a.v[a.n] == NULL, "argv is NULL-terminated");
	argv_free(&a);
}

static char *dump(json_t *j, const char *path1, const char *path2)
{
	json_t *v = json_object_get(j, path1);

	if (path2)
		v = json_object_get(v, path2);
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static void spec_is(const char *line, const char *k1, const char *k2, const char *want)
{
	struct argv a;
	json_t *body = NULL;
	char *name = NULL, err[256] = "";

	cmdline_split(line, strlen(line), &a);
	int rc = cmdline_container_spec(a.n, a.v, &body, &name, err, sizeof(err));
	CHECK(rc == 0, "spec [%s] (%s)", line, err);
	if (!rc) {
		char *got = dump(body, k1, k2);
		CHECK(got && strcmp(got, want) == 0, "%s.%s of [%s] == %s (got %s)", k1,
		      k2 ? k2 : "", line, want, got ? got : "(none)");
		free(got);
	}
	json_decref(body);
	free(name);
	argv_free(&a);
}

static void spec_fails(const char *line)
{
	struct argv a;
	json_t *body = NULL;
	char *name = NULL, err[256] = "";

	cmdline_split(line, strlen(line), &a);
	int rc = cmdline_container_spec(a.n, a.v, &body, &name, err, sizeof(err));
	CHECK(rc == -EINVAL && body == NULL && err[0], "[%s] refused (%s)", line, err);
	argv_free(&a);
}

static void test_service_spec(void)
{
	char err[256];
	json_t *spec;
	char *argv1[] = { "--name", "web", "--replicas", "3", "-e", "A=1", "-l", "t=x",
			  "--constraint", "node.role==worker", "-p", "8080:80", "--network", "net",
			  "--mount", "type=volume,source=v,target=/v", "--secret", "s1",
			  "--config", "c1,target=/etc/c", "--update-delay", "1m30s",
			  "--update-parallelism", "2", "busybox", "sleep", "9" };
	int rc = cmdline_service_spec(sizeof(argv1) / sizeof(argv1[0]), argv1, &spec, err,
				      sizeof(err));

	CHECK(rc == 0, "service spec parses (%s)", err);
	if (!rc) {
		char *s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK_STR(json_string_value(json_object_get(spec, "Name")), "web");
		CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(spec, "Mode"),
						"Replicated"), "Replicas")) == 3, "replicas 3");
		CHECK(strstr(s, "\"Args\":[\"sleep\",\"9\"]") != NULL, "args: %s", s);
		CHECK(strstr(s, "\"PublishedPort\":8080") && strstr(s, "\"TargetPort\":80"), "ports");
		CHECK(strstr(s, "\"Delay\":90000000000") != NULL, "1m30s is 90 s in ns");
		CHECK(strstr(s, "\"SecretName\":\"s1\"") && strstr(s, "\"Name\":\"/etc/c\""),
		      "secret and config refs");
		CHECK(strstr(s, "\"Constraints\":[\"node.role==worker\"]") != NULL, "constraint");
		free(s);
		json_decref(spec);
	}
	char *argv2[] = { "--mode", "global", "busybox" };
	rc = cmdline_service_spec(3, argv2, &spec, err, sizeof(err));
	CHECK(rc == 0 && json_object_get(json_object_get(spec, "Mode"), "Global") &&
	      !json_object_get(json_object_get(spec, "Mode"), "Replicated"), "global mode");
	json_decref(spec);
	char *argv3[] = { "busybox" };
	rc = cmdline_service_spec(1, argv3, &spec, err, sizeof(err));
	CHECK(rc == 0 && json_integer_value(json_object_get(json_object_get(json_object_get(
		spec, "Mode"), "Replicated"), "Replicas")) == 1, "one replica by default");
	json_decref(spec);
	char *bad1[] = { "--replicas", "x", "busybox" };
	CHECK(cmdline_service_spec(3, bad1, &spec, err, sizeof(err)) == -EINVAL, "bad replicas");
	char *bad2[] = { "--update-delay", "5parsecs", "busybox" };
	CHECK(cmdline_service_spec(3, bad2, &spec, err, sizeof(err)) == -EINVAL, "bad duration");
	char *bad3[] = { "-p", "80/icmp", "busybox" };
	CHECK(cmdline_service_spec(3, bad3, &spec, err, sizeof(err)) == -EINVAL, "bad protocol");
	char *bad4[] = { "--name", "x" };
	CHECK(cmdline_service_spec(2, bad4, &spec, err, sizeof(err)) == -EINVAL, "no image");
}

int main(void)
{
	test_service_spec();
	struct argv a;

	split_is("stop 5\n", 2, (const char *const[]){ "stop", "5" });
	split_is("  a   b\tc  ", 3, (const char *const[]){ "a", "b", "c" });
	split_is("sh -c 'echo hi; exit 3'", 3, (const char *const[]){ "sh", "-c", "echo hi; exit 3" });
	split_is("echo \"a \\\"b\\\" $x\"", 2, (const char *const[]){ "echo", "a \"b\" $x" });
	split_is("a\\ b c", 2, (const char *const[]){ "a b", "c" });
	split_is("x '' y", 3, (const char *const[]){ "x", "", "y" });
	split_is("pre'mid'post", 1, (const char *const[]){ "premidpost" });
	split_is("", 0, NULL);
	CHECK_INT(cmdline_split("a 'b", 4, &a), -EINVAL);
	CHECK_INT(cmdline_split("a \"b", 4, &a), -EINVAL);
	CHECK_INT(cmdline_split("a\nb", 3, &a), -EINVAL);
	CHECK_INT(cmdline_split("a\0b", 3, &a), -EINVAL);
	CHECK_INT(cmdline_split("a\\", 2, &a), -EINVAL);

	spec_is("busybox", "Image", NULL, "\"busybox\"");
	spec_is("busybox sh -c 'sleep 1'", "Cmd", NULL, "[\"sh\",\"-c\",\"sleep 1\"]");
	spec_is("-e A=1 --env=B=2 busybox", "Env", NULL, "[\"A=1\",\"B=2\"]");
	spec_is("-l app=web --label tier= busybox", "Labels", NULL, "{\"app\":\"web\",\"tier\":\"\"}");
	spec_is("--restart on-failure:3 busybox", "HostConfig", "RestartPolicy",
		"{\"Name\":\"on-failure\",\"MaximumRetryCount\":3}");
	spec_is("--restart always busybox", "HostConfig", "RestartPolicy", "{\"Name\":\"always\"}");
	spec_is("-p 8080:80 busybox", "HostConfig", "PortBindings",
		"{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}");
	spec_is("-p 127.0.0.1:53:53/udp busybox", "ExposedPorts", NULL, "{\"53/udp\":{}}");
	spec_is("-v data:/data busybox", "HostConfig", "Binds", "[\"data:/data\"]");
	spec_is("--mount type=bind,source=/etc,target=/x,readonly busybox", "HostConfig", "Mounts",
		"[{\"Type\":\"bind\",\"Source\":\"/etc\",\"Target\":\"/x\",\"ReadOnly\":true}]");
	spec_is("--privileged busybox", "HostConfig", "Privileged", "true");
	spec_is("--pid host busybox", "HostConfig", "PidMode", "\"host\"");
	spec_is("--network=host busybox", "HostConfig", "NetworkMode", "\"host\"");
	spec_is("-t -w /tmp -u 1000 busybox", "WorkingDir", NULL, "\"/tmp\"");
	spec_is("-- busybox -x", "Cmd", NULL, "[\"-x\"]");
	spec_fails("");
	spec_fails("--frobnicate busybox");
	spec_fails("--name");
	spec_fails("--restart sometimes busybox");
	spec_fails("-p 80 busybox");
	spec_fails("-p a:b busybox");
	spec_fails("-e NOEQUALS busybox");
	spec_fails("--mount source=/x busybox");
	spec_fails("-v /just-a-path busybox");

	struct argv b;
	json_t *body;
	char *name, err[128];
	cmdline_split("--name web busybox", 18, &b);
	CHECK(cmdline_container_spec(b.n, b.v, &body, &name, err, sizeof(err)) == 0 && name &&
		      strcmp(name, "web") == 0, "--name taken out of the body");
	CHECK(json_object_get(body, "Name") == NULL, "no Name in the API body");
	json_decref(body);
	free(name);
	argv_free(&b);
	return check_done();
}
