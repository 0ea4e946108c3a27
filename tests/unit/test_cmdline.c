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


/* The docker CLI's options and flag syntax (opts.go), one by one. */
static void test_run_options(void)
{
	/* flag syntax: clustered booleans, a value glued to its letter, --bool=false */
	spec_is("-dit busybox", "Tty", NULL, "true");
	spec_is("-it busybox", "OpenStdin", NULL, "true");
	spec_is("-d -t=false busybox", "Tty", NULL, "false");
	spec_is("-itp8080:80 busybox", "ExposedPorts", NULL, "{\"80/tcp\":{}}");
	spec_is("-m512m busybox", "HostConfig", "Memory", "536870912");
	spec_is("--rm=false busybox", "HostConfig", "AutoRemove", "false");
	spec_fails("-dx busybox");
	spec_fails("--rm=maybe busybox");
	/* resources */
	spec_is("-m 512m busybox", "HostConfig", "Memory", "536870912");
	spec_is("--memory=1g busybox", "HostConfig", "Memory", "1073741824");
	spec_is("--memory-swap -1 busybox", "HostConfig", "MemorySwap", "-1");
	spec_is("--memory-swap 2g busybox", "HostConfig", "MemorySwap", "2147483648");
	spec_is("--memory-reservation 64MiB busybox", "HostConfig", "MemoryReservation", "67108864");
	spec_is("--memory-swappiness 10 busybox", "HostConfig", "MemorySwappiness", "10");
	spec_is("--cpus 1.5 busybox", "HostConfig", "NanoCpus", "1500000000");
	spec_is("--cpus .25 busybox", "HostConfig", "NanoCpus", "250000000");
	spec_is("-c 512 busybox", "HostConfig", "CpuShares", "512");
	spec_is("--pids-limit 100 busybox", "HostConfig", "PidsLimit", "100");
	spec_is("--shm-size 64m busybox", "HostConfig", "ShmSize", "67108864");
	spec_fails("-m lots busybox");
	spec_fails("--cpus 0.0000000001 busybox");
	spec_fails("--memory-swappiness 101 busybox");
	/* health */
	spec_is("--health-cmd 'wget -q localhost' --health-interval 1m30s --health-retries 3 "
		"--health-timeout 500ms --health-start-period 1.5s busybox", "Healthcheck", NULL,
		"{\"Test\":[\"CMD-SHELL\",\"wget -q localhost\"],\"Interval\":90000000000,"
		"\"Timeout\":500000000,\"StartPeriod\":1500000000,\"Retries\":3}");
	spec_is("--no-healthcheck busybox", "Healthcheck", NULL, "{\"Test\":[\"NONE\"]}");
	spec_fails("--no-healthcheck --health-cmd true busybox");
	spec_fails("--health-interval 5 busybox");
	/* logging, names, network */
	spec_is("--log-driver local --log-opt max-size=10m busybox", "HostConfig", "LogConfig",
		"{\"Type\":\"local\",\"Config\":{\"max-size\":\"10m\"}}");
	spec_fails("--log-driver none --log-opt max-size=1m busybox");
	spec_is("--add-host db:10.0.0.2 --add-host v6=[::1] busybox", "HostConfig", "ExtraHosts",
		"[\"db:10.0.0.2\",\"v6:::1\"]");
	spec_fails("--add-host nocolon busybox");
	spec_is("--dns 8.8.8.8 --dns ::ffff:1.2.3.4 busybox", "HostConfig", "Dns",
		"[\"8.8.8.8\",\"1.2.3.4\"]");
	spec_fails("--dns not-an-ip busybox");
	spec_is("--dns-option ndots:2 --dns-opt x busybox", "HostConfig", "DnsOptions",
		"[\"ndots:2\",\"x\"]");
	spec_is("--dns-search example.com busybox", "HostConfig", "DnsSearch", "[\"example.com\"]");
	spec_is("--network back --network-alias db --ip 10.1.2.3 busybox", "NetworkingConfig",
		"EndpointsConfig", "{\"back\":{\"Aliases\":[\"db\"],\"IPAMConfig\":"
		"{\"IPv4Address\":\"10.1.2.3\"}}}");
	spec_fails("--network-alias db busybox");
	spec_fails("--network bridge --ip 172.17.0.9 busybox");
	spec_fails("--ip 300.1.1.1 --network back busybox");
	/* ulimits: sorted by name, the last one of a name wins */
	spec_is("--ulimit nproc=10 --ulimit nofile=100:200 --ulimit nproc=20:30 busybox",
		"HostConfig", "Ulimits",
		"[{\"Name\":\"nofile\",\"Hard\":200,\"Soft\":100},"
		"{\"Name\":\"nproc\",\"Hard\":30,\"Soft\":20}]");
	spec_fails("--ulimit nofile=200:100 busybox");
	spec_fails("--ulimit bogus=1 busybox");
	/* the rest */
	spec_is("--stop-signal SIGINT busybox", "StopSignal", NULL, "\"SIGINT\"");
	spec_is("--stop-timeout 5 busybox", "StopTimeout", NULL, "5");
	spec_is("--read-only busybox", "HostConfig", "ReadonlyRootfs", "true");
	spec_is("--tmpfs /run:rw,size=64m --tmpfs /x busybox", "HostConfig", "Tmpfs",
		"{\"/run\":\"rw,size=64m\",\"/x\":\"\"}");
	spec_is("--init busybox", "HostConfig", "Init", "true");
	spec_is("-P busybox", "HostConfig", "PublishAllPorts", "true");
	spec_is("--expose 80 --expose 7000-7001/udp busybox", "ExposedPorts", NULL,
		"{\"80/tcp\":{},\"7000/udp\":{},\"7001/udp\":{}}");
	spec_is("-p 127.0.0.1:8000-8001:80-81 busybox", "HostConfig", "PortBindings",
		"{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8000\"}],"
		"\"81/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8001\"}]}");
	spec_is("-p [::1]:9000:90 busybox", "HostConfig", "PortBindings",
		"{\"90/tcp\":[{\"HostIp\":\"::1\",\"HostPort\":\"9000\"}]}");
	spec_is("--rm busybox", "HostConfig", "AutoRemove", "true");
	spec_fails("--rm --restart always busybox");
	spec_is("--pull never busybox", "Image", NULL, "\"busybox\"");
	spec_fails("--pull always busybox");
	spec_is("--cap-drop NET_RAW --cap-drop mknod --cap-drop CAP_NET_RAW busybox", "HostConfig",
		"CapDrop", "[\"CAP_MKNOD\",\"CAP_NET_RAW\"]");
	spec_is("--group-add 123 busybox", "HostConfig", "GroupAdd", "[\"123\"]");
	spec_is("--domainname example.org busybox", "Domainname", NULL, "\"example.org\"");
	spec_is("--entrypoint= busybox", "Entrypoint", NULL, "[\"\"]");
	spec_is("-l bare busybox", "Labels", NULL, "{\"bare\":\"\"}");
	spec_is("--device /dev/fuse busybox", "HostConfig", "Devices",
		"[{\"PathOnHost\":\"/dev/fuse\",\"PathInContainer\":\"/dev/fuse\","
		"\"CgroupPermissions\":\"rwm\"}]");
	spec_is("--mount type=tmpfs,dst=/t,tmpfs-size=1m busybox", "HostConfig", "Mounts",
		"[{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":1048576}}]");
	spec_is("--mount target=/v busybox", "HostConfig", "Mounts",
		"[{\"Type\":\"volume\",\"Target\":\"/v\"}]");
	spec_fails("--mount type=tmpfs,target=/t,volume-nocopy busybox");
	/* refused with a reason, naming the option */
	spec_fails("--env-file /etc/passwd busybox");
	spec_fails("--label-file x busybox");
	spec_fails("--cidfile /tmp/x busybox");
	spec_fails("-a stdout busybox");

	struct argv a;
	json_t *body = NULL;
	char *name = NULL, err[256] = "";
	cmdline_split("--env-file /etc/passwd busybox", 30, &a);
	cmdline_container_spec(a.n, a.v, &body, &name, err, sizeof(err));
	CHECK(strstr(err, "--env-file") && strstr(err, "never reads"), "env-file refusal: %s", err);
	argv_free(&a);
	cmdline_split("--frobnicate=1 busybox", 22, &a);
	cmdline_container_spec(a.n, a.v, &body, &name, err, sizeof(err));
	CHECK(strcmp(err, "unknown option --frobnicate") == 0, "unknown option named: %s", err);
	argv_free(&a);
}

