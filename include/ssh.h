/* ssh.h - the ssh transport (libssh2): per host one session, kept open and
 * reused, owned by that host's pump thread (a libssh2 session is not safe
 * to use from several threads).  Each HTTP connection curl makes is a
 * socketpair whose other end the pump joins to a new channel on the session:
 * direct-streamlocal@openssh.com to the engine's socket, or an exec of
 * `docker system dial-stdio` when the server refuses streamlocal.  The host
 * key is checked against the host's known_hosts credential; an unknown or
 * changed key refuses the session.  Connect, handshake, authentication and
 * channel opening all have deadlines; a failed session is retried with
 * backoff, and calls made meanwhile fail at once with the reason.
 */
#ifndef DOCKFS_SSH_H
#define DOCKFS_SSH_H

#include <stddef.h>

#include <curl/curl.h>

struct conn;

/* Points easy at c's session (made or remade by the pump as needed). */
int ssh_setup(struct conn *c, CURL *easy, char *msg, size_t msglen);
/* Why the session last failed ("" while it works). */
void ssh_last_error(struct conn *c, char *msg, size_t msglen);
/* Closes the session now (credentials changed): the next call makes one. */
void ssh_reset(struct conn *c);
/* The number of sessions made for host so far (for tests and stats). */
long ssh_sessions(const char *host);
/* Stops every pump and frees every session (at exit). */
void ssh_shutdown(void);

#endif
