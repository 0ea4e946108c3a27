/* ssh.c - the ssh transport: libssh2 sessions pumped by one thread a host.
 *
 * curl never sees ssh: it connects to a unix socket of the host's link, in
 * a directory only the daemon can enter, and the host's pump thread joins
 * each accepted connection to a channel on the host's one session.  (curl
 * 7.88 connects a socket handed to it by CURLOPT_OPENSOCKETFUNCTION even
 * when told it is connected, so a socketpair cannot be given to it.)  The pump is the only thread that touches the
 * session.  Links (a host's session and pump) live until exit, keyed by host
 * name, so a curl handle that outlives its conn never points at freed
 * memory; a removed host's link just stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <sodium.h>

#include "clock.h"
#include "conn.h"
#include "log.h"
#include "ssh.h"
#include "vault.h"

#define CONNECT_TIMEOUT_MS 5000
#define SESSION_TIMEOUT_MS 5000   /* handshake and authentication */
#define CHANNEL_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define CHUNK 32768

enum chan_state { CH_WAIT, CH_OPENING, CH_STARTING, CH_OPEN };

/* One curl connection: our end of its socketpair and its channel. */
struct chan {
	int fd;
	LIBSSH2_CHANNEL *ch;
	enum chan_state state;
	bool exec;              /* dial-stdio instead of streamlocal */
	long deadline;          /* for opening */
	bool fd_eof, eof_sent, ch_eof;
	char up[CHUNK];         /* from curl, not yet on the channel */
	size_t up_len, up_off;
	char down[CHUNK];       /* from the channel, not yet to curl */
	size_t down_len, down_off;
	struct chan *next;
};

struct ssh_link {
	char host[65];
	pthread_mutex_t lock;     /* guards what is marked so */
	/* under lock: */
	char *url, *user, *address, *socket_path;
	int port;
	struct chan *pending;
	bool stop, reset, started;
	char error[512];
	long sessions;
	bool no_streamlocal;      /* the server refused it once: exec from now on */
	char sock_path[108];      /* where curl connects */
	int listen_fd;
	/* the pump's own: */
	pthread_t thread;
	int wake[2];
	int sock;
	LIBSSH2_SESSION *sess;
	struct chan *chans;
	long retry_at, backoff;
	struct ssh_link *next;
};

static pthread_mutex_t links_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ssh_link *links;
static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static char sock_dir[64];   /* 0700: only the daemon reaches the links */

static void ssh_global_init(void)
{
	libssh2_init(0);
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/dockfs-ssh.XXXXXX");
	if (!mkdtemp(sock_dir))
		sock_dir[0] = '\0';
}

static void set_error(struct ssh_link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct ssh_link *l, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&l->lock);
	va_start(ap, fmt);
	vsnprintf(l->error, sizeof(l->error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&l->lock);
}

static void wake(struct ssh_link *l)
{
	char b = 1;

	if (write(l->wake[1], &b, 1) < 0) {
		/* full pipe: the pump is awake already */
	}
}

static void chan_free(struct chan *ch)
{
	if (ch->ch)
		libssh2_channel_free(ch->ch);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}

static void close_chans(struct chan **list)
{
	while (*list) {
		struct chan *ch = *list;
		*list = ch->next;
		chan_free(ch);
	}
}

static void close_session(struct ssh_link *l)
{
	close_chans(&l->chans);
	if (l->sess) {
		libssh2_session_set_blocking(l->sess, 1);
		libssh2_session_set_timeout(l->sess, 1000);
		libssh2_session_disconnect(l->sess, "dockfs: closing");
		libssh2_session_free(l->sess);
		l->sess = NULL;
	}
	if (l->sock >= 0)
		close(l->sock);
	l->sock = -1;
}

