/* vault.c - sealing of host credentials with libsodium (vault.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "private_file.h"
#include "store.h"
#include "vault.h"

#define SALT_KEY "vault_salt"
#define CHECK_KEY "vault_check"
#define CHECK_AD "dockfs vault check"
#define CHECK_TEXT "dockfs"
/* Set once every credential row is sealed with its url (vault_migrate). */
#define AD_MARK_KEY "vault_ad"
#define AD_MARK "2"

struct vault {
	unsigned char *key;   /* sodium_malloc'd VAULT_KEY_BYTES */
};

int secret_alloc(struct secret *s, size_t len)
{
	s->data = sodium_malloc(len + 1);
	if (!s->data)
		return -ENOMEM;
	s->data[len] = '\0';
	s->len = len;
	return 0;
}

void secret_free(struct secret *s)
{
	if (s->data)
		sodium_free(s->data); /* zeroes it first */
	s->data = NULL;
	s->len = 0;
}

int vault_from_key(const unsigned char key[VAULT_KEY_BYTES], struct vault **out)
{
	struct vault *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->key = sodium_malloc(VAULT_KEY_BYTES);
	if (!v->key) {
		free(v);
		return -ENOMEM;
	}
	memcpy(v->key, key, VAULT_KEY_BYTES);
	*out = v;
	return 0;
}

void vault_close(struct vault *v)
{
	if (!v)
		return;
	sodium_free(v->key);
	free(v);
}

int vault_seal(const struct vault *v, const char *ad, const void *m, size_t mlen,
	       unsigned char nonce[VAULT_NONCE_BYTES], unsigned char **c, size_t *clen)
{
	unsigned long long n;

	*c = malloc(mlen + crypto_aead_xchacha20poly1305_ietf_ABYTES);
	if (!*c)
		return -ENOMEM;
	randombytes_buf(nonce, VAULT_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(*c, &n, m, mlen, (const unsigned char *)ad,
						   strlen(ad), NULL, nonce, v->key);
	*clen = (size_t)n;
	return 0;
}

int vault_unseal(const struct vault *v, const char *ad, const unsigned char *nonce,
		 const unsigned char *c, size_t clen, struct secret *out)
{
	unsigned long long n;
	int err;

	memset(out, 0, sizeof(*out));
	if (clen < crypto_aead_xchacha20poly1305_ietf_ABYTES)
		return -EBADMSG;
	err = secret_alloc(out, clen - crypto_aead_xchacha20poly1305_ietf_ABYTES);
	if (err)
		return err;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out->data, &n, NULL, c, clen,
						       (const unsigned char *)ad, strlen(ad),
						       nonce, v->key) != 0) {
		secret_free(out);
		return -EBADMSG;
	}
	return 0;
}

/* The key file: read it, or make it (O_EXCL, 0600) on first run.  It is the
 * daemon's alone (private_file.h), and unlike the registry it may not even
 * be readable by others: whoever read it opens every stored credential. */
static int key_from_file(const char *path, unsigned char *key)
{
	struct stat sb;
	bool created;
	ssize_t n;
	int fd = private_file_open(path, O_RDONLY, true, "key file", &created, &sb);

	if (fd < 0)
		return fd;
	if (created) {
		randombytes_buf(key, VAULT_KEY_BYTES);
		n = write(fd, key, VAULT_KEY_BYTES);
		if (n != VAULT_KEY_BYTES || fsync(fd) != 0) {
			close(fd);
			unlink(path);
			return log_error(-EIO, "%s: cannot write the key file", path);
		}
		close(fd);
		log_info("created the credential key file %s", path);
		return 0;
	}
	if (sb.st_mode & 077) {
		close(fd);
		return log_error(-EPERM, "%s: refused: the key file is readable by others "
				 "(mode %04o), so the stored credentials may be known: chmod 600 "
				 "it, then write the hosts' credentials again", path,
				 (unsigned)(sb.st_mode & 07777));
	}
	n = read(fd, key, VAULT_KEY_BYTES);
	close(fd);
	if (n != VAULT_KEY_BYTES)
		return log_error(-EINVAL, "%s: not a dockfs key file (%d bytes wanted)", path,
				 VAULT_KEY_BYTES);
	return 0;
}