static void duration_is(const char *s, long long want)
{
	int64_t v = -42;
	int rc = cmdline_duration_ns(s, &v);

	CHECK(rc == 0 && v == want, "duration %s == %lld (got %d, %lld)", s, want, rc, (long long)v);
}

static void ram_is(const char *s, long long want)
{
	int64_t v = -42;
	int rc = cmdline_ram_bytes(s, &v);

	CHECK(rc == 0 && v == want, "size %s == %lld (got %d, %lld)", s, want, rc, (long long)v);
}

/* Values as go-units, Go's time and the CLI's NanoCPUs read them. */
static void test_values(void)
{
	int64_t v;

	duration_is("0", 0);
	duration_is("10s", 10000000000LL);
	duration_is("1m30s", 90000000000LL);
	duration_is("1.5h", 5400000000000LL);
	duration_is("500ms", 500000000LL);
	duration_is("2us", 2000);
	duration_is("2\xc2\xb5s", 2000);
	duration_is("1h2m3s4ms5us6ns", 3723004005006LL);
	duration_is(".5s", 500000000LL);
	CHECK(cmdline_duration_ns("10", &v) == -EINVAL, "a duration needs a unit");
	CHECK(cmdline_duration_ns("s", &v) == -EINVAL, "a duration needs a number");
	CHECK(cmdline_duration_ns("1d", &v) == -EINVAL, "no days in Go");
	CHECK(cmdline_duration_ns("", &v) == -EINVAL, "empty duration");
	ram_is("100", 100);
	ram_is("100b", 100);
	ram_is("1k", 1024);
	ram_is("1KB", 1024);
	ram_is("1KiB", 1024);
	ram_is("512m", 536870912);
	ram_is("1.5g", 1610612736);
	ram_is("1 g", 1073741824);
	ram_is("2t", 2199023255552LL);
	CHECK(cmdline_ram_bytes("1x", &v) == -EINVAL, "bad suffix");
	CHECK(cmdline_ram_bytes("1kbb", &v) == -EINVAL, "suffix too long");
	CHECK(cmdline_ram_bytes("1mi", &v) == -EINVAL, "mi without b");
	CHECK(cmdline_ram_bytes("-1m", &v) == -EINVAL, "negative size");
	CHECK(cmdline_ram_bytes("m", &v) == -EINVAL, "no number");
	/* 64 digits: one more than the number's buffer holds with its NUL
	 * (found by fuzz_cmdline: the bound was one off) */
	CHECK(cmdline_ram_bytes("1111111111111111111111111111111111111111111111111111111111111111",
				&v) == -EINVAL, "64-digit number");
	CHECK(cmdline_ram_bytes("111111111111111111111111111111111111111111111111111111111111111",
				&v) == -EINVAL, "63 digits: too large");
	CHECK(cmdline_nano_cpus("1.5", &v) == 0 && v == 1500000000LL, "1.5 cpus");
	CHECK(cmdline_nano_cpus("2", &v) == 0 && v == 2000000000LL, "2 cpus");
	CHECK(cmdline_nano_cpus("0.000000001", &v) == 0 && v == 1, "a billionth");
	CHECK(cmdline_nano_cpus("0.5000000000", &v) == 0 && v == 500000000, "trailing zeros");
	CHECK(cmdline_nano_cpus("0.0000000001", &v) == -EINVAL, "too precise");
	CHECK(cmdline_nano_cpus("-1", &v) == -EINVAL, "negative cpus");
	CHECK(cmdline_nano_cpus("x", &v) == -EINVAL, "no number");
}

