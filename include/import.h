/* import.h - what users already have, as hosts: DOCKER_HOST with
 * DOCKER_CERT_PATH, and the docker CLI's contexts (config_dir/contexts/meta/
 * * /meta.json with their TLS files under contexts/tls/), registered with
 * their credentials sealed in the vault.  Says what it did on stdout. */
#ifndef DOCKFS_IMPORT_H
#define DOCKFS_IMPORT_H

struct store;
struct vault;

/* config_dir: the docker CLI's config directory (NULL: $DOCKER_CONFIG, else
 * ~/.docker).  Returns the number of hosts imported, or -errno. */
int import_docker(struct store *st, struct vault *v, const char *config_dir);

#endif
