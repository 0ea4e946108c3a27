/* test_vault.c - sealing of credentials: round trip, associated data, wrong
 * key, and the store path (a row moved to another host, or asked for by
 * another url, does not open; a url change drops the rows; rows of earlier
 * builds are resealed once). */
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
	CHECK_INT(vault_get(v, st, "a", "tcp://10.0.0.1:2376", "ssh/password", &s), 0);
	CHECK(s.len == 7 && !memcmp(s.data, "hunter2", 7), "stored secret opens");
	secret_free(&s);
	/* A connection to another url gets nothing. */
	CHECK_INT(vault_get(v, st, "a", "tcp://10.0.0.9:2376", "ssh/password", &s), -EBADMSG);
	CHECK(s.data == NULL, "nothing in clear on a refusal");
	CHECK_INT(vault_get(v, st, "b", "tcp://10.0.0.2:2376", "ssh/password", &s), -ENOENT);
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
	CHECK_INT(vault_get(v, st, "b", "tcp://10.0.0.2:2376", "ssh/password", &s), -EBADMSG);
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

/* A changed url drops the host's rows; a row put back under the new url
 * (a restored backup, a race) does not open for it. */
static void test_url_change(const char *dir)
{
	char db[512], keyf[512];
	struct store_cred rec;
	struct store *st;
	struct vault *v;
	struct secret s;
	sqlite3 *raw;

	snprintf(db, sizeof(db), "%s/u.db", dir);
	snprintf(keyf, sizeof(keyf), "%s/u.db.key", dir);
	CHECK_INT(store_open(db, &st), 0);
	CHECK_INT(store_host_add(st, "h", "ssh://root@10.0.0.1"), 0);
	CHECK_INT(store_host_add(st, "keep", "ssh://root@10.0.0.2"), 0);
	CHECK_INT(vault_open(st, keyf, NULL, &v), 0);
	CHECK_INT(vault_put(v, st, "h", "ssh/password", "hunter2", 7, "set"), 0);
	CHECK_INT(vault_put(v, st, "h", "ssh/known_hosts", "x ssh-ed25519 AAAA\n", 19, "set"), 0);
	CHECK_INT(vault_put(v, st, "keep", "ssh/password", "other", 5, "set"), 0);
	/* The same url again keeps them. */
	CHECK_INT(store_host_put(st, "h", "ssh://root@10.0.0.1"), 0);
	CHECK_INT(vault_get(v, st, "h", "ssh://root@10.0.0.1", "ssh/password", &s), 0);
	secret_free(&s);
	/* Keep a copy of the row to put back. */
	CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
	CHECK_INT(sqlite3_exec(raw, "CREATE TABLE saved AS SELECT * FROM host_credentials"
			       " WHERE credential_type = 'ssh/password'", NULL, NULL, NULL),
		  SQLITE_OK);
	/* Another url: every row of h is gone, keep's stay. */
	CHECK_INT(store_host_put(st, "h", "ssh://root@127.0.0.1:2299"), 0);
	CHECK_INT(store_cred_get(st, "h", "ssh/password", &rec), -ENOENT);
	CHECK_INT(store_cred_get(st, "h", "ssh/known_hosts", &rec), -ENOENT);
	CHECK_INT(vault_get(v, st, "keep", "ssh://root@10.0.0.2", "ssh/password", &s), 0);
	secret_free(&s);
	/* The other column setter drops them too (the trigger). */
	CHECK_INT(vault_put(v, st, "keep", "ssh/key", "k", 1, "set"), 0);
	CHECK_INT(store_host_set_text(st, "keep", "host_url", "ssh://root@10.0.0.3"), 0);
	CHECK_INT(store_cred_get(st, "keep", "ssh/key", &rec), -ENOENT);
	/* A row that survives somehow opens neither for the new url nor
	 * (the url being another now) for anyone. */
	CHECK_INT(sqlite3_exec(raw, "INSERT INTO host_credentials SELECT * FROM saved"
			       " WHERE credential_type = 'ssh/password' AND host_id ="
			       " (SELECT id FROM docker_hosts WHERE name = 'h')", NULL, NULL, NULL),
		  SQLITE_OK);
	CHECK_INT(store_cred_get(st, "h", "ssh/password", &rec), 0);
	store_cred_free_fields(&rec);
	CHECK_INT(vault_get(v, st, "h", "ssh://root@127.0.0.1:2299", "ssh/password", &s),
		  -EBADMSG);
	CHECK(s.data == NULL, "nothing in clear");
	/* A put sealed for a url the host no longer has does not land. */
	unsigned char nonce[VAULT_NONCE_BYTES] = { 0 }, sealed[32] = { 0 };
	struct store_cred late = { .type = "ssh/key", .sealed = sealed, .sealed_len = 32,
				   .nonce = nonce, .nonce_len = sizeof(nonce),
				   .url = "ssh://root@10.0.0.1" };
	CHECK_INT(store_cred_put(st, "h", &late), -ENOENT);
	sqlite3_close(raw);
	vault_close(v);
	store_close(st);
}

