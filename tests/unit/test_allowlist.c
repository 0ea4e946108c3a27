/* Unit tests: the allowlist (allowlist.c).  Shapes that hide a host path or
 * a privilege, as the Portainer CVEs and the engine's decoder taught, then
 * a property test: random bodies with random key spellings (case, Unicode
 * folds, the top level or HostConfig), duplicates and dangerous values are
 * either refused or rebuilt into a body that holds only what this file's
 * own list says an operator may send.
 *
 *   DOCKFS_FUZZ_N=1000000 DOCKFS_FUZZ_SEED=7 build/test_allowlist   (longer, by hand)
 */
#include <errno.h>
#include <stdlib.h>

#include "allowlist.h"
#include "buf.h"
#include "check.h"
#include "cmdline.h"

/* ---- a resolver standing for an engine's networks and volumes ---- */

#define HOST_NET_ID "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"
#define BACK_NET_ID "aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66"

static int net(void *arg, const char *ref, struct allowlist_ref *out)
{
	static const struct {
		const char *name, *id, *driver;
	} nets[] = {
		{ "host", HOST_NET_ID, "host" },
		{ "back", BACK_NET_ID, "bridge" },
		{ "ovl", "0011223344556677", "overlay" },
		{ "mac", "9988776655443322", "macvlan" },
	};
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		if (!strcmp(ref, nets[i].name) || !strncmp(nets[i].id, ref, strlen(ref))) {
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
	if (!strcmp(name, "plain") || !strcmp(name, "bindvol") || !strcmp(name, "nfs")) {
		snprintf(out->name, sizeof(out->name), "%s", name);
		snprintf(out->driver, sizeof(out->driver), "%s", strcmp(name, "nfs") ? "local" : "nfs");
		out->options = !strcmp(name, "bindvol");
		return 0;
	}
	return -ENOENT;
}

static const struct allowlist_resolver resolver = { net, vol, NULL };

static int rebuild(enum allowlist_kind kind, const char *text, char **sent, char *why,
		   size_t whylen)
{
	json_error_t je;
	json_t *in = json_loads(text, JSON_REJECT_DUPLICATES, &je), *out = NULL;
	int err;

	*sent = NULL;
	why[0] = '\0';
	if (!in) {
		snprintf(why, whylen, "bad JSON: %s", je.text);
		return -EINVAL;
	}
	err = allowlist_rebuild(kind, in, &resolver, &out, why, whylen);
	if (!err)
		*sent = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(in);
	json_decref(out);
	return err;
}

static void sends(enum allowlist_kind kind, const char *text, const char *want)
{
	char why[256], *sent;
	int err = rebuild(kind, text, &sent, why, sizeof(why));

	CHECK(!err && sent && !strcmp(sent, want), "%s -> %s (got %s, %s)", text, want,
	      sent ? sent : "(refused)", why);
	free(sent);
}

static void refused(enum allowlist_kind kind, const char *text, int want, const char *names)
{
	char why[256], *sent;
	int err = rebuild(kind, text, &sent, why, sizeof(why));

	CHECK(err == want && !sent && why[0] && strstr(why, names),
	      "refused %s: %d naming \"%s\" (got %d: %s)", text, want, names, err, why);
	free(sent);
}

#define C ALLOW_CONTAINER
#define S ALLOW_SERVICE

static void table(void)
{
	/* What an operator writes is what is sent, canonical and sorted. */
	sends(C, "{\"Image\":\"busybox\"}", "{\"Image\":\"busybox\"}");
	sends(C, "{\"Image\":\"b\",\"HostConfig\":{}}", "{\"HostConfig\":{},\"Image\":\"b\"}");
	sends(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"data:/data\",\"plain:/c:ro\"]}}",
	      "{\"HostConfig\":{\"Binds\":[\"data:/data\",\"plain:/c:ro\"]},\"Image\":\"b\"}");
	sends(C, "{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\","
	      "\"Target\":\"/v\"},{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]}}",
	      "{\"HostConfig\":{\"Mounts\":[{\"Source\":\"v\",\"Target\":\"/v\",\"Type\":\"volume\"},"
	      "{\"Target\":\"/t\",\"Type\":\"tmpfs\"}]},\"Image\":\"b\"}");
	/* The CLI's zero values for admin's fields are the defaults. */
	sends(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"bridge\",\"Privileged\":false,"
	      "\"CapAdd\":null,\"PidMode\":\"\"}}",
	      "{\"HostConfig\":{\"NetworkMode\":\"bridge\"},\"Image\":\"b\"}");
	sends(C, "{\"Image\":\"b\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]}}}",
	      "{\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]}},\"Image\":\"b\"}");
	/* A network given by id prefix is sent as the id it resolved to. */
	sends(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"aa11bb\"}}",
	      "{\"HostConfig\":{\"NetworkMode\":\"" BACK_NET_ID "\"},\"Image\":\"b\"}");
	sends(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"back\"},\"NetworkingConfig\":"
	      "{\"EndpointsConfig\":{\"back\":{\"Aliases\":[\"web\"]}}}}",
	      "{\"HostConfig\":{\"NetworkMode\":\"back\"},\"Image\":\"b\",\"NetworkingConfig\":"
	      "{\"EndpointsConfig\":{\"back\":{\"Aliases\":[\"web\"]}}}}");
	sends(C, "{\"Image\":\"b\",\"Env\":[\"A=1\"],\"Labels\":{\"k\":\"v\"},\"Cmd\":null}",
	      "{\"Env\":[\"A=1\"],\"Image\":\"b\",\"Labels\":{\"k\":\"v\"}}");

	refused(C, "[]", -EINVAL, "not a JSON object");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":\"x\"}", -EINVAL, "HostConfig");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"/etc:/x\"]}}", -EACCES, "Binds[0]");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"/:/host:ro\"]}}", -EACCES, "Binds");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"./rel:/x\"]}}", -EACCES, "Binds");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"bindvol:/x\"]}}", -EACCES, "bindvol");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"nfs:/x\"]}}", -EACCES, "nfs");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"v:/x:rshared\"]}}", -EACCES, "rshared");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[7]}}", -EINVAL, "Binds[0]");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\","
		"\"Target\":\"/h\"}]}}", -EACCES, "bind");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":"
		"\"bindvol\",\"Target\":\"/h\"}]}}", -EACCES, "bindvol");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Source\":\"/\",\"Target\":\"/h\"}]}}",
		-EINVAL, "Type");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\","
		"\"Target\":\"/v\",\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"local\",\"Options\":"
		"{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}}}]}}", -EACCES, "DriverConfig");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Privileged\":true}}", -EACCES, "Privileged");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"host\"}}", -EACCES, "host");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"" HOST_NET_ID "\"}}", -EACCES,
		"host");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"4f1e2d3c4b5a\"}}", -EACCES,
		"host");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"mac\"}}", -EACCES, "macvlan");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"container:abc\"}}", -EACCES,
		"container:");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"nosuch\"}}", -EINVAL, "nosuch");
	refused(C, "{\"Image\":\"b\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"4f1e2d\":{}}}}",
		-EACCES, "host");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"PidMode\":\"host\"}}", -EACCES, "PidMode");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"IpcMode\":\"host\"}}", -EACCES, "IpcMode");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"UTSMode\":\"host\"}}", -EACCES, "UTSMode");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"UsernsMode\":\"host\"}}", -EACCES, "UsernsMode");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"CgroupnsMode\":\"host\"}}", -EACCES, "Cgroupns");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/dev/sda\"}]}}",
		-EACCES, "Devices");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"DeviceRequests\":[{\"Count\":-1}]}}", -EACCES,
		"DeviceRequests");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"CapAdd\":[\"SYS_ADMIN\"]}}", -EACCES, "CapAdd");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"SecurityOpt\":[\"apparmor=unconfined\"]}}",
		-EACCES, "SecurityOpt");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Sysctls\":{\"kernel.x\":\"1\"}}}", -EACCES,
		"Sysctls");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"syslog\"}}}", -EACCES,
		"syslog");
	/* The legacy top level the engine still reads, and the decoder's folds. */
	refused(C, "{\"Image\":\"b\",\"PidMode\":\"host\",\"CapAdd\":[\"SYS_ADMIN\"]}", -EACCES,
		"needs admin");
	refused(C, "{\"Image\":\"b\",\"Binds\":[\"/:/h\"]}", -EACCES, "Binds");
	refused(C, "{\"Image\":\"b\",\"VolumesFrom\":[\"x\"]}", -EACCES, "VolumesFrom");
	refused(C, "{\"Image\":\"b\",\"Ho\xc5\xbftconfig\":{\"Privileged\":true}}", -EACCES,
		"Ho\xc5\xbftconfig");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Mount\xc5\xbf\":[]}}", -EACCES, "Mount");
	refused(C, "{\"Image\":\"b\",\"HostConfig\":{\"Bind\xc5\xbf\":[\"/:/h\"]}}", -EACCES, "Bind");
	refused(C, "{\"Image\":\"b\",\"hostconfig\":{}}", -EINVAL, "HostConfig");
	refused(C, "{\"image\":\"b\"}", -EINVAL, "Image");
	refused(C, "{\"Image\":\"b\",\"Image\":\"c\"}", -EINVAL, "duplicate");

	/* Services. */
	sends(S, "{\"Name\":\"s\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Mounts\":"
	      "[{\"Type\":\"volume\",\"Source\":\"plain\",\"Target\":\"/d\"}]},\"Networks\":"
	      "[{\"Target\":\"ovl\"}]},\"Mode\":{\"Replicated\":{\"Replicas\":2}}}",
	      "{\"Mode\":{\"Replicated\":{\"Replicas\":2}},\"Name\":\"s\",\"TaskTemplate\":"
	      "{\"ContainerSpec\":{\"Image\":\"b\",\"Mounts\":[{\"Source\":\"plain\",\"Target\":\"/d\","
	      "\"Type\":\"volume\"}]},\"Networks\":[{\"Target\":\"ovl\"}]}}");
	sends(S, "{\"Name\":\"s\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Isolation\":"
	      "\"default\"},\"Runtime\":\"container\",\"ForceUpdate\":0},\"UpdateConfig\":"
	      "{\"MaxFailureRatio\":0.5}}",
	      "{\"Name\":\"s\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Isolation\":"
	      "\"default\"},\"ForceUpdate\":0,\"Runtime\":\"container\"},\"UpdateConfig\":"
	      "{\"MaxFailureRatio\":0.5}}");
	refused(S, "{\"Name\":\"s\",\"Ta\xc5\xbftemplate\":{\"ContainerSpec\":{\"Image\":\"b\"}}}",
		-EACCES, "Ta\xc5\xbftemplate");
	refused(S, "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Mount\xc5\xbf\":[]}}}",
		-EACCES, "Mount");
	refused(S, "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Mounts\":[{\"Type\":"
		"\"bind\",\"Source\":\"/\",\"Target\":\"/h\"}]}}}", -EACCES, "bind");
	refused(S, "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Secrets\":[{\"SecretID\":"
		"\"x\"}]}}}", -EACCES, "Secrets");
	refused(S, "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"CapabilityAdd\":"
		"[\"ALL\"]}}}", -EACCES, "CapabilityAdd");
	refused(S, "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Privileges\":"
		"{\"SELinuxContext\":{\"Disable\":true}}}}}", -EACCES, "SELinuxContext");
	refused(S, "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\"},\"Networks\":[{\"Target\":"
		"\"4f1e2d3c\"}]}}", -EACCES, "host");
	refused(S, "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\"},\"Networks\":[{\"Target\":"
		"\"back\"}]}}", -EACCES, "bridge");
	refused(S, "{\"Networks\":[{\"Target\":\"host\"}]}", -EACCES, "host");
	refused(S, "{\"TaskTemplate\":{\"PluginSpec\":{\"Name\":\"p\"}}}", -EACCES, "PluginSpec");
	refused(S, "{\"TaskTemplate\":{\"Runtime\":\"plugin\"}}", -EACCES, "plugin");

	/* Networks and volumes. */
	sends(ALLOW_VOLUME, "{\"Name\":\"v\",\"Labels\":{\"a\":\"b\"}}",
	      "{\"Labels\":{\"a\":\"b\"},\"Name\":\"v\"}");
	refused(ALLOW_VOLUME, "{\"Name\":\"v\",\"DriverOpts\":{\"o\":\"bind\"}}", -EACCES,
		"DriverOpts");
	refused(ALLOW_VOLUME, "{\"Name\":\"v\",\"DriverOpt\xc5\xbf\":{\"o\":\"bind\"}}", -EACCES,
		"DriverOpt");
	refused(ALLOW_VOLUME, "{\"Name\":\"v\",\"Driver\":\"nfs\"}", -EACCES, "nfs");
	refused(ALLOW_NETWORK, "{\"Name\":\"n\",\"Driver\":\"macvlan\"}", -EACCES, "macvlan");
	refused(ALLOW_NETWORK, "{\"Name\":\"n\",\"Options\":{\"parent\":\"eth0\"}}", -EACCES,
		"Options");
}

