/* credentials.c - M/hosts/<host>/tls/ and ssh/: the host's secrets.
 *
 *   tls/ca tls/cert tls/key            (also as ca.pem cert.pem key.pem, so that
 *                                       `cp ~/.docker/{ca,cert,key}.pem hosts/h/tls/` works)
 *   ssh/key ssh/password ssh/known_hosts
 *
 * Writing sets (sealed in the vault), unlink removes; reading shows what is
 * safe to show: a certificate's SHA-256 fingerprint, "set", or "unset",
 * never the secret.  Admin only.  A write is gathered until close (a PEM
 * file comes in several write(2) calls) and reconnects the host.
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

static int cred_unlink(const struct caller *c, const struct node *dir, const char *name)
{
	struct node child;
	char type[64];
	int err = cred_lookup(c, dir, name, &child);

	if (err)
		return err;
	cred_type(&child, type, sizeof(type));
	err = store_cred_remove(tree_ctx()->store, dir->host->name, type);
	if (!err)
		fleet_host_reconnect(dir->host->fleet, dir->host->name);
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
	err = store_cred_get(tree_ctx()->store, n->host->name, type, &rec);
	if (err == -ENOENT) {
		tree_scalar(out, "unset");
		return 0;
	}
	if (err)
		return err;
	tree_scalar(out, rec.metadata ? rec.metadata : "set");
	store_cred_free_fields(&rec);
	return 0;
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
	case CRED_TEXT:
		if (memchr(data, '\0', len))
			return tree_fail(-EINVAL, "%s: text lines (known_hosts format)", type);
		size_t lines = len && data[len - 1] != '\n';
		for (size_t i = 0; i < len; i++)
			lines += data[i] == '\n';
		snprintf(meta, sizeof(meta), "set (%zu line%s)", lines, lines == 1 ? "" : "s");
		break;
	}
	err = vault_put(tree_ctx()->vault, tree_ctx()->store, n->host->name, type, data, len, meta);
	if (err == -ENOENT)
		return tree_fail(-EINVAL, "host %s has no url yet: write its url first", n->host->name);
	if (err)
		return err;
	fleet_host_reconnect(n->host->fleet, n->host->name);
	return 0;
}

const struct node_ops cred_file_ops = {
	.type = NODE_FILE,
	.resource = "credential",
	.read_level = LEVEL_ADMIN,
	.write_level = LEVEL_ADMIN,
	.remove_level = LEVEL_ADMIN,
	.secret = true,
	.buffered = true,
	.read = cred_read,
	.write = cred_write,
};
