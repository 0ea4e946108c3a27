/* vault.h - the credential store's sealing: host secrets (TLS keys, ssh keys
 * and passwords) are kept in host_credentials sealed with libsodium's
 * XChaCha20-Poly1305 AEAD, a random nonce per record and the host's id (and
 * the credential's type) as associated data, so a row copied to another host
 * or type does not open.
 *
 * The master key comes from a key file (32 random bytes, 0600, made on first
 * run) or from a passphrase through crypto_pwhash (Argon2id) with a random
 * salt kept in the settings table.  A check record sealed at first use tells
 * a wrong key or passphrase at start instead of at the first connection.
 *
 * Opened secrets live in sodium_malloc'd memory (guarded, not swapped) and
 * are wiped by secret_free(); callers free them as soon as they are used.
 */
#ifndef DOCKFS_VAULT_H
#define DOCKFS_VAULT_H

#include <stddef.h>

struct store;
struct vault;

#define VAULT_KEY_BYTES 32
#define VAULT_NONCE_BYTES 24

/* A secret in clear: data is sodium_malloc'd, NUL-terminated (len excludes
 * it).  secret_free() wipes and frees; safe on a zeroed struct. */
struct secret {
	unsigned char *data;
	size_t len;
};
int secret_alloc(struct secret *s, size_t len);
void secret_free(struct secret *s);

/* The master key from key_file (created with a fresh key if absent) or,
 * when passphrase is not NULL, derived from it with the salt kept in st
 * (created if absent).  -EKEYREJECTED when it does not open what the
 * store already holds.  *out is the caller's: vault_close(). */
int vault_open(struct store *st, const char *key_file, const char *passphrase,
	       struct vault **out);
/* For tests: a vault over a given key (no store). */
int vault_from_key(const unsigned char key[VAULT_KEY_BYTES], struct vault **out);
void vault_close(struct vault *v);

/* Seals m under ad; *c (malloc'd, the caller's) gets m plus the tag. */
int vault_seal(const struct vault *v, const char *ad, const void *m, size_t mlen,
	       unsigned char nonce[VAULT_NONCE_BYTES], unsigned char **c, size_t *clen);
/* Opens c sealed under ad; -EBADMSG when the key, ad or bytes differ. */
int vault_unseal(const struct vault *v, const char *ad, const unsigned char *nonce,
		 const unsigned char *c, size_t clen, struct secret *out);

/* Host credentials: seal and store, load and open.  type is "tls/ca",
 * "tls/cert", "tls/key", "ssh/key", "ssh/password", "ssh/known_hosts";
 * metadata is what reading the file shows.  get: -ENOENT when unset,
 * -EBADMSG when the row does not open (moved, tampered, other key). */
int vault_put(struct vault *v, struct store *st, const char *host, const char *type,
	      const void *data, size_t len, const char *metadata);
int vault_get(struct vault *v, struct store *st, const char *host, const char *type,
	      struct secret *out);

#endif