static void service_has(const char *line, const char *want)
{
	struct argv a;
	json_t *spec = NULL;
	char err[256] = "";

	cmdline_split(line, strlen(line), &a);
	int rc = cmdline_service_spec(a.n, a.v, &spec, err, sizeof(err));
	char *s = rc ? NULL : json_dumps(spec, JSON_COMPACT);
	CHECK(s && strstr(s, want), "service [%s] has %s (%s)", line, want, s ? s : err);
	free(s);
	json_decref(spec);
	argv_free(&a);
}

static void service_fails(const char *line)
{
	struct argv a;
	json_t *spec = NULL;
	char err[256] = "";

	cmdline_split(line, strlen(line), &a);
	int rc = cmdline_service_spec(a.n, a.v, &spec, err, sizeof(err));
	CHECK(rc == -EINVAL && !spec && err[0], "service [%s] refused (%s)", line, err);
	argv_free(&a);
}

/* docker service create's options (cli/command/service/opts.go). */
static void test_service_options(void)
{
	service_has("--update-delay 10s busybox", "\"UpdateConfig\":{\"Parallelism\":1,"
		    "\"FailureAction\":\"pause\",\"Monitor\":5000000000,\"Order\":\"stop-first\","
		    "\"Delay\":10000000000}");
	service_has("--rollback-parallelism 0 --rollback-order start-first busybox",
		    "\"RollbackConfig\":{\"Parallelism\":0,\"FailureAction\":\"pause\","
		    "\"Monitor\":5000000000,\"Order\":\"start-first\"}");
	service_has("--update-max-failure-ratio 0.25 busybox", "\"MaxFailureRatio\":0.25");
	service_has("--restart-max-attempts 3 busybox", "\"RestartPolicy\":{\"Condition\":\"any\","
		    "\"Delay\":5000000000,\"MaxAttempts\":3}");
	service_has("--restart-window 1m busybox", "\"Window\":60000000000");
	service_has("--limit-cpu 0.5 --limit-memory 128m --limit-pids 50 busybox",
		    "\"Limits\":{\"NanoCPUs\":500000000,\"MemoryBytes\":134217728,\"Pids\":50}");
	service_has("--reserve-cpu 1 --reserve-memory 1g busybox",
		    "\"Reservations\":{\"NanoCPUs\":1000000000,\"MemoryBytes\":1073741824}");
	service_has("--health-cmd true --health-interval 2s busybox",
		    "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":2000000000}");
	service_has("--no-healthcheck busybox", "\"Healthcheck\":{\"Test\":[\"NONE\"]}");
	service_has("--stop-grace-period 1m busybox", "\"StopGracePeriod\":60000000000");
	service_has("--host db:10.0.0.2 busybox", "\"Hosts\":[\"10.0.0.2 db\"]");
	service_has("--dns 1.1.1.1 --dns-search x.org --dns-option ndots:1 busybox",
		    "\"DNSConfig\":{\"Nameservers\":[\"1.1.1.1\"],\"Search\":[\"x.org\"],"
		    "\"Options\":[\"ndots:1\"]}");
	service_has("--entrypoint 'sh -c' busybox", "\"Command\":[\"sh\",\"-c\"]");
	service_has("--cap-drop net_raw --cap-drop CAP_CHOWN busybox",
		    "\"CapabilityDrop\":[\"CAP_CHOWN\",\"CAP_NET_RAW\"]");
	service_has("--cap-add chown --cap-drop chown busybox", "\"CapabilityAdd\":[\"CAP_CHOWN\"]");
	service_has("--placement-pref spread=node.labels.dc busybox",
		    "\"Preferences\":[{\"Spread\":{\"SpreadDescriptor\":\"node.labels.dc\"}}]");
	service_has("--replicas-max-per-node 2 busybox", "\"MaxReplicas\":2");
	service_has("--endpoint-mode DNSRR busybox", "\"Mode\":\"dnsrr\"");
	service_has("busybox", "\"EndpointSpec\":{\"Mode\":\"vip\"}");
	service_has("--network name=ovl,alias=a1,alias=a2 busybox",
		    "\"Networks\":[{\"Target\":\"ovl\",\"Aliases\":[\"a1\",\"a2\"]}]");
	service_has("-e A=1 -e B=2 -e A=3 busybox", "\"Env\":[\"B=2\",\"A=3\"]");
	service_has("--mode replicated-job --replicas 3 busybox",
		    "\"ReplicatedJob\":{\"TotalCompletions\":3,\"MaxConcurrent\":3}");
	service_has("--mode global-job busybox", "\"GlobalJob\":{}");
	service_has("--log-driver local --log-opt max-size=1m busybox",
		    "\"LogDriver\":{\"Name\":\"local\",\"Options\":{\"max-size\":\"1m\"}}");
	service_has("--ulimit nofile=10:20 busybox",
		    "\"Ulimits\":[{\"Name\":\"nofile\",\"Hard\":20,\"Soft\":10}]");
	service_has("--init --read-only -t --group 12 busybox", "\"Groups\":[\"12\"]");
	service_has("-dq --no-resolve-image busybox", "\"Image\":\"busybox\"");
	service_has("--secret source=s,target=t,uid=1,gid=2,mode=0400 busybox",
		    "\"File\":{\"Name\":\"t\",\"UID\":\"1\",\"GID\":\"2\",\"Mode\":256}");
	service_fails("--mode global --replicas 2 busybox");
	service_fails("--mode replicated-job --update-delay 1s busybox");
	service_fails("--max-concurrent 2 busybox");
	service_fails("--env-file x busybox");
	service_fails("--with-registry-auth busybox");
	service_fails("--health-retries -1 busybox");
	service_fails("--update-failure-action explode busybox");
	service_fails("--rollback-failure-action rollback busybox");
	service_fails("--stop-grace-period 10 busybox");
	service_fails("--log-opt NOEQ --log-driver local busybox");
	service_fails("--bogus busybox");
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
	test_service_options();
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
	CHECK_INT(cmdline_split("rm 'a\0b'", 8, &a), -EINVAL);
	CHECK_INT(cmdline_split("rm a\\\0b", 7, &a), -EINVAL);
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
	spec_is("-p 80 busybox", "HostConfig", "PortBindings",
		"{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]}");
	spec_fails("-p 80/icmp busybox");
	spec_fails("-p a:b busybox");
	spec_fails("-e NOEQUALS busybox");
	spec_fails("--mount source=/x busybox");
	spec_is("-v /just-a-path busybox", "Volumes", NULL, "{\"/just-a-path\":{}}");
	spec_fails("-v ./here:/x busybox");
	test_run_options();
	test_values();

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