static void existing(const char *inspect, int want, const char *names)
{
	char why[256] = "";
	json_t *j = json_loads(inspect, 0, NULL);
	int err = allowlist_judge_container(j, &resolver, why, sizeof(why));

	CHECK(j && err == want && (!want || strstr(why, names)), "exec into %s: %d (got %d: %s)",
	      inspect, want, err, why);
	json_decref(j);
}

static void containers_that_exist(void)
{
	existing("{\"HostConfig\":{\"Privileged\":false,\"CapAdd\":null,\"NetworkMode\":"
		 "\"default\",\"IpcMode\":\"private\"},\"Mounts\":[{\"Type\":\"volume\","
		 "\"Name\":\"plain\",\"Destination\":\"/d\"}],\"NetworkSettings\":{\"Networks\":"
		 "{\"bridge\":{}}}}", 0, "");
	existing("{\"HostConfig\":{\"Privileged\":true}}", -EACCES, "Privileged");
	existing("{\"HostConfig\":{\"CapAdd\":[\"SYS_ADMIN\"]}}", -EACCES, "CapAdd");
	existing("{\"HostConfig\":{\"PidMode\":\"host\"}}", -EACCES, "PidMode");
	existing("{\"HostConfig\":{\"NetworkMode\":\"container:abc\"}}", -EACCES, "container:");
	existing("{\"HostConfig\":{\"NetworkMode\":\"4f1e2d3c\"},\"NetworkSettings\":"
		 "{\"Networks\":{\"host\":{}}}}", -EACCES, "host network");
	existing("{\"HostConfig\":{},\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\","
		 "\"Destination\":\"/h\"}]}", -EACCES, "bind");
	existing("{\"HostConfig\":{},\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"bindvol\","
		 "\"Destination\":\"/h\"}]}", -EACCES, "bindvol");
	existing("{}", -EACCES, "unknown");
}