/* A TCP connection to address:port within CONNECT_TIMEOUT_MS. */
static int tcp_connect(const char *address, int port, char *msg, size_t msglen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[16];
	int fd = -1, err;

	snprintf(service, sizeof(service), "%d", port);
	err = getaddrinfo(address, service, &hints, &res);
	if (err) {
		snprintf(msg, msglen, "%s: %s", address, gai_strerror(err));
		return -EHOSTDOWN;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			errno = soerr ? soerr : ETIMEDOUT;
		}
		snprintf(msg, msglen, "connect to %s port %d: %s", address, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -EHOSTDOWN;
	/* libssh2 in blocking mode (handshake, auth) wants a blocking socket. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int knownhost_keybit(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	}
	return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

/* The server's key against the host's known_hosts credential. */
static int check_host_key(struct ssh_link *l, const char *url, const char *address, int port,
			  char *msg, size_t msglen)
{
	size_t klen;
	int type, err = 0;
	const char *key = libssh2_session_hostkey(l->sess, &klen, &type);
	const unsigned char *sha = (const unsigned char *)
		libssh2_hostkey_hash(l->sess, LIBSSH2_HOSTKEY_HASH_SHA256);
	char fp[64] = "";
	struct secret kh;
	LIBSSH2_KNOWNHOSTS *known;

	if (sha)
		sodium_bin2base64(fp, sizeof(fp), sha, 32, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if (!key) {
		snprintf(msg, msglen, "%s: the server showed no host key", address);
		return -EACCES;
	}
	err = conn_secret(l->host, url, "ssh/known_hosts", &kh);
	if (err) {
		snprintf(msg, msglen, "ssh %s: host key SHA256:%s not trusted: %s "
			 "(write the host's known_hosts line to hosts/%s/ssh/known_hosts)", address, fp,
			 err == -ENOENT ? "no known_hosts set" : "known_hosts does not open", l->host);
		return -EACCES;
	}
	known = libssh2_knownhost_init(l->sess);
	if (!known) {
		secret_free(&kh);
		return -ENOMEM;
	}
	for (char *line = (char *)kh.data, *end; line && *line; line = end) {
		end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (end)
			end++;
		/* libssh2 1.10 takes the line with its newline (it drops the
		 * last byte): hand it one, in a copy of our own. */
		char one[8192];
		if (n && line[0] != '#' && n + 1 < sizeof(one)) {
			memcpy(one, line, n);
			one[n] = '\n';
			libssh2_knownhost_readline(known, one, n + 1, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
			sodium_memzero(one, n + 1);
		}
	}
	secret_free(&kh);
	int r = libssh2_knownhost_checkp(known, address, port, key, klen,
					 LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					 LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_keybit(type),
					 NULL);
	libssh2_knownhost_free(known);
	switch (r) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		snprintf(msg, msglen, "ssh %s: HOST KEY MISMATCH: the server's key SHA256:%s is not "
			 "the one in hosts/%s/ssh/known_hosts (refused)", address, fp, l->host);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		snprintf(msg, msglen, "ssh %s: unknown host key SHA256:%s: not in "
			 "hosts/%s/ssh/known_hosts (refused)", address, fp, l->host);
		break;
	default:
		snprintf(msg, msglen, "ssh %s: cannot check the host key", address);
	}
	return -EACCES;
}

/* The credentials are asked for url, the one this session was opened for:
 * a credential sealed for another url (the host's before a change) does
 * not open (vault.h). */
static int authenticate(struct ssh_link *l, const char *url, const char *user, char *msg,
			size_t msglen)
{
	struct secret key, pw;
	int rc = -1, err;
	char *emsg = NULL;

	err = conn_secret(l->host, url, "ssh/key", &key);
	if (!err) {
		rc = libssh2_userauth_publickey_frommemory(l->sess, user, strlen(user), NULL, 0,
							   (const char *)key.data, key.len, NULL);
		secret_free(&key);
		if (rc == 0)
			return 0;
		libssh2_session_last_error(l->sess, &emsg, NULL, 0);
		snprintf(msg, msglen, "ssh %s@%s: key authentication failed: %s", user, l->address,
			 emsg ? emsg : "refused");
	}
	if (!conn_secret(l->host, url, "ssh/password", &pw)) {
		rc = libssh2_userauth_password(l->sess, user, (const char *)pw.data);
		secret_free(&pw);
		if (rc == 0)
			return 0;
		libssh2_session_last_error(l->sess, &emsg, NULL, 0);
		snprintf(msg, msglen, "ssh %s@%s: password authentication failed: %s", user,
			 l->address, emsg ? emsg : "refused");
		return -EACCES;
	}
	if (err == -ENOENT)
		snprintf(msg, msglen, "ssh %s@%s: no credential: write a private key to "
			 "hosts/%s/ssh/key or a password to hosts/%s/ssh/password", user, l->address,
			 l->host, l->host);
	return -EACCES;
}

/* Makes the session: connect, handshake, host key, auth; all bounded. */
static int open_session(struct ssh_link *l)
{
	char msg[512] = "", *user, *address, *url;
	int port, err;

	/* One consistent target: the url, and the user and address parsed
	 * from it, copied together. */
	pthread_mutex_lock(&l->lock);
	user = strdup(l->user);
	address = strdup(l->address);
	url = strdup(l->url);
	port = l->port;
	pthread_mutex_unlock(&l->lock);
	if (!user || !address || !url) {
		err = -ENOMEM;
		goto out;
	}
	err = tcp_connect(address, port, msg, sizeof(msg));
	if (err < 0)
		goto out;
	l->sock = err;
	err = 0;
	l->sess = libssh2_session_init();
	if (!l->sess) {
		err = -ENOMEM;
		goto out;
	}
	libssh2_session_set_blocking(l->sess, 1);
	libssh2_session_set_timeout(l->sess, SESSION_TIMEOUT_MS);
	if (libssh2_session_handshake(l->sess, l->sock)) {
		char *emsg = NULL;
		libssh2_session_last_error(l->sess, &emsg, NULL, 0);
		snprintf(msg, sizeof(msg), "ssh %s port %d: handshake failed: %s", address, port,
			 emsg ? emsg : "");
		err = -EHOSTDOWN;
		goto out;
	}
	err = check_host_key(l, url, address, port, msg, sizeof(msg));
	if (!err)
		err = authenticate(l, url, user, msg, sizeof(msg));
	if (err)
		goto out;
	libssh2_keepalive_config(l->sess, 1, 15);
	libssh2_session_set_blocking(l->sess, 0);
	pthread_mutex_lock(&l->lock);
	l->sessions++;
	l->error[0] = '\0';
	pthread_mutex_unlock(&l->lock);
	log_info("host %s: ssh session to %s@%s:%d open", l->host, user, address, port);
out:
	if (err) {
		set_error(l, "%s", msg[0] ? msg : strerror(-err));
		log_warn(0, "host %s: %s", l->host, msg[0] ? msg : strerror(-err));
		close_session(l);
	}
	free(user);
	free(address);
	free(url);
	return err;
}

/* Starts (or continues) opening ch's channel; 0 when open, -EAGAIN while
 * in progress, else it failed. */
static int chan_open(struct ssh_link *l, struct chan *ch)
{
	if (ch->state == CH_WAIT) {
		pthread_mutex_lock(&l->lock);
		ch->exec = l->no_streamlocal;
		pthread_mutex_unlock(&l->lock);
		ch->state = CH_OPENING;
		ch->deadline = mono_ms() + CHANNEL_TIMEOUT_MS;
	}
	if (mono_ms() > ch->deadline) {
		set_error(l, "ssh %s: opening a channel timed out", l->address);
		return -ETIMEDOUT;
	}
	if (ch->state == CH_OPENING && !ch->exec) {
		/* OpenSSH's PROTOCOL 2.4: string socket path, string reserved,
		 * uint32 reserved.  libssh2 1.10 has no helper for it. */
		unsigned char m[600];
		char path[512];
		pthread_mutex_lock(&l->lock);
		snprintf(path, sizeof(path), "%s", l->socket_path);
		pthread_mutex_unlock(&l->lock);
		size_t pl = strlen(path), n = 0;
		m[n++] = (unsigned char)(pl >> 24);
		m[n++] = (unsigned char)(pl >> 16);
		m[n++] = (unsigned char)(pl >> 8);
		m[n++] = (unsigned char)pl;
		memcpy(m + n, path, pl);
		n += pl;
		memset(m + n, 0, 8); /* empty string, zero uint32 */
		n += 8;
		static const char type[] = "direct-streamlocal@openssh.com";
		ch->ch = libssh2_channel_open_ex(l->sess, type, sizeof(type) - 1,
						 LIBSSH2_CHANNEL_WINDOW_DEFAULT,
						 LIBSSH2_CHANNEL_PACKET_DEFAULT, (const char *)m,
						 (unsigned)n);
		if (ch->ch) {
			ch->state = CH_OPEN;
			return 0;
		}
		if (libssh2_session_last_errno(l->sess) == LIBSSH2_ERROR_EAGAIN)
			return -EAGAIN;
		char *emsg = NULL;
		libssh2_session_last_error(l->sess, &emsg, NULL, 0);
		log_warn(0, "host %s: streamlocal to %s refused (%s): trying docker system dial-stdio",
			 l->host, path, emsg ? emsg : "");
		pthread_mutex_lock(&l->lock);
		l->no_streamlocal = true;
		pthread_mutex_unlock(&l->lock);
		ch->exec = true;
	}
	if (ch->state == CH_OPENING) {
		ch->ch = libssh2_channel_open_session(l->sess);
		if (!ch->ch) {
			if (libssh2_session_last_errno(l->sess) == LIBSSH2_ERROR_EAGAIN)
				return -EAGAIN;
			set_error(l, "ssh %s: cannot open a channel", l->address);
			return -EHOSTDOWN;
		}
		ch->state = CH_STARTING;
	}
	if (ch->state == CH_STARTING) {
		static const char cmd[] = "docker system dial-stdio";
		int rc = libssh2_channel_process_startup(ch->ch, "exec", 4, cmd, sizeof(cmd) - 1);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return -EAGAIN;
		if (rc) {
			set_error(l, "ssh %s: neither streamlocal nor `%s` works", l->address, cmd);
			return -EHOSTDOWN;
		}
		ch->state = CH_OPEN;
	}
	return 0;
}

/* Moves bytes both ways.  Returns <0 when the channel is done. */
static int chan_pump(struct ssh_link *l, struct chan *ch)
{
	ssize_t n;

	/* curl -> channel */
	if (ch->up_off == ch->up_len && !ch->fd_eof) {
		n = read(ch->fd, ch->up, sizeof(ch->up));
		if (n > 0) {
			ch->up_len = (size_t)n;
			ch->up_off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			ch->fd_eof = true;
		}
	}
	while (ch->up_off < ch->up_len) {
		n = libssh2_channel_write(ch->ch, ch->up + ch->up_off, ch->up_len - ch->up_off);
		if (n == LIBSSH2_ERROR_EAGAIN)
			break;
		if (n < 0)
			return -EIO;
		ch->up_off += (size_t)n;
	}
	if (ch->fd_eof && ch->up_off == ch->up_len && !ch->eof_sent) {
		int rc = libssh2_channel_send_eof(ch->ch);
		if (rc == 0)
			ch->eof_sent = true;
		else if (rc != LIBSSH2_ERROR_EAGAIN)
			return -EIO;
	}
	/* channel -> curl */
	for (;;) {
		if (ch->down_off == ch->down_len) {
			n = libssh2_channel_read(ch->ch, ch->down, sizeof(ch->down));
			if (n == LIBSSH2_ERROR_EAGAIN)
				break;
			if (n < 0)
				return -EIO;
			if (n == 0) {
				if (libssh2_channel_eof(ch->ch))
					ch->ch_eof = true;
				break;
			}
			ch->down_len = (size_t)n;
			ch->down_off = 0;
		}
		n = send(ch->fd, ch->down + ch->down_off, ch->down_len - ch->down_off,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -EIO;   /* curl went away */
		}
		ch->down_off += (size_t)n;
	}
	if (ch->exec) {
		char junk[1024]; /* dial-stdio's stderr */
		while (libssh2_channel_read_stderr(ch->ch, junk, sizeof(junk)) > 0)
			;
	}
	if (ch->ch_eof && ch->down_off == ch->down_len)
		shutdown(ch->fd, SHUT_WR);
	if (ch->ch_eof && ch->fd_eof && ch->down_off == ch->down_len)
		return -EPIPE;
	return 0;
}

static void *pump(void *arg)
{
	struct ssh_link *l = arg;

	for (;;) {
		bool stop, reset;
		struct chan *pend;

		pthread_mutex_lock(&l->lock);
		stop = l->stop;
		reset = l->reset;
		l->reset = false;
		pend = l->pending;
		l->pending = NULL;
		pthread_mutex_unlock(&l->lock);
		while (pend) {
			struct chan *ch = pend;
			pend = ch->next;
			ch->next = l->chans;
			l->chans = ch;
		}
		if (stop) {
			close_session(l);
			break;
		}
		if (reset) {
			close_session(l);
			l->retry_at = 0;
			l->backoff = BACKOFF_MIN_MS;
		}
		if (l->chans && !l->sess) {
			/* Backing off: fail at once with the last reason. */
			if (mono_ms() < l->retry_at || open_session(l)) {
				if (!l->sess && mono_ms() >= l->retry_at) {
					l->retry_at = mono_ms() + l->backoff;
					l->backoff = l->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
										      : l->backoff * 2;
				}
				close_chans(&l->chans);
			} else {
				l->backoff = BACKOFF_MIN_MS;
			}
		}

		struct pollfd pfd[256];
		int npfd = 0;
		bool busy = false;

		pfd[npfd++] = (struct pollfd){ l->wake[0], POLLIN, 0 };
		pfd[npfd++] = (struct pollfd){ l->listen_fd, POLLIN, 0 };
		if (l->sess) {
			for (struct chan **pp = &l->chans; *pp;) {
				struct chan *ch = *pp;
				int err = ch->state == CH_OPEN ? 0 : chan_open(l, ch);

				if (!err)
					err = chan_pump(l, ch);
				if (err && err != -EAGAIN) {
					if (err == -EIO && libssh2_session_last_errno(l->sess) !=
								    LIBSSH2_ERROR_EAGAIN &&
					    libssh2_session_last_errno(l->sess) != 0) {
						char *emsg = NULL;
						libssh2_session_last_error(l->sess, &emsg, NULL, 0);
						if (libssh2_session_last_errno(l->sess) ==
						    LIBSSH2_ERROR_SOCKET_RECV ||
						    libssh2_session_last_errno(l->sess) ==
						    LIBSSH2_ERROR_SOCKET_SEND) {
							set_error(l, "ssh %s: session lost: %s", l->address,
								  emsg ? emsg : "");
							close_session(l);
							break;
						}
					}
					*pp = ch->next;
					chan_free(ch);
					continue;
				}
				if (err == -EAGAIN)
					busy = true;
				if (npfd < 255) {
					short ev = 0;
					if (ch->state == CH_OPEN && ch->up_off == ch->up_len && !ch->fd_eof)
						ev |= POLLIN;
					if (ch->down_off < ch->down_len)
						ev |= POLLOUT;
					pfd[npfd++] = (struct pollfd){ ch->fd, ev, 0 };
				}
				pp = &ch->next;
			}
		}
		if (l->sess) {
			int dir = libssh2_session_block_directions(l->sess);
			short ev = POLLIN;
			if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
				ev |= POLLOUT;
			pfd[npfd++] = (struct pollfd){ l->sock, ev, 0 };
			int next = 15;
			libssh2_keepalive_send(l->sess, &next);
		}
		poll(pfd, (nfds_t)npfd, busy ? 10 : 1000);
		if (pfd[0].revents & POLLIN) {
			char junk[64];
			while (read(l->wake[0], junk, sizeof(junk)) > 0)
				;
		}
		for (int fd; (fd = accept4(l->listen_fd, NULL, NULL,
					    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
			struct chan *ch = calloc(1, sizeof(*ch));
			if (!ch) {
				close(fd);
				break;
			}
			ch->fd = fd;
			ch->state = CH_WAIT;
			ch->next = l->chans;
			l->chans = ch;
			/* a new connection: the next round opens its channel */
			wake(l);
		}
		if (l->sess && (pfd[npfd - 1].revents & (POLLHUP | POLLERR)) &&
		    !(pfd[npfd - 1].revents & POLLIN)) {
			set_error(l, "ssh %s: the connection was closed", l->address);
			close_session(l);
		}
	}
	return NULL;
}

static int replace(char **dst, const char *src)
{
	if (*dst && strcmp(*dst, src) == 0)
		return 0;
	free(*dst);
	*dst = strdup(src);
	return 1;
}

/* The host's link, made (and its pump started) at first use; its target
 * follows the conn's url. */
static struct ssh_link *link_get(struct conn *c)
{
	struct ssh_link *l;
	bool changed;

	pthread_once(&ssh_once, ssh_global_init);
	pthread_mutex_lock(&links_lock);
	for (l = links; l; l = l->next)
		if (strcmp(l->host, c->host) == 0)
			break;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0)
			abort();
		snprintf(l->host, sizeof(l->host), "%s", c->host);
		pthread_mutex_init(&l->lock, NULL);
		l->sock = -1;
		l->backoff = BACKOFF_MIN_MS;
		l->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		static atomic_int seq;
		snprintf(l->sock_path, sizeof(l->sock_path), "%s/%d.sock", sock_dir,
			 atomic_fetch_add(&seq, 1));
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->sock_path);
		unlink(l->sock_path);
		if (l->listen_fd < 0 || !sock_dir[0] ||
		    bind(l->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    listen(l->listen_fd, 64) != 0)
			log_error(-errno, "host %s: cannot listen on %s: %s", c->host, l->sock_path,
				  strerror(errno));
		l->next = links;
		links = l;
	}
	pthread_mutex_lock(&l->lock);
	changed = replace(&l->url, c->url);
	if (changed) {
		replace(&l->user, c->user);
		replace(&l->address, c->address);
		replace(&l->socket_path, c->socket_path);
		l->port = c->port;
		l->reset = true;
		l->no_streamlocal = false;
		l->error[0] = '\0';
	}
	l->stop = false;
	if (!l->started) {
		if (pthread_create(&l->thread, NULL, pump, l) != 0)
			abort();
		l->started = true;
	}
	pthread_mutex_unlock(&l->lock);
	pthread_mutex_unlock(&links_lock);
	if (changed)
		wake(l);
	return l;
}

int ssh_setup(struct conn *c, CURL *easy, char *msg, size_t msglen)
{
	struct ssh_link *l = link_get(c);

	/* copied by curl */
	curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, l->sock_path);
	return 0;
}

static struct ssh_link *link_find(const char *host)
{
	struct ssh_link *l;

	pthread_mutex_lock(&links_lock);
	for (l = links; l; l = l->next)
		if (strcmp(l->host, host) == 0)
			break;
	pthread_mutex_unlock(&links_lock);
	return l;
}

void ssh_last_error(struct conn *c, char *msg, size_t msglen)
{
	struct ssh_link *l = link_find(c->host);

	msg[0] = '\0';
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	snprintf(msg, msglen, "%s", l->error);
	pthread_mutex_unlock(&l->lock);
}

void ssh_reset(struct conn *c)
{
	struct ssh_link *l = link_find(c->host);

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->reset = true;
	l->no_streamlocal = false;  /* the server may allow it now */
	l->error[0] = '\0';
	pthread_mutex_unlock(&l->lock);
	wake(l);
}

long ssh_sessions(const char *host)
{
	struct ssh_link *l = link_find(host);
	long n = 0;

	if (l) {
		pthread_mutex_lock(&l->lock);
		n = l->sessions;
		pthread_mutex_unlock(&l->lock);
	}
	return n;
}

void ssh_shutdown(void)
{
	pthread_mutex_lock(&links_lock);
	struct ssh_link *l = links;
	links = NULL;
	pthread_mutex_unlock(&links_lock);
	while (l) {
		struct ssh_link *next = l->next;

		pthread_mutex_lock(&l->lock);
		l->stop = true;
		bool started = l->started;
		pthread_mutex_unlock(&l->lock);
		wake(l);
		if (started)
			pthread_join(l->thread, NULL);
		close_chans(&l->pending);
		close(l->wake[0]);
		close(l->wake[1]);
		if (l->listen_fd >= 0)
			close(l->listen_fd);
		unlink(l->sock_path);
		free(l->url);
		free(l->user);
		free(l->address);
		free(l->socket_path);
		pthread_mutex_destroy(&l->lock);
		free(l);
		l = next;
	}
	if (sock_dir[0])
		rmdir(sock_dir);
	libssh2_exit();
}
