/* credentials.c - M/hosts/<host>/tls/ and ssh/: the host's secrets.
 *
 *   tls/ca tls/cert tls/key            (also as ca.pem cert.pem key.pem, so that
 *                                       `cp ~/.docker/{ca,cert,key}.pem hosts/h/tls/` works)
 *   ssh/key ssh/password ssh/known_hosts
 *
 * Writing sets (sealed in the vault), unlink removes; reading shows what is
 * safe to show: a certificate's SHA-256 fingerprint, "set", or "unset",
 * never the secret.  Admin only.  A write is gathered until close (a PEM
 * file comes in several write(2) calls) and reconnects the host.  A value
 * is sealed for the host's url (vault.h): a changed url drops them all.
 *
 * Any order: a host made by mkdir takes its credentials before its url.
 * They wait in the daemon's guarded memory (struct setup_cred, model.h),
 * not in the registry, which holds only hosts with a url; the first url
 * written (by a global admin: hosts.c) registers the host with them, each
 * sealed for that url, in one transaction (vault_register).  So every
 * stored credential was sealed for a url, and a credential never follows a
 * url that changes from one engine to another.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "model.h"
#include "store.h"
#include "text.h"
#include "tree.h"
#include "vault.h"

enum cred_kind { CRED_CERT, CRED_KEY, CRED_PASSWORD, CRED_TEXT };

struct cred_file {
	const char *name;
	const char *alias;      /* a name people's files have (cp *.pem) */
	enum cred_kind kind;
};

static const struct cred_file tls_files[] = {
	{ "ca", "ca.pem", CRED_CERT },
	{ "cert", "cert.pem", CRED_CERT },
	{ "key", "key.pem", CRED_KEY },
	{ NULL, NULL, 0 },
};

static const struct cred_file ssh_files[] = {
	{ "key", "id_rsa", CRED_KEY },
	{ "password", NULL, CRED_PASSWORD },
	{ "known_hosts", NULL, CRED_TEXT },
	{ NULL, NULL, 0 },
};

extern const struct node_ops cred_file_ops;

/* node->key of a credentials dir and file: "tls" or "ssh". */
static const struct cred_file *files_of(const struct node *n)
{
	return strcmp(n->key, "tls") == 0 ? tls_files : ssh_files;
}

static int cred_lookup(const struct caller *c, const struct node *dir, const char *name,
		       struct node *child)
{
	for (const struct cred_file *f = files_of(dir); f->name; f++) {
		if (strcmp(name, f->name) == 0 || (f->alias && strcmp(name, f->alias) == 0)) {
			node_child(child, dir, &cred_file_ops);
			child->attr = f;
			return 0;
		}
	}
	return -ENOENT;
}

static int cred_list(const struct caller *c, const struct node *dir, struct dirlist *out)
{
	for (const struct cred_file *f = files_of(dir); f->name; f++)
		dirlist_add(out, f->name, NODE_FILE);
	return 0;
}

static void cred_type(const struct node *n, char *out, size_t len)
{
	const struct cred_file *f = n->attr;

	snprintf(out, len, "%.3s/%s", n->key, f->name);
}

/* With h->setup_lock held: the setup credential of that type, or NULL. */
static struct setup_cred **setup_find(struct host *h, const char *type)
{
	struct setup_cred **p = &h->setup_creds;

	while (*p && strcmp((*p)->type, type) != 0)
		p = &(*p)->next;
	return p;
}

static int cred_unlink(const struct caller *c, const struct node *dir, const char *name)
{
	struct host *h = dir->host;
	struct node child;
	char type[64];
	int err = cred_lookup(c, dir, name, &child);

	if (err)
		return err;
	cred_type(&child, type, sizeof(type));
	pthread_mutex_lock(&h->setup_lock);
	err = store_cred_remove(tree_ctx()->store, h->name, type);
	if (err == -ENOENT) {
		struct setup_cred **p = setup_find(h, type), *gone = *p;

		if (gone) {
			*p = gone->next;
			gone->next = NULL;
			setup_creds_free(gone);
			err = 0;
		}
	} else if (!err) {
		fleet_host_reconnect(h->fleet, h->name);
	}
	pthread_mutex_unlock(&h->setup_lock);
	node_release(&child);
	return err;
}

const struct node_ops cred_dir_ops = {
	.type = NODE_DIR,
	.resource = "credential",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.remove_level = LEVEL_ADMIN,
	.error_file = true,
	.lookup = cred_lookup,
	.list = cred_list,
	.unlink = cred_unlink,
};

static int cred_read(const struct caller *c, const struct node *n, struct buf *out)
{
	struct store_cred rec;
	char type[64];
	int err;

	cred_type(n, type, sizeof(type));
	pthread_mutex_lock(&n->host->setup_lock);
	err = store_cred_get(tree_ctx()->store, n->host->name, type, &rec);
	if (!err) {
		tree_scalar(out, rec.metadata ? rec.metadata : "set");
		store_cred_free_fields(&rec);
	} else if (err == -ENOENT) {
		/* written before the url: shown as it will be once stored */
		struct setup_cred *sc = *setup_find(n->host, type);

		tree_scalar(out, sc ? sc->metadata : "unset");
		err = 0;
	}
	pthread_mutex_unlock(&n->host->setup_lock);
	return err;
}

/* "sha256:AB:CD:..." of the certificate's DER, as openssl x509 -fingerprint. */
static int cert_fingerprint(const char *data, size_t len, char *out, size_t outlen)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t o;

	BIO_free(bio);
	if (!x)
		return -EINVAL;
	X509_digest(x, EVP_sha256(), md, &mdlen);
	X509_free(x);
	o = (size_t)snprintf(out, outlen, "sha256:");
	for (unsigned i = 0; i < mdlen && o + 3 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%02X", i ? ":" : "", md[i]);
	return 0;
}