/* Rows of builds that sealed without the url: resealed with the host's url
 * at the first open, refused after that. */
static void test_legacy(const char *dir)
{
	char db[512], keyf[512], ad[128];
	unsigned char nonce[VAULT_NONCE_BYTES], *c;
	struct store_cred rec;
	struct store *st;
	struct vault *v;
	struct secret s;
	size_t clen;
	sqlite3 *raw;
	char id[STORE_ID_LEN + 1];

	snprintf(db, sizeof(db), "%s/l.db", dir);
	snprintf(keyf, sizeof(keyf), "%s/l.db.key", dir);
	CHECK_INT(store_open(db, &st), 0);
	CHECK_INT(store_host_add(st, "old", "tcp://10.0.0.1:2376"), 0);
	CHECK_INT(vault_open(st, keyf, NULL, &v), 0);
	CHECK_INT(store_host_id(st, "old", id), 0);
	/* As an earlier build: AD "<id>/<type>", and no mark. */
	snprintf(ad, sizeof(ad), "%s/tls/key", id);
	CHECK_INT(vault_seal(v, ad, "PEM", 3, nonce, &c, &clen), 0);
	struct store_cred put = { .type = "tls/key", .sealed = c, .sealed_len = clen,
				  .nonce = nonce, .nonce_len = sizeof(nonce),
				  .url = "tcp://10.0.0.1:2376", .metadata = "set" };
	CHECK_INT(store_cred_put(st, "old", &put), 0);
	free(c);
	vault_close(v);
	CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
	CHECK_INT(sqlite3_exec(raw, "DELETE FROM settings WHERE key = 'vault_ad'", NULL, NULL,
			       NULL), SQLITE_OK);
	CHECK_INT(vault_open(st, keyf, NULL, &v), 0);
	CHECK_INT(vault_get(v, st, "old", "tcp://10.0.0.1:2376", "tls/key", &s), 0);
	CHECK(s.len == 3 && !memcmp(s.data, "PEM", 3), "an earlier build's row is resealed");
	secret_free(&s);
	CHECK_INT(store_cred_get(st, "old", "tls/key", &rec), 0);
	CHECK_INT(vault_unseal(v, ad, rec.nonce, rec.sealed, rec.sealed_len, &s), -EBADMSG);
	store_cred_free_fields(&rec);
	/* Once marked, a row sealed the old way never opens. */
	CHECK_INT(vault_seal(v, ad, "PEM", 3, nonce, &c, &clen), 0);
	put.sealed = c;
	put.sealed_len = clen;
	CHECK_INT(store_cred_put(st, "old", &put), 0);
	free(c);
	vault_close(v);
	CHECK_INT(vault_open(st, keyf, NULL, &v), 0);
	CHECK_INT(vault_get(v, st, "old", "tcp://10.0.0.1:2376", "tls/key", &s), -EBADMSG);
	sqlite3_close(raw);
	vault_close(v);
	store_close(st);
}

int main(void)
{
	char dir[] = "/tmp/dockfs-test-vault.XXXXXX";

	/* The tests read the database behind the store's back. */
	store_lock_exclusive = false;
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	test_seal();
	test_store(dir);
	test_url_change(dir);
	test_legacy(dir);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}