/* ---- the docker CLI's options, through the allowlist ----------------------- */

/* A line of run/create (or service create) options, parsed as the ctl
 * parses it, then rebuilt for an operator: want 0 (sent, and the rebuilt
 * body equals the parsed one: nothing an option sets is dropped on the
 * way) or the refusal. */
static void line_as_operator(enum allowlist_kind kind, const char *line, int want)
{
	struct argv a;
	json_t *body = NULL, *out = NULL;
	char *name = NULL, err[256] = "", why[256] = "";
	int rc;

	cmdline_split(line, strlen(line), &a);
	rc = kind == C ? cmdline_container_spec(a.n, a.v, &body, &name, err, sizeof(err))
		       : cmdline_service_spec(a.n, a.v, &body, err, sizeof(err));
	argv_free(&a);
	free(name);
	CHECK(rc == 0, "[%s] parses (%s)", line, err);
	if (rc)
		return;
	rc = allowlist_rebuild(kind, body, &resolver, &out, why, sizeof(why));
	if (want)
		CHECK(rc == want && why[0], "[%s] refused to an operator: %d (got %d, %s)", line,
		      want, rc, why);
	else
		CHECK(rc == 0 && json_equal(body, out), "[%s] sent as parsed to an operator (%d, %s)",
		      line, rc, why);
	json_decref(body);
	json_decref(out);
}

