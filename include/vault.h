/* vault.h - the credential store's sealing: host secrets (TLS keys, ssh keys
 * and passwords) are kept in host_credentials sealed with libsodium's
 * XChaCha20-Poly1305 AEAD, a random nonce per record and, as associated
 * data, the host's id, the credential's type and the url of the engine it
 * is for: a row copied to another host or type does not open, and neither
 * does a row asked for by a connection to another url, so credentials
 * never follow a changed url (the registry also deletes them when the url
 * changes: store.h).  Rows sealed by earlier builds (id and type only) are
 * resealed with their host's url once, at the first vault_open of this
 * build; after that they never open.
 *
 * The master key comes from a key file (32 random bytes, 0600, made on first
 * run, the daemon's alone: private_file.h) or from a passphrase through
 * crypto_pwhash (Argon2id) with a random salt kept in the settings table.  A
 * check record sealed at first use tells a wrong key or passphrase at start
 * instead of at the first connection.
 *
 * Who holds a secret in clear, and where:
 *   - the master key: the vault, in sodium_malloc'd memory (guarded pages,
 *     locked, not swapped), wiped by vault_close();
 *   - an opened credential: a struct secret (sodium_malloc'd), owned by
 *     whoever vault_get()/vault_unseal() filled it; it frees it with
 *     secret_free() (which wipes) as soon as it has handed it on;
 *   - a value being stored: the caller's (fs.c gathers a write in a
 *     struct secret; import.c reads files into one); vault_put() only reads
 *     it;
 *   - a value written to a host that has no url yet: the host's setup list
 *     (struct setup_cred, model.h), a struct secret until the first url
 *     registers it (vault_register) or the host goes;
 *   - a TLS secret given to libcurl: the struct secret stays the curl
 *     handle's (lent with CURL_BLOB_NOCOPY, hung on CURLOPT_PRIVATE) until
 *     conn_release() or conn_handle_free() wipes it (conn.h);
 *   - an ssh key, password or known_hosts: ssh.c opens it per login and
 *     frees it once libssh2 has used it;
 *   - the passphrase: main.c, a struct secret until the vault is open
 *     (DOCKFS_PASSPHRASE is wiped from the environment once read).
 * What a library makes of what it is handed is beyond this: OpenSSL and
 * libssh2 parse keys into their own structures.
 */
#ifndef DOCKFS_VAULT_H
#define DOCKFS_VAULT_H

#include <stdbool.h>
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
 * metadata is what reading the file shows.
 * put seals for the host's registered url: -ENOENT when the host is not
 * registered (no url yet), -ESTALE when its url changed meanwhile.
 * get opens for url, where the caller will send it (its connection's url):
 * -ENOENT when unset, -EBADMSG when the row does not open (sealed for
 * another url, moved, tampered, other key).  *out is the caller's:
 * secret_free(). */
int vault_put(struct vault *v, struct store *st, const char *host, const char *type,
	      const void *data, size_t len, const char *metadata);
int vault_get(struct vault *v, struct store *st, const char *host, const char *url,
	      const char *type, struct secret *out);
/* A credential to register with its host: data in clear (the caller's). */
struct vault_item {
	const char *type;
	const void *data;
	size_t len;
	const char *metadata;
};
/* Registers a host that has no registry row yet (made by mkdir) with its
 * first url, insecure flag, description (may be NULL) and the credentials
 * written to it before the url, each sealed for (the new row's id, its
 * type, url), in one transaction (store_host_register): the credentials
 * of a host made without a url are for the first engine it is given and
 * for no other.  v may be NULL when n is 0.  -EEXIST when a host of that
 * name is registered already. */
int vault_register(struct vault *v, struct store *st, const char *host, const char *url,
		   bool insecure, const char *description, const struct vault_item *items,
		   size_t n);

#endif
