/* Unit tests: the one mapping of remote failures to errno (DESIGN.md 2),
 * API version negotiation, and the stdout/stderr demultiplexer. */
#include <errno.h>

#include "check.h"
#include "docker.h"

int main(void)
{
	/* HTTP statuses */
	CHECK_INT(docker_errno(200, CURLE_OK, false), 0);
	CHECK_INT(docker_errno(201, CURLE_OK, true), 0);
	CHECK_INT(docker_errno(204, CURLE_OK, false), 0);
	CHECK_INT(docker_errno(304, CURLE_OK, false), 0); /* already in that state */
	CHECK_INT(docker_errno(400, CURLE_OK, false), -EINVAL);
	CHECK_INT(docker_errno(401, CURLE_OK, false), -EACCES);
	CHECK_INT(docker_errno(403, CURLE_OK, false), -EACCES);
	CHECK_INT(docker_errno(404, CURLE_OK, false), -ENOENT);
	CHECK_INT(docker_errno(409, CURLE_OK, false), -EBUSY);
	CHECK_INT(docker_errno(409, CURLE_OK, true), -EEXIST);
	CHECK_INT(docker_errno(500, CURLE_OK, false), -EIO);
	CHECK_INT(docker_errno(502, CURLE_OK, false), -EIO);
	CHECK_INT(docker_errno(503, CURLE_OK, false), -EAGAIN);
	/* transport failures */
	CHECK_INT(docker_errno(0, CURLE_COULDNT_CONNECT, false), -EHOSTDOWN);
	CHECK_INT(docker_errno(0, CURLE_RECV_ERROR, false), -EHOSTDOWN);
	CHECK_INT(docker_errno(0, CURLE_GOT_NOTHING, false), -EHOSTDOWN);
	CHECK_INT(docker_errno(0, CURLE_SSL_CONNECT_ERROR, false), -EHOSTDOWN);
	CHECK_INT(docker_errno(0, CURLE_OPERATION_TIMEDOUT, false), -ETIMEDOUT);
	CHECK_INT(docker_errno(0, CURLE_ABORTED_BY_CALLBACK, false), -EINTR);
	/* a transport failure wins over a status seen before it */
	CHECK_INT(docker_errno(200, CURLE_OPERATION_TIMEDOUT, false), -ETIMEDOUT);
	CHECK(docker_errno(0, CURLE_COULDNT_CONNECT, false) != -ENOTCONN,
	      "never ENOTCONN: the kernel's word for a dead FUSE daemon");

	char v[16];
	docker_api_negotiate("1.41", v, sizeof(v));
	CHECK_STR(v, "1.41");
	docker_api_negotiate("1.99", v, sizeof(v));
	CHECK_STR(v, DOCKER_API_MAX);
	docker_api_negotiate("1.9", v, sizeof(v));
	CHECK_STR(v, "1.9");
	docker_api_negotiate(NULL, v, sizeof(v));
	CHECK_STR(v, DOCKER_API_MAX);
	docker_api_negotiate("2.0", v, sizeof(v));
	CHECK_STR(v, DOCKER_API_MAX);

	/* two frames (stdout "hi\n", stderr "err\n") and a partial third */
	static const char stream[] = "\x01\0\0\0\0\0\0\x03hi\n"
				     "\x02\0\0\0\0\0\0\x04" "err\n"
				     "\x01\0\0\0\0\0\0\x05" "ab";
	struct buf out = BUF_INIT;
	size_t used = docker_demux(stream, sizeof(stream) - 1, &out);
	CHECK_INT(used, 11 + 12);
	CHECK_STR(out.data, "hi\nerr\n");
	buf_free(&out);
	return check_done();
}