static void cli_options(void)
{
	/* What an operator may use: limits of its own container, its own
	 * names and addresses, logs kept on the engine. */
	static const char *const operator_run[] = {
		"-dit --rm busybox", "-m 512m --memory-swap 1g --memory-reservation 256m busybox",
		"--memory-swappiness 10 --cpus 1.5 -c 512 --cpu-period 100000 --cpu-quota 50000 "
		"--cpuset-cpus 0 --cpuset-mems 0 --blkio-weight 300 busybox",
		"--pids-limit 100 --shm-size 64m busybox",
		"--restart on-failure:3 busybox",
		"--health-cmd true --health-interval 1s --health-timeout 2s --health-retries 3 "
		"--health-start-period 5s --health-start-interval 1s busybox",
		"--no-healthcheck busybox",
		"--log-driver json-file --log-opt max-size=1m --log-opt max-file=2 busybox",
		"--log-driver local busybox", "--log-driver journald busybox",
		"--log-driver none busybox",
		"--add-host db:10.0.0.2 --dns 1.1.1.1 --dns-option ndots:2 --dns-search x.org busybox",
		"--ulimit nofile=100:200 --ulimit nproc=50 busybox",
		"--stop-signal SIGINT --stop-timeout 3 --read-only --init busybox",
		"--tmpfs /run:size=1m -P --expose 80 -p 8080:80 busybox",
		"--network back --network-alias db --ip 10.1.2.3 --ip6 fd00::3 busybox",
		"--pull never --cap-drop NET_RAW --group-add 12 --domainname x.org -h web busybox",
		"-v plain:/p -v /anon --mount type=tmpfs,target=/t,tmpfs-size=1m busybox",
		"--mount type=volume,source=plain,target=/v,volume-nocopy busybox",
		"-e A=1 -l k=v -w /tmp -u 1000 --entrypoint sh --name web busybox -c true",
	};
	/* What is root on the engine's machine, or sends what is logged
	 * elsewhere: admin only. */
	static const char *const admin_run[] = {
		"--privileged busybox", "--cap-add SYS_ADMIN busybox", "--device /dev/mem busybox",
		"--pid host busybox", "--ipc host busybox", "--uts host busybox",
		"--userns host busybox", "--cgroupns host busybox",
		"--security-opt seccomp=unconfined busybox", "--sysctl net.ipv4.ip_forward=1 busybox",
		"--oom-score-adj -1000 busybox", "--oom-kill-disable busybox",
		"--cgroup-parent / busybox", "--runtime other busybox", "--link x busybox",
		"--volumes-from x busybox", "--network host busybox", "-v /etc:/x busybox",
		"--mount type=bind,source=/,target=/h busybox", "-v bindvol:/x busybox",
		"--log-driver syslog --log-opt syslog-address=udp://1.2.3.4:514 busybox",
		"--log-driver gelf busybox", "--log-driver fluentd busybox",
		"--mount type=volume,source=x,target=/v,volume-driver=nfs busybox",
	};
	static const char *const operator_service[] = {
		"--replicas 2 --replicas-max-per-node 1 --constraint node.role==worker "
		"--placement-pref spread=node.labels.dc busybox",
		"--mode global busybox", "--mode replicated-job --replicas 2 --max-concurrent 1 busybox",
		"--update-parallelism 2 --update-delay 10s --update-monitor 1s "
		"--update-failure-action rollback --update-max-failure-ratio 0.5 "
		"--update-order start-first busybox",
		"--rollback-parallelism 0 --rollback-delay 1s --rollback-monitor 2s "
		"--rollback-failure-action continue --rollback-max-failure-ratio 0.1 "
		"--rollback-order stop-first busybox",
		"--restart-condition on-failure --restart-delay 1s --restart-max-attempts 3 "
		"--restart-window 1m busybox",
		"--limit-cpu 0.5 --limit-memory 64m --limit-pids 10 --reserve-cpu 0.1 "
		"--reserve-memory 32m busybox",
		"--health-cmd true --health-interval 1s --health-retries 2 busybox",
		"--no-healthcheck --stop-grace-period 5s --stop-signal SIGINT busybox",
		"--dns 1.1.1.1 --dns-option ndots:1 --dns-search x.org --host db:10.0.0.2 "
		"--hostname h busybox",
		"--init --read-only -u 1000 -w /tmp --group 12 --entrypoint 'sh -c' -t busybox",
		"--endpoint-mode dnsrr -p 8080:80 --network ovl busybox",
		"--log-driver json-file --log-opt max-size=1m busybox",
		"--cap-drop NET_RAW --ulimit nofile=10:20 busybox",
		"-e A=1 -l k=v --container-label c=d --mount type=volume,source=plain,target=/v "
		"--config source=c,target=/c busybox",
	};
	static const char *const admin_service[] = {
		"--cap-add SYS_ADMIN busybox", "--sysctl net.ipv4.ip_forward=1 busybox",
		"--mount type=bind,source=/,target=/h busybox", "--secret s busybox",
		"--log-driver syslog busybox", "--network host busybox",
		"--network name=ovl,driver-opt=x=y busybox",
		"--mount type=volume,source=x,target=/v,volume-driver=nfs busybox",
		"--isolation hyperv busybox",
	};

	for (size_t i = 0; i < sizeof(operator_run) / sizeof(operator_run[0]); i++)
		line_as_operator(C, operator_run[i], 0);
	for (size_t i = 0; i < sizeof(admin_run) / sizeof(admin_run[0]); i++)
		line_as_operator(C, admin_run[i], -EACCES);
	for (size_t i = 0; i < sizeof(operator_service) / sizeof(operator_service[0]); i++)
		line_as_operator(S, operator_service[i], 0);
	for (size_t i = 0; i < sizeof(admin_service) / sizeof(admin_service[0]); i++)
		line_as_operator(S, admin_service[i], -EACCES);
}