static bool looks_like_key(const char *data, size_t len)
{
	return memmem(data, len, "-----BEGIN ", 11) && memmem(data, len, "PRIVATE KEY-----", 16);
}

static int setup_keep(struct host *h, const char *type, const char *data, size_t len,
		      const char *meta);

static int cred_write(const struct caller *c, const struct node *n, const char *data,
		      size_t len, struct buf *out)
{
	const struct cred_file *f = n->attr;
	char type[64], meta[128] = "set";
	int err;

	cred_type(n, type, sizeof(type));
	if (!tree_ctx()->vault)
		return tree_fail(-EIO, "no credential store in this daemon");
	if (len == 0)
		return tree_fail(-EINVAL, "%s: empty (to remove it, unlink it)", type);
	switch (f->kind) {
	case CRED_CERT:
		if (cert_fingerprint(data, len, meta, sizeof(meta)))
			return tree_fail(-EINVAL, "%s: not a PEM certificate", type);
		break;
	case CRED_KEY:
		if (!looks_like_key(data, len))
			return tree_fail(-EINVAL, "%s: not a PEM or OpenSSH private key", type);
		break;
	case CRED_PASSWORD:
		/* echo's newline is not part of the password */
		if (data[len - 1] == '\n')
			len--;
		if (len == 0 || memchr(data, '\n', len) || memchr(data, '\0', len))
			return tree_fail(-EINVAL, "%s: one line of text", type);
		break;
	case CRED_TEXT: {
		char why[128];

		/* the file is binary for its password neighbour: known_hosts
		 * is text, checked here as tree_write checks text files */
		text_explain(data, len, why, sizeof(why));
		if (why[0])
			return tree_fail(-EINVAL, "%s: text lines (known_hosts format): %s", type,
					 why);
		size_t lines = len && data[len - 1] != '\n';
		for (size_t i = 0; i < len; i++)
			lines += data[i] == '\n';
		snprintf(meta, sizeof(meta), "set (%zu line%s)", lines, lines == 1 ? "" : "s");
		break;
	}
	}
	pthread_mutex_lock(&n->host->setup_lock);
	err = vault_put(tree_ctx()->vault, tree_ctx()->store, n->host->name, type, data, len, meta);
	if (err == -ENOENT)
		err = setup_keep(n->host, type, data, len, meta);
	else if (!err)
		fleet_host_reconnect(n->host->fleet, n->host->name);
	pthread_mutex_unlock(&n->host->setup_lock);
	if (err == -ESTALE)
		return tree_fail(-EBUSY, "the url of host %s changed while %s was written (which "
				 "dropped its credentials): write it again", n->host->name, type);
	return err;
}

/* With h->setup_lock held, the host not registered (no url yet): keeps
 * the value for the first url (cred_host_set_url), replacing one of that
 * type. */
static int setup_keep(struct host *h, const char *type, const char *data, size_t len,
		      const char *meta)
{
	struct setup_cred **p = setup_find(h, type), *sc = calloc(1, sizeof(*sc));

	if (!sc || !(sc->metadata = strdup(meta)) || secret_alloc(&sc->value, len)) {
		setup_creds_free(sc);
		return -ENOMEM;
	}
	snprintf(sc->type, sizeof(sc->type), "%s", type);
	memcpy(sc->value.data, data, len);
	if (*p) {
		sc->next = (*p)->next;
		(*p)->next = NULL;
		setup_creds_free(*p);
	}
	*p = sc;
	return 0;
}

/* put() for fleet_host_set_url_with: the registration with what was
 * written before the url. */
static int register_first(struct store *st, const char *name, const char *url, void *arg)
{
	struct host *h = arg;
	struct vault_item items[8];
	size_t n = 0;
	char *description;
	bool insecure;
	int err;

	for (struct setup_cred *sc = h->setup_creds; sc && n < 8; sc = sc->next)
		items[n++] = (struct vault_item){ sc->type, sc->value.data, sc->value.len,
						  sc->metadata };
	pthread_rwlock_rdlock(&h->lock);
	insecure = h->insecure;
	description = h->description ? strdup(h->description) : NULL;
	pthread_rwlock_unlock(&h->lock);
	err = vault_register(tree_ctx()->vault, st, name, url, insecure, description, items, n);
	free(description);
	return err;
}

int cred_host_set_url(struct host *h, const char *url)
{
	char id[STORE_ID_LEN + 1];
	int err = store_host_id(tree_ctx()->store, h->name, id);

	if (err == -ENOENT) {
		err = fleet_host_set_url_with(h->fleet, h->name, url, register_first, h);
		if (!err) {
			setup_creds_free(h->setup_creds);
			h->setup_creds = NULL;
		}
	} else if (!err) {
		err = fleet_host_set_url(h->fleet, h->name, url);
	}
	return err;
}

int cred_host_setup_write(struct host *h, int (*set)(struct host *h, const char *value),
			  const char *value)
{
	pthread_mutex_lock(&h->setup_lock);
	int err = set(h, value);
	pthread_mutex_unlock(&h->setup_lock);
	return err;
}

const struct node_ops cred_file_ops = {
	.type = NODE_FILE,
	.resource = "credential",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.remove_level = LEVEL_ADMIN,
	.secret = true,
	.buffered = true,
	/* A password is any bytes; PEM and known_hosts are checked by
	 * their own parsers (cred_write). */
	.binary = true,
	.read = cred_read,
	.write = cred_write,
};
