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
#include "store.h"
#include "vault.h"

#define SALT_KEY "vault_salt"
#define CHECK_KEY "vault_check"
#define CHECK_AD "dockfs vault check"
#define CHECK_TEXT "dockfs"

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

/* The key file: read it, or make it (O_EXCL, 0600) on first run. */
static int key_from_file(const char *path, unsigned char *key)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	struct stat sb;

	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return log_error(-errno, "%s: cannot create the key file: %s", path,
					 strerror(errno));
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
	if (fd < 0)
		return log_error(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
		log_warn(0, "%s: the key file is readable by others (mode %o)", path,
			 (unsigned)(sb.st_mode & 0777));
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

/* Associated data: the host's row id and the credential's type. */
static void make_ad(char *ad, size_t len, const char *host_id, const char *type)
{
	snprintf(ad, len, "%s/%s", host_id, type);
}

int vault_put(struct vault *v, struct store *st, const char *host, const char *type,
	      const void *data, size_t len, const char *metadata)
{
	unsigned char nonce[VAULT_NONCE_BYTES], *c = NULL;
	char id[STORE_ID_LEN + 1], ad[128];
	size_t clen;
	int err = store_host_id(st, host, id);

	if (err)
		return err;
	make_ad(ad, sizeof(ad), id, type);
	err = vault_seal(v, ad, data, len, nonce, &c, &clen);
	if (err)
		return err;
	struct store_cred rec = {
		.type = type, .sealed = c, .sealed_len = clen,
		.nonce = nonce, .nonce_len = sizeof(nonce), .metadata = metadata,
	};
	err = store_cred_put(st, host, &rec);
	free(c);
	return err;
}

int vault_get(struct vault *v, struct store *st, const char *host, const char *type,
	      struct secret *out)
{
	struct store_cred rec;
	char ad[128];
	int err = store_cred_get(st, host, type, &rec);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	/* host_id is the id of the host called host (the row is found by a
	 * join): a row moved here from another host was sealed under that
	 * host's id and does not open. */
	make_ad(ad, sizeof(ad), rec.host_id, type);
	err = rec.nonce_len == VAULT_NONCE_BYTES
			? vault_unseal(v, ad, rec.nonce, rec.sealed, rec.sealed_len, out)
			: -EBADMSG;
	store_cred_free_fields(&rec);
	return err;
}