/* ---- the property test ---------------------------------------------------- */

/* What this test holds an operator may send, written apart from the schema:
 * a schema row added by mistake fails here. */
static const char *const allowed_top[] = {
	"Image", "Cmd", "Entrypoint", "Env", "Labels", "WorkingDir", "User", "Hostname",
	"Domainname", "StopSignal", "StopTimeout", "Tty", "OpenStdin", "StdinOnce", "AttachStdin",
	"AttachStdout", "AttachStderr", "ExposedPorts", "Volumes", "Healthcheck", "HostConfig",
	"NetworkingConfig", NULL,
};
static const char *const allowed_hc[] = {
	"Binds", "Mounts", "RestartPolicy", "PortBindings", "PublishAllPorts", "NetworkMode", "Tmpfs",
	"Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuPeriod",
	"CpuQuota", "CpusetCpus", "PidsLimit", "ShmSize", "LogConfig", "Dns", "DnsOptions",
	"DnsSearch", "ExtraHosts", "Ulimits", "ReadonlyRootfs", "Init", "AutoRemove", "CapDrop",
	"GroupAdd",
	/* docker run's --memory-swappiness, --cpuset-mems, --blkio-weight: limits
	 * of the container's own cgroup, which reach nothing of the host's */
	"MemorySwappiness", "CpusetMems", "BlkioWeight", NULL,
};

