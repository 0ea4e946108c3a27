/* test_vault.c - sealing of credentials: round trip, associated data, wrong
 * key, and the store path (a row moved to another host does not open). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "check.h"
#include "store.h"
#include "vault.h"

static void test_seal(void)
{
	unsigned char key[VAULT_KEY_BYTES], other[VAULT_KEY_BYTES];
	unsigned char nonce[VAULT_NONCE_BYTES], nonce2[VAULT_NONCE_BYTES], *c, *c2;
	struct vault *v, *w;
	struct secret s;
	size_t clen, clen2;
	const char msg[] = "-----BEGIN PRIVATE KEY-----";

	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	CHECK_INT(vault_from_key(key, &v), 0);
	CHECK_INT(vault_from_key(other, &w), 0);
	CHECK_INT(vault_seal(v, "host-a/tls/key", msg, strlen(msg), nonce, &c, &clen), 0);
	CHECK(memmem(c, clen, "PRIVATE", 7) == NULL, "sealed bytes hold no clear text");
	CHECK_INT(vault_unseal(v, "host-a/tls/key", nonce, c, clen, &s), 0);
	CHECK(s.len == strlen(msg) && memcmp(s.data, msg, s.len) == 0, "round trip");
	secret_free(&s);
	CHECK(s.data == NULL, "secret_free clears the struct");
	CHECK_INT(vault_unseal(v, "host-b/tls/key", nonce, c, clen, &s), -EBADMSG);
	CHECK_INT(vault_unseal(v, "host-a/tls/cert", nonce, c, clen, &s), -EBADMSG);
	CHECK_INT(vault_unseal(w, "host-a/tls/key", nonce, c, clen, &s), -EBADMSG);
	c[0] ^= 1;
	CHECK_INT(vault_unseal(v, "host-a/tls/key", nonce, c, clen, &s), -EBADMSG);
	c[0] ^= 1;
	CHECK_INT(vault_seal(v, "host-a/tls/key", msg, strlen(msg), nonce2, &c2, &clen2), 0);
	CHECK(memcmp(nonce, nonce2, sizeof(nonce)) != 0 && memcmp(c, c2, clen) != 0,
	      "a fresh nonce per record");
	free(c);
	free(c2);
	vault_close(v);
	vault_close(w);
}

static void test_store(const char *dir)
{
	char db[512], keyf[512];
	struct store *st;
	struct vault *v;
	struct secret s;
	struct stat sb;

	snprintf(db, sizeof(db), "%s/v.db", dir);
	snprintf(keyf, sizeof(keyf), "%s/v.db.key", dir);
	CHECK_INT(store_open(db, &st), 0);
	CHECK_INT(store_host_add(st, "a", "tcp://10.0.0.1:2376"), 0);
	CHECK_INT(store_host_add(st, "b", "tcp://10.0.0.2:2376"), 0);
	CHECK_INT(vault_open(st, keyf, NULL, &v), 0);
	CHECK(stat(keyf, &sb) == 0 && (sb.st_mode & 0777) == 0600, "key file made 0600");
	CHECK_INT(vault_put(v, st, "a", "ssh/password", "hunter2", 7, "set"), 0);
	CHECK_INT(vault_put(v, st, "nosuch", "ssh/password", "x", 1, "set"), -ENOENT);
	CHECK_INT(vault_get(v, st, "a", "ssh/password", &s), 0);
	CHECK(s.len == 7 && !memcmp(s.data, "hunter2", 7), "stored secret opens");
	secret_free(&s);
	CHECK_INT(vault_get(v, st, "b", "ssh/password", &s), -ENOENT);
	vault_close(v);
	store_close(st);

	/* The row moved to host b: it must not open there. */
	sqlite3 *raw;
	CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
	CHECK_INT(sqlite3_exec(raw, "UPDATE host_credentials SET host_id ="
			       " (SELECT id FROM docker_hosts WHERE name = 'b')", NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(raw);
	CHECK_INT(store_open(db, &st), 0);
	CHECK_INT(vault_open(st, keyf, NULL, &v), 0);
	CHECK_INT(vault_get(v, st, "b", "ssh/password", &s), -EBADMSG);
	vault_close(v);

	/* Another key file does not open this store. */
	char other[512];
	snprintf(other, sizeof(other), "%s/other.key", dir);
	CHECK_INT(vault_open(st, other, NULL, &v), -EKEYREJECTED);
	store_close(st);

	/* Passphrase mode: a salt is kept, the same passphrase opens again. */
	snprintf(db, sizeof(db), "%s/p.db", dir);
	CHECK_INT(store_open(db, &st), 0);
	CHECK_INT(vault_open(st, NULL, "correct horse", &v), 0);
	vault_close(v);
	CHECK_INT(vault_open(st, NULL, "correct horse", &v), 0);
	vault_close(v);
	CHECK_INT(vault_open(st, NULL, "wrong horse", &v), -EKEYREJECTED);
	store_close(st);
}

int main(void)
{
	char dir[] = "/tmp/dockfs-test-vault.XXXXXX";

	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	test_seal();
	test_store(dir);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}