static int key_from_passphrase(struct store *st, const char *pass, unsigned char *key)
{
	unsigned char salt[crypto_pwhash_SALTBYTES];
	void *stored;
	size_t len;
	int err = store_setting_get(st, SALT_KEY, &stored, &len);

	if (err == -ENOENT) {
		randombytes_buf(salt, sizeof(salt));
		err = store_setting_set(st, SALT_KEY, salt, sizeof(salt));
	} else if (!err) {
		if (len == sizeof(salt))
			memcpy(salt, stored, sizeof(salt));
		else
			err = -EINVAL;
		free(stored);
	}
	if (err)
		return err;
	if (crypto_pwhash(key, VAULT_KEY_BYTES, pass, strlen(pass), salt,
			  crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

/* The check record: sealed on first use, opened on every later start. */
static int vault_check(struct vault *v, struct store *st)
{
	unsigned char nonce[VAULT_NONCE_BYTES], *c = NULL, *rec = NULL;
	struct secret s = { 0 };
	size_t clen, len;
	void *stored;
	int err = store_setting_get(st, CHECK_KEY, &stored, &len);

	if (err == -ENOENT) {
		err = vault_seal(v, CHECK_AD, CHECK_TEXT, strlen(CHECK_TEXT), nonce, &c, &clen);
		if (err)
			return err;
		rec = malloc(sizeof(nonce) + clen);
		if (!rec) {
			free(c);
			return -ENOMEM;
		}
		memcpy(rec, nonce, sizeof(nonce));
		memcpy(rec + sizeof(nonce), c, clen);
		err = store_setting_set(st, CHECK_KEY, rec, sizeof(nonce) + clen);
		free(rec);
		free(c);
		return err;
	}
	if (err)
		return err;
	rec = stored;
	err = len > VAULT_NONCE_BYTES
		? vault_unseal(v, CHECK_AD, rec, rec + VAULT_NONCE_BYTES, len - VAULT_NONCE_BYTES, &s)
		: -EBADMSG;
	secret_free(&s);
	free(stored);
	return err == -EBADMSG ? -EKEYREJECTED : err;
}

static int vault_migrate(struct vault *v, struct store *st);

int vault_open(struct store *st, const char *key_file, const char *passphrase,
	       struct vault **out)
{
	unsigned char *key = sodium_malloc(VAULT_KEY_BYTES);
	struct vault *v = NULL;
	int err;

	if (!key)
		return -ENOMEM;
	err = passphrase ? key_from_passphrase(st, passphrase, key)
			 : key_from_file(key_file, key);
	if (!err)
		err = vault_from_key(key, &v);
	if (!err) {
		err = vault_check(v, st);
		if (!err)
			err = vault_migrate(v, st);
		if (err) {
			vault_close(v);
			v = NULL;
		}
	}
	sodium_free(key);
	if (err == -EKEYREJECTED)
		log_error(err, "the credential store does not open with this %s",
			  passphrase ? "passphrase" : "key file");
	*out = v;
	return err;
}

/* Associated data: the host's row id, the credential's type and the url of
 * the engine it is for, one a line (the id and the type have no newline,
 * nor has a url: the registry refuses control characters in it). */
static int make_ad(char *ad, size_t len, const char *host_id, const char *type,
		   const char *url)
{
	int n = snprintf(ad, len, "dockfs credential v2\n%s\n%s\n%s", host_id, type, url);

	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* What builds before the url was bound used: host id and type. */
static void make_legacy_ad(char *ad, size_t len, const char *host_id, const char *type)
{
	snprintf(ad, len, "%s/%s", host_id, type);
}

#define AD_MAX 1024 /* > the prefix, an id, a type and a 500-byte url */

/* Seals data under (host id, type, url) and stores it while the host still
 * has that url. */
static int seal_and_put(struct vault *v, struct store *st, const char *host,
			const char *host_id, const char *url, const char *type,
			const void *data, size_t len, const char *metadata)
{
	unsigned char nonce[VAULT_NONCE_BYTES], *c = NULL;
	char ad[AD_MAX];
	size_t clen;
	int err = make_ad(ad, sizeof(ad), host_id, type, url);

	if (!err)
		err = vault_seal(v, ad, data, len, nonce, &c, &clen);
	if (err)
		return err;
	struct store_cred rec = {
		.type = type, .sealed = c, .sealed_len = clen,
		.nonce = nonce, .nonce_len = sizeof(nonce), .metadata = metadata, .url = url,
	};
	err = store_cred_put(st, host, &rec);
	free(c);
	return err;
}

int vault_put(struct vault *v, struct store *st, const char *host, const char *type,
	      const void *data, size_t len, const char *metadata)
{
	struct store_host h;
	int err = store_host_get(st, host, &h);

	if (err)
		return err;
	err = seal_and_put(v, st, host, h.id, h.host_url, type, data, len, metadata);
	if (err == -ENOENT) {
		/* The host is still there: its url changed while we sealed. */
		struct store_host now;

		if (store_host_get(st, host, &now) == 0) {
			err = -ESTALE;
			store_host_free_fields(&now);
		}
	}
	store_host_free_fields(&h);
	return err;
}

int vault_register(struct vault *v, struct store *st, const char *host, const char *url,
		   bool insecure, const char *description, const struct vault_item *items,
		   size_t n)
{
	struct store_cred *recs = calloc(n ? n : 1, sizeof(*recs));
	unsigned char (*nonces)[VAULT_NONCE_BYTES] = calloc(n ? n : 1, VAULT_NONCE_BYTES);
	char id[STORE_ID_LEN + 1], ad[AD_MAX];
	int err = recs && nonces ? 0 : -ENOMEM;

	if (!err && n && !v)
		err = -EIO;
	/* Sealed under the id the row will have and the url it is for, as
	 * vault_put would seal them once the host is registered. */
	store_new_id(id);
	for (size_t i = 0; !err && i < n; i++) {
		unsigned char *c = NULL;
		size_t clen = 0;

		err = make_ad(ad, sizeof(ad), id, items[i].type, url);
		if (!err)
			err = vault_seal(v, ad, items[i].data, items[i].len, nonces[i], &c, &clen);
		recs[i] = (struct store_cred){
			.type = items[i].type, .sealed = c, .sealed_len = clen,
			.nonce = nonces[i], .nonce_len = VAULT_NONCE_BYTES,
			.metadata = items[i].metadata, .url = url,
		};
	}
	if (!err)
		err = store_host_register(st, id, host, url, insecure, description, recs, n);
	for (size_t i = 0; recs && i < n; i++)
		free((void *)recs[i].sealed);
	free(recs);
	free(nonces);
	return err;
}

int vault_get(struct vault *v, struct store *st, const char *host, const char *url,
	      const char *type, struct secret *out)
{
	struct store_cred rec;
	char ad[AD_MAX];
	int err;

	memset(out, 0, sizeof(*out));
	if (!url)
		return -EINVAL;
	err = store_cred_get(st, host, type, &rec);
	if (err)
		return err;
	/* host_id is the id of the host called host (the row is found by a
	 * join): a row moved here from another host was sealed under that
	 * host's id and does not open; url is where the caller will send it,
	 * so a row sealed for another url does not open either. */
	err = make_ad(ad, sizeof(ad), rec.host_id, type, url);
	if (!err)
		err = rec.nonce_len == VAULT_NONCE_BYTES
			? vault_unseal(v, ad, rec.nonce, rec.sealed, rec.sealed_len, out)
			: -EBADMSG;
	store_cred_free_fields(&rec);
	return err;
}

/* ---- rows of earlier builds ------------------------------------------------
 *
 * Builds before the url was bound sealed a credential under its host's id
 * and type only.  The first start of this build reseals each such row
 * under the url its host has then (what those builds would have sent it
 * to), and marks the registry: from then on a row without the url in its
 * associated data never opens.
 */
struct migration {
	struct vault *v;
	struct store *st;
	int resealed, failed;
};

static int migrate_row(const struct store_cred *c, void *arg)
{
	struct migration *m = arg;
	struct secret s = { 0 };
	char ad[AD_MAX];
	int err;

	if (!c->url || !c->type || !c->host || c->nonce_len != VAULT_NONCE_BYTES)
		goto failed;
	if (!make_ad(ad, sizeof(ad), c->host_id, c->type, c->url) &&
	    !vault_unseal(m->v, ad, c->nonce, c->sealed, c->sealed_len, &s)) {
		secret_free(&s);
		return 0; /* sealed by this build already */
	}
	make_legacy_ad(ad, sizeof(ad), c->host_id, c->type);
	if (vault_unseal(m->v, ad, c->nonce, c->sealed, c->sealed_len, &s))
		goto failed;
	err = seal_and_put(m->v, m->st, c->host, c->host_id, c->url, c->type, s.data, s.len,
			   c->metadata);
	secret_free(&s);
	if (err)
		goto failed;
	m->resealed++;
	return 0;
failed:
	log_msg(LOG_LVL_WARN, "host %s: credential %s does not open: write it again",
		c->host ? c->host : "?", c->type ? c->type : "?");
	m->failed++;
	return 0;
}

static int vault_migrate(struct vault *v, struct store *st)
{
	struct migration m = { v, st, 0, 0 };
	void *mark;
	size_t len;
	int err = store_setting_get(st, AD_MARK_KEY, &mark, &len);

	if (!err) {
		free(mark);
		return 0;
	}
	if (err != -ENOENT)
		return err;
	err = store_cred_foreach(st, migrate_row, &m);
	if (!err)
		err = store_setting_set(st, AD_MARK_KEY, AD_MARK, strlen(AD_MARK));
	if (!err && (m.resealed || m.failed))
		log_info("credentials of an earlier build resealed with their hosts' urls: "
			 "%d, %d not opening", m.resealed, m.failed);
	return err;
}