static bool among(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng_state >> 33) % n);
}

/* name spelled at random: as it is, folded in ASCII case, or with a
 * letter the engine's decoder folds (ſ for s, K for k). */
static void spell(struct buf *out, const char *name)
{
	unsigned how = rnd(6);

	buf_puts(out, "\"");
	for (const char *p = name; *p; p++) {
		char ch = *p;
		if (how == 1 && rnd(3) == 0)
			ch = (char)(ch ^ 0x20 * !!((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'));
		else if (how == 2)
			ch = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
		if (how == 3 && (ch == 's' || ch == 'S'))
			buf_puts(out, "\xc5\xbf");
		else if (how == 4 && (ch == 'k' || ch == 'K'))
			buf_puts(out, "\xe2\x84\xaa");
		else
			buf_append(out, &ch, 1);
	}
	buf_puts(out, "\"");
}

struct piece {
	const char *key, *value;
};

/* Fields, harmless and not, with values to match. */
static const struct piece pieces[] = {
	{ "Image", "\"busybox\"" }, { "Cmd", "[\"sleep\",\"9\"]" }, { "Env", "[\"A=1\"]" },
	{ "Labels", "{\"k\":\"v\"}" }, { "WorkingDir", "\"/w\"" }, { "User", "\"0\"" },
	{ "RestartPolicy", "{\"Name\":\"always\"}" }, { "Memory", "1048576" },
	{ "PortBindings", "{\"80/tcp\":[{\"HostPort\":\"8080\"}]}" },
	{ "NetworkMode", "\"back\"" }, { "NetworkMode", "\"host\"" },
	{ "NetworkMode", "\"4f1e2d3c4b5a\"" }, { "NetworkMode", "\"container:x\"" },
	{ "NetworkMode", "\"mac\"" }, { "Binds", "[\"plain:/p\"]" }, { "Binds", "[\"/:/host\"]" },
	{ "Binds", "[\"bindvol:/b\"]" },
	{ "Mounts", "[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/h\"}]" },
	{ "Mounts", "[{\"Type\":\"volume\",\"Source\":\"bindvol\",\"Target\":\"/h\"}]" },
	{ "Mounts", "[{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]" },
	{ "Privileged", "true" }, { "Privileged", "false" }, { "PidMode", "\"host\"" },
	{ "IpcMode", "\"host\"" }, { "UTSMode", "\"host\"" }, { "CapAdd", "[\"SYS_ADMIN\"]" },
	{ "SecurityOpt", "[\"seccomp=unconfined\"]" }, { "Sysctls", "{\"net.x\":\"1\"}" },
	{ "CgroupParent", "\"/\"" }, { "VolumesFrom", "[\"x\"]" },
	{ "Devices", "[{\"PathOnHost\":\"/dev/mem\",\"PathInContainer\":\"/m\"}]" },
	{ "LogConfig", "{\"Type\":\"syslog\"}" }, { "LogConfig", "{\"Type\":\"local\"}" },
	{ "OomScoreAdj", "-1000" }, { "MemorySwappiness", "10" }, { "BlkioWeight", "300" },
	{ "BlkioWeightDevice", "[{\"Path\":\"/dev/sda\",\"Weight\":10}]" },
};

static void random_object(struct buf *out, int depth)
{
	unsigned n = rnd(6);

	buf_puts(out, "{");
	for (unsigned i = 0; i < n; i++) {
		if (i)
			buf_puts(out, ",");
		if (depth == 0 && rnd(4) == 0) {
			spell(out, "HostConfig");
			buf_puts(out, ":");
			random_object(out, 1);
			continue;
		}
		const struct piece *p = &pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
		spell(out, p->key);
		buf_puts(out, ":");
		buf_puts(out, p->value);
	}
	buf_puts(out, "}");
}

/* The rebuilt body holds nothing this file does not allow. */
static bool safe(json_t *body, char *why, size_t len)
{
	const char *k, *s;
	json_t *v, *hc = json_object_get(body, "HostConfig");
	size_t i;

	json_object_foreach(body, k, v)
		if (!among(allowed_top, k))
			return snprintf(why, len, "top-level %s", k), false;
	json_object_foreach(hc, k, v)
		if (!among(allowed_hc, k))
			return snprintf(why, len, "HostConfig.%s", k), false;
	s = json_string_value(json_object_get(hc, "NetworkMode"));
	if (s && strcmp(s, "back") && strcmp(s, BACK_NET_ID) && strcmp(s, "bridge") &&
	    strcmp(s, "none") && strcmp(s, "default"))
		return snprintf(why, len, "NetworkMode %s", s), false;
	json_array_foreach(json_object_get(hc, "Binds"), i, v) {
		s = json_string_value(v);
		if (!s || s[0] == '/' || strncmp(s, "plain:", 6))
			return snprintf(why, len, "bind %s", s ? s : "?"), false;
	}
	json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
		s = json_string_value(json_object_get(v, "Type"));
		const char *src = json_string_value(json_object_get(v, "Source"));
		if (!s || (strcmp(s, "volume") && strcmp(s, "tmpfs")) || (src && !strcmp(src, "bindvol")))
			return snprintf(why, len, "mount %s", s ? s : "?"), false;
	}
	s = json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type"));
	if (s && strcmp(s, "local"))
		return snprintf(why, len, "log driver %s", s), false;
	return true;
}

/* Services: the same with a ServiceSpec's nesting. */
static const char *const allowed_service[] = {
	"Name", "Labels", "TaskTemplate", "Mode", "UpdateConfig", "RollbackConfig", "EndpointSpec",
	"Networks", NULL,
};
static const char *const allowed_tt[] = {
	"ContainerSpec", "Resources", "RestartPolicy", "Placement", "Networks", "LogDriver",
	"ForceUpdate", "Runtime", NULL,
};
static const char *const allowed_cs[] = {
	"Image", "Labels", "Command", "Args", "Hostname", "Env", "Dir", "User", "Groups", "TTY",
	"OpenStdin", "ReadOnly", "Mounts", "StopSignal", "StopGracePeriod", "Healthcheck", "Hosts",
	"DNSConfig", "Configs", "Init", "Isolation", "Privileges", "CapabilityDrop", "Ulimits", NULL,
};

static const struct piece cs_pieces[] = {
	{ "Image", "\"busybox\"" }, { "Args", "[\"sleep\",\"9\"]" }, { "Env", "[\"A=1\"]" },
	{ "Mounts", "[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/h\"}]" },
	{ "Mounts", "[{\"Type\":\"volume\",\"Source\":\"plain\",\"Target\":\"/h\"}]" },
	{ "Mounts", "[{\"Type\":\"volume\",\"Source\":\"bindvol\",\"Target\":\"/h\"}]" },
	{ "Privileges", "{\"NoNewPrivileges\":true}" },
	{ "Privileges", "{\"SELinuxContext\":{\"Disable\":true}}" },
	{ "CapabilityAdd", "[\"ALL\"]" }, { "Sysctls", "{\"net.x\":\"1\"}" },
	{ "Secrets", "[{\"SecretID\":\"x\",\"File\":{\"Name\":\"x\"}}]" },
	{ "Isolation", "\"hyperv\"" }, { "Isolation", "\"default\"" },
};

static const struct piece tt_pieces[] = {
	{ "Networks", "[{\"Target\":\"ovl\"}]" }, { "Networks", "[{\"Target\":\"4f1e2d\"}]" },
	{ "Networks", "[{\"Target\":\"back\"}]" }, { "Runtime", "\"plugin\"" },
	{ "PluginSpec", "{\"Name\":\"p\"}" }, { "ForceUpdate", "1" },
	{ "LogDriver", "{\"Name\":\"syslog\"}" },
};

static void random_pieces(struct buf *out, const struct piece *p, size_t n, const char *inner,
			  void (*sub)(struct buf *), unsigned max)
{
	unsigned k = rnd(max);

	buf_puts(out, "{");
	for (unsigned i = 0; i < k; i++) {
		if (i)
			buf_puts(out, ",");
		if (inner && rnd(3) == 0) {
			spell(out, inner);
			buf_puts(out, ":");
			sub(out);
			continue;
		}
		const struct piece *q = &p[rnd((unsigned)n)];
		spell(out, q->key);
		buf_puts(out, ":");
		buf_puts(out, q->value);
	}
	buf_puts(out, "}");
}

static void random_cs(struct buf *out)
{
	random_pieces(out, cs_pieces, sizeof(cs_pieces) / sizeof(cs_pieces[0]), NULL, NULL, 5);
}

static void random_tt(struct buf *out)
{
	random_pieces(out, tt_pieces, sizeof(tt_pieces) / sizeof(tt_pieces[0]), "ContainerSpec",
		      random_cs, 4);
}

static void random_service(struct buf *out)
{
	static const struct piece top[] = {
		{ "Name", "\"s\"" }, { "Networks", "[{\"Target\":\"host\"}]" },
		{ "Mode", "{\"Replicated\":{\"Replicas\":1}}" },
	};
	random_pieces(out, top, sizeof(top) / sizeof(top[0]), "TaskTemplate", random_tt, 4);
}

static bool safe_service(json_t *spec, char *why, size_t len)
{
	json_t *tt = json_object_get(spec, "TaskTemplate"), *cs = json_object_get(tt,
										 "ContainerSpec");
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(spec, k, v)
		if (!among(allowed_service, k))
			return snprintf(why, len, "%s", k), false;
	json_object_foreach(tt, k, v)
		if (!among(allowed_tt, k))
			return snprintf(why, len, "TaskTemplate.%s", k), false;
	json_object_foreach(cs, k, v)
		if (!among(allowed_cs, k))
			return snprintf(why, len, "ContainerSpec.%s", k), false;
	json_object_foreach(json_object_get(cs, "Privileges"), k, v)
		if (strcmp(k, "NoNewPrivileges"))
			return snprintf(why, len, "Privileges.%s", k), false;
	json_array_foreach(json_object_get(cs, "Mounts"), i, v) {
		const char *t = json_string_value(json_object_get(v, "Type"));
		const char *src = json_string_value(json_object_get(v, "Source"));
		if (!t || strcmp(t, "volume") || !src || strcmp(src, "plain"))
			return snprintf(why, len, "mount %s", t ? t : "?"), false;
	}
	json_array_foreach(json_object_get(tt, "Networks"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "Target")) ?: "", "ovl"))
			return snprintf(why, len, "network"), false;
	if (json_object_get(spec, "Networks") || json_object_get(tt, "LogDriver") ||
	    json_object_get(tt, "Runtime"))
		return snprintf(why, len, "network, log driver or runtime"), false;
	const char *iso = json_string_value(json_object_get(cs, "Isolation"));
	if (iso && strcmp(iso, "default"))
		return snprintf(why, len, "isolation %s", iso), false;
	return true;
}

