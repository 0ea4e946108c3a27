/* Unit tests: JSON to model (containers, images), Docker's status text,
 * ports, times, the hash map. */
#include <stdlib.h>

#include "check.h"
#include "format.h"
#include "map.h"
#include "model.h"

static const char *inspect_running =
	"{\"Id\":\"abc123abc123abc123\",\"Name\":\"/web\",\"Created\":\"2026-11-27T00:12:34.5Z\","
	"\"State\":{\"Status\":\"running\",\"Running\":true,\"Paused\":false,\"Restarting\":false,"
	"\"Dead\":false,\"Pid\":4242,\"ExitCode\":0,\"StartedAt\":\"2026-11-27T00:12:35Z\","
	"\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"Health\":{\"Status\":\"healthy\"}},"
	"\"Config\":{\"Image\":\"busybox:latest\",\"Tty\":false,\"Labels\":{\"app\":\"web\",\"tier\":\"\"}},"
	"\"NetworkSettings\":{\"Ports\":{\"443/tcp\":null,\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}}}";

static void test_container(void)
{
	struct container *c = calloc(1, sizeof(*c));
	json_t *j = json_loads(inspect_running, 0, NULL);

	container_from_inspect(c, j);
	CHECK_STR(c->id, "abc123abc123abc123");
	CHECK_STR(c->name, "web");
	CHECK_STR(c->image, "busybox:latest");
	CHECK_STR(c->state, "running");
	CHECK_STR(c->health, "healthy");
	CHECK_INT(c->pid, 4242);
	CHECK(c->detailed, "inspect makes it detailed");
	CHECK_STR(c->ports, "0.0.0.0:8080->80/tcp\n443/tcp\n");
	CHECK_STR(container_label(c, "app"), "web");
	CHECK_STR(container_label(c, "tier"), "");
	CHECK(container_label(c, "nope") == NULL, "absent label");
	CHECK_INT(c->created_ts.tv_sec, 1795738354);
	CHECK_INT(c->created_ts.tv_nsec, 500000000);
	CHECK_INT(c->changed_ts.tv_sec, 1795738355);

	struct buf b = BUF_INIT;
	format_container_status(&c->cs, 1795738355 + 300, &b);
	CHECK_STR(b.data, "Up 5 minutes (healthy)");
	json_decref(j);

	buf_free(&b);
	container_free(c);
}

static void status_is(struct container_state s, time_t now, const char *want)
{
	struct buf b = BUF_INIT;

	format_container_status(&s, now, &b);
	CHECK_STR(b.data ? b.data : "", want);
	buf_free(&b);
}

static void test_status(void)
{
	time_t t0 = 1000000000;

	status_is((struct container_state){ 0 }, t0, "Created");
	status_is((struct container_state){ .running = true, .started = t0 }, t0, "Up Less than a second");
	status_is((struct container_state){ .running = true, .started = t0 }, t0 + 1, "Up 1 second");
	status_is((struct container_state){ .running = true, .started = t0 }, t0 + 59, "Up 59 seconds");
	status_is((struct container_state){ .running = true, .started = t0 }, t0 + 60, "Up About a minute");
	status_is((struct container_state){ .running = true, .paused = true, .started = t0 },
		  t0 + 7200, "Up 2 hours (Paused)");
	status_is((struct container_state){ .running = true, .restarting = true, .exit_code = 1,
					    .started = t0, .finished = t0 },
		  t0 + 5, "Restarting (1) 5 seconds ago");
	status_is((struct container_state){ .running = true, .started = t0, .health = "starting" },
		  t0 + 3, "Up 3 seconds (health: starting)");
	status_is((struct container_state){ .exit_code = 137, .started = t0, .finished = t0 + 10 },
		  t0 + 10 + 3 * 86400, "Exited (137) 3 days ago");
	status_is((struct container_state){ .dead = true, .started = t0 }, t0, "Dead");
	status_is((struct container_state){ .removing = true }, t0, "Removal In Progress");
}

static void test_duration(void)
{
	char d[64];
	const struct {
		long long s;
		const char *want;
	} cases[] = {
		{ 0, "Less than a second" }, { 1, "1 second" }, { 45, "45 seconds" },
		{ 90, "About a minute" }, { 150, "2 minutes" }, { 3599, "59 minutes" },
		{ 3600, "About an hour" }, { 5399, "About an hour" }, { 5400, "2 hours" },
		{ 47 * 3600, "47 hours" }, { 3 * 86400, "3 days" }, { 15 * 86400, "2 weeks" },
		{ 90 * 86400, "3 months" }, { 800 * 86400, "2 years" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_human_duration(cases[i].s, d, sizeof(d));
		CHECK_STR(d, cases[i].want);
	}
}

static void test_time(void)
{
	struct timespec ts;

	CHECK(format_parse_time("2026-11-27T00:12:34.123456789Z", &ts), "nanoseconds");
	CHECK_INT(ts.tv_sec, 1795738354);
	CHECK_INT(ts.tv_nsec, 123456789);
	CHECK(format_parse_time("2026-11-27T01:12:34+01:00", &ts), "offset");
	CHECK_INT(ts.tv_sec, 1795738354);
	CHECK(format_parse_time("0001-01-01T00:00:00Z", &ts), "zero time");
	CHECK_INT(ts.tv_sec, 0);
	CHECK(!format_parse_time("yesterday", &ts), "garbage refused");
	CHECK(!format_parse_time(NULL, &ts), "NULL refused");
}

static void test_map(void)
{
	struct map m = MAP_INIT;
	char keys[1000][8];

	for (int i = 0; i < 1000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		map_put(&m, keys[i], keys[i]);
	}
	CHECK_INT(m.count, 1000);
	CHECK(map_get(&m, "k999") == keys[999], "get after growth");
	CHECK(map_put(&m, keys[5], "x") == keys[5], "replace returns the old value");
	CHECK(map_del(&m, "k5") != NULL && map_get(&m, "k5") == NULL, "del");
	int n = 0;
	while (map_pop(&m))
		n++;
	CHECK_INT(n, 999);
	CHECK_INT(m.count, 0);
	map_clear(&m);
}

int main(void)
{
	test_container();
	test_status();
	test_duration();
	test_time();
	test_map();
	return check_done();
}
