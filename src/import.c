/* import.c - DOCKER_HOST / DOCKER_CERT_PATH and docker contexts as hosts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "import.h"
#include "names.h"
#include "store.h"
#include "vault.h"

#define PEM_MAX (256 << 10)

/* Reads a small file into guarded memory (it may be a private key). */
static int read_secret_file(const char *path, struct secret *out)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0 || sb.st_size > PEM_MAX) {
		close(fd);
		return -EINVAL;
	}
	err = secret_alloc(out, (size_t)sb.st_size);
	if (!err) {
		n = read(fd, out->data, out->len);
		if (n != (ssize_t)out->len) {
			secret_free(out);
			err = -EIO;
		}
	}
	close(fd);
	return err;
}

static void fingerprint(const struct secret *s, char *out, size_t outlen)
{
	BIO *bio = BIO_new_mem_buf(s->data, (int)s->len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t o;

	BIO_free(bio);
	snprintf(out, outlen, "set");
	if (!x)
		return;
	X509_digest(x, EVP_sha256(), md, &mdlen);
	X509_free(x);
	o = (size_t)snprintf(out, outlen, "sha256:");
	for (unsigned i = 0; i < mdlen && o + 3 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%02X", i ? ":" : "", md[i]);
}

/* ca.pem cert.pem key.pem of dir, when there, into host's tls/ credentials. */
static int import_tls(struct store *st, struct vault *v, const char *host, const char *dir)
{
	static const char *const files[][2] = {
		{ "ca.pem", "tls/ca" }, { "cert.pem", "tls/cert" }, { "key.pem", "tls/key" },
	};
	int n = 0;

	for (size_t i = 0; i < 3; i++) {
		char path[4096], meta[128];
		struct secret s;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		if (read_secret_file(path, &s))
			continue;
		if (strcmp(files[i][1], "tls/key") == 0)
			snprintf(meta, sizeof(meta), "set");
		else
			fingerprint(&s, meta, sizeof(meta));
		int err = vault_put(v, st, host, files[i][1], s.data, s.len, meta);
		secret_free(&s);
		if (err) {
			fprintf(stderr, "dockfs: %s: %s: %s\n", host, files[i][1], strerror(-err));
			return err;
		}
		printf("  %s: %s from %s\n", files[i][1], meta, path);
		n++;
	}
	return n;
}

/* A host name from a context name: invalid bytes become '-'. */
static void host_name_of(const char *ctx, char *out, size_t len)
{
	size_t i;

	for (i = 0; ctx[i] && i + 1 < len && i < 64; i++) {
		char ch = ctx[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		out[i] = ok ? ch : '-';
	}
	out[i] = '\0';
	if (out[0] == '.' || out[0] == '-')
		out[0] = '_';
}

static int register_host(struct store *st, struct vault *v, const char *name, const char *url,
			 const char *tls_dir, bool plain)
{
	int err = store_host_put(st, name, url), n;

	if (err) {
		fprintf(stderr, "dockfs: import %s (%s): %s\n", name, url, strerror(-err));
		return err;
	}
	printf("host %s: %s\n", name, url);
	n = tls_dir ? import_tls(st, v, name, tls_dir) : 0;
	if (n < 0)
		return n;
	if (strncmp(url, "tcp://", 6) == 0) {
		bool insecure = plain && n == 0;
		store_host_set_insecure(st, name, insecure);
		if (insecure)
			printf("  insecure: 1 (plain tcp without TLS, as configured)\n");
	}
	if (strncmp(url, "ssh://", 6) == 0)
		printf("  ssh: write its key (or password) and known_hosts line to hosts/%s/ssh/\n",
		       name);
	return 0;
}

static int import_contexts(struct store *st, struct vault *v, const char *cfg)
{
	char meta_dir[4200];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(meta_dir, sizeof(meta_dir), "%s/contexts/meta", cfg);
	d = opendir(meta_dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[4600], tls_dir[4700], name[65];
		json_t *j;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/meta.json", meta_dir, de->d_name);
		j = json_load_file(path, 0, NULL);
		if (!j)
			continue;
		const char *ctx = json_string_value(json_object_get(j, "Name"));
		json_t *ep = json_object_get(json_object_get(j, "Endpoints"), "docker");
		const char *url = json_string_value(json_object_get(ep, "Host"));
		bool skip = json_is_true(json_object_get(ep, "SkipTLSVerify"));
		if (ctx && url) {
			host_name_of(ctx, name, sizeof(name));
			snprintf(tls_dir, sizeof(tls_dir), "%s/contexts/tls/%s/docker", cfg,
				 de->d_name);
			if (skip)
				printf("context %s asks to skip TLS verification: dockfs always "
				       "verifies\n", ctx);
			printf("context %s:\n", ctx);
			if (register_host(st, v, name, url, tls_dir, false) == 0)
				n++;
		}
		json_decref(j);
	}
	closedir(d);
	return n;
}

int import_docker(struct store *st, struct vault *v, const char *config_dir)
{
	const char *env_host = getenv("DOCKER_HOST");
	const char *cert_path = getenv("DOCKER_CERT_PATH");
	const char *tls_verify = getenv("DOCKER_TLS_VERIFY");
	char cfg[4000];
	int n = 0, m;

	if (config_dir)
		snprintf(cfg, sizeof(cfg), "%s", config_dir);
	else if (getenv("DOCKER_CONFIG"))
		snprintf(cfg, sizeof(cfg), "%s", getenv("DOCKER_CONFIG"));
	else
		snprintf(cfg, sizeof(cfg), "%s/.docker", getenv("HOME") ? getenv("HOME") : ".");
	if (env_host && *env_host) {
		printf("DOCKER_HOST:\n");
		/* TLS material: DOCKER_CERT_PATH, else the CLI's default place. */
		if (register_host(st, v, "docker-host", env_host,
				  cert_path && *cert_path ? cert_path : cfg,
				  !(tls_verify && *tls_verify) && !(cert_path && *cert_path)) == 0)
			n++;
	}
	m = import_contexts(st, v, cfg);
	if (m < 0)
		return m;
	n += m;
	printf("%d host%s imported\n", n, n == 1 ? "" : "s");
	return n;
}