static void fuzz_kind(enum allowlist_kind kind, void (*gen)(struct buf *),
		      bool (*is_safe)(json_t *, char *, size_t), const char *what)
{
	const char *n_env = getenv("DOCKFS_FUZZ_N");
	long n = n_env ? atol(n_env) : 100000;
	long refused_n = 0, sent_n = 0, bad = 0;

	for (long i = 0; i < n; i++) {
		struct buf text = BUF_INIT;
		char why[256] = "";
		json_t *in, *out = NULL, *again = NULL;

		gen(&text);
		in = json_loads(text.data, JSON_REJECT_DUPLICATES, NULL);
		int err = in ? allowlist_rebuild(kind, in, &resolver, &out, why, sizeof(why))
			     : -EINVAL;
		if (err) {
			refused_n++;
			if (((err != -EACCES && err != -EINVAL) || (in && !why[0]) || out) &&
			    bad++ < 5)
				CHECK(0, "refusal %d without a reason: %s", err, text.data);
		} else {
			sent_n++;
			int err2 = allowlist_rebuild(kind, out, &resolver, &again, why, sizeof(why));
			if ((!is_safe(out, why, sizeof(why)) || err2 || !json_equal(out, again)) &&
			    bad++ < 5)
				CHECK(0, "unsafe or unstable (%s): %s", why, text.data);
		}
		json_decref(in);
		json_decref(out);
		json_decref(again);
		buf_free(&text);
	}
	CHECK(bad == 0 && refused_n > n / 10 && sent_n > n / 10,
	      "fuzz %s: %ld bodies, %ld refused, %ld sent, %ld bad", what, n, refused_n, sent_n,
	      bad);
}

static void random_container(struct buf *out)
{
	random_object(out, 0);
}

int main(void)
{
	const char *seed_env = getenv("DOCKFS_FUZZ_SEED");

	table();
	containers_that_exist();
	cli_options();
	rng_state = seed_env ? strtoull(seed_env, NULL, 10) : 14;
	fuzz_kind(ALLOW_CONTAINER, random_container, safe, "containers");
	fuzz_kind(ALLOW_SERVICE, random_service, safe_service, "services");
	return check_done();
}
