/* Unit tests: the create allowlist (access.c), shape by shape, as the
 * Portainer CVEs taught: every place a host path or privilege can hide. */
#include <errno.h>

#include "access.h"
#include "check.h"

static void allowed(const char *json)
{
	char why[256] = "";
	json_t *j = json_loads(json, 0, NULL);

	CHECK(j && access_check_container_spec(j, why, sizeof(why)) == 0, "allowed: %s (%s)",
	      json, why);
	json_decref(j);
}

static void refused(const char *json)
{
	char why[256] = "";
	json_t *j = json_loads(json, 0, NULL);

	CHECK(j && access_check_container_spec(j, why, sizeof(why)) == -EACCES && why[0],
	      "refused: %s (%s)", json, why);
	json_decref(j);
}

int main(void)
{
	allowed("{\"Image\":\"busybox\"}");
	allowed("{\"Image\":\"busybox\",\"HostConfig\":{}}");
	allowed("{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"data:/data\",\"cache:/c:ro\"]}}");
	allowed("{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\"}]}}");
	allowed("{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]}}");
	allowed("{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"bridge\",\"Privileged\":false,\"CapAdd\":[]}}");
	allowed("{\"Image\":\"b\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]}}}");
	allowed("{\"Image\":\"b\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\"}}}");

	refused("[]");
	refused("{\"Image\":\"b\",\"HostConfig\":\"x\"}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"/etc:/x\"]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"/:/host:ro\"]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[\"./rel:/x\"]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[7]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/h\"}]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"npipe\",\"Source\":\"x\",\"Target\":\"/h\"}]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Source\":\"/\",\"Target\":\"/h\"}]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\","
		"\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}}}]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Privileged\":true}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"host\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"PidMode\":\"host\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"IpcMode\":\"host\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"UTSMode\":\"host\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"UsernsMode\":\"host\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/dev/sda\"}]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"DeviceRequests\":[{\"Count\":-1}]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"CapAdd\":[\"SYS_ADMIN\"]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"SecurityOpt\":[\"apparmor=unconfined\"]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Sysctls\":{\"kernel.x\":\"1\"}}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"VolumesFrom\":[\"other\"]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"CgroupParent\":\"/\"}}");
	refused("{\"Image\":\"b\",\"Binds\":[\"/etc:/x\"]}");
	/* the engine matches field names without regard to case */
	refused("{\"Image\":\"b\",\"hostconfig\":{\"privileged\":true}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"binds\":[\"/:/h\"]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"mounts\":[{\"type\":\"BIND\",\"source\":\"/\",\"target\":\"/h\"}]}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{},\"hostConfig\":{}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"NetworkMode\":\"container:abc\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"PidMode\":\"container:abc\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Binds\":\"/:/h\"}}");
	refused("{\"Image\":\"b\",\"HostConfig\":{\"Mounts\":{\"Type\":\"bind\"}}}");

	char why[128];
	json_t *v = json_loads("{\"Name\":\"v\",\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}", 0, NULL);
	CHECK(access_check_driver_opts(v, why, sizeof(why)) == -EACCES, "volume bind by driver options refused");
	json_decref(v);
	v = json_loads("{\"Name\":\"v\",\"Driver\":\"local\"}", 0, NULL);
	CHECK(access_check_driver_opts(v, why, sizeof(why)) == 0, "plain local volume allowed");
	json_decref(v);

	/* service specs: their tasks run on every node */
	static const char *const svc_ok[] = {
		"{\"Name\":\"w\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\"}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\"}]}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Privileges\":{\"NoNewPrivileges\":true}}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Isolation\":\"default\"},\"Networks\":[{\"Target\":\"web\"}]}}",
	};
	static const char *const svc_refused[] = {
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\",\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/h\"}]}}}",
		"{\"taskTemplate\":{\"containerSpec\":{\"mounts\":[{\"type\":\"BIND\",\"source\":\"/\",\"target\":\"/h\"}]}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/v\",\"VolumeOptions\":{\"DriverConfig\":{\"Options\":{\"o\":\"bind\",\"device\":\"/\"}}}}]}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"CapabilityAdd\":[\"CAP_SYS_ADMIN\"]}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Privileges\":{\"SELinuxContext\":{\"Disable\":true}}}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Privileges\":{\"CredentialSpec\":{\"File\":\"x\"}}}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Sysctls\":{\"kernel.x\":\"1\"}}}}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Isolation\":\"hyperv\"}}}",
		"{\"TaskTemplate\":{\"Runtime\":\"plugin\",\"PluginSpec\":{\"Name\":\"x\"}}}",
		"{\"TaskTemplate\":{\"Networks\":[{\"Target\":\"host\"}]}}",
		"{\"Networks\":[{\"Target\":\"host\"}]}",
		"{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"b\"},\"containerSpec\":{}}}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(svc_ok) / sizeof(svc_ok[0]); i++) {
		v = json_loads(svc_ok[i], 0, NULL);
		CHECK(access_check_service_spec(v, why, sizeof(why)) == 0, "service spec allowed: %s (%s)",
		      svc_ok[i], why);
		json_decref(v);
	}
	for (size_t i = 0; i < sizeof(svc_refused) / sizeof(svc_refused[0]); i++) {
		why[0] = '\0';
		v = json_loads(svc_refused[i], 0, NULL);
		CHECK(access_check_service_spec(v, why, sizeof(why)) == -EACCES && why[0],
		      "service spec refused: %s (%s)", svc_refused[i], why);
		json_decref(v);
	}

	enum level l;
	CHECK(level_parse("operator", &l) == 0 && l == LEVEL_OPERATOR, "level_parse operator");
	CHECK(level_parse("root", &l) == -EINVAL, "level_parse refuses root");
	CHECK_STR(level_name(LEVEL_VIEWER), "viewer");
	return check_done();
}
