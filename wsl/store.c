// SPDX-License-Identifier: MIT
/* The distro store (see store.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

int store_open(struct store *s, const struct wsl_paths *p, bool exclusive)
{
	char path[600];

	snprintf(s->dir, sizeof(s->dir), "%s", p->data);
	if (mkdir_private(s->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/distros", s->dir);
	if (mkdir(path, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/lock", s->dir);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH)) {
		pr_err("cannot lock the distro store %s: %s", path, strerror(errno));
		if (s->lock_fd >= 0)
			close(s->lock_fd);
		return -1;
	}
	return 0;
}

void store_close(struct store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* drops the lock */
	s->lock_fd = -1;
}

bool store_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= STORE_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

/* Write PATH whole or not at all. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[700];
	int fd, len = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != len || fsync(fd)) {
		pr_err("cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path)) {
		pr_err("cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int parse_record(FILE *f, struct distro_record *r)
{
	char line[1024];

	memset(r, 0, sizeof(*r));
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *v;

		line[strcspn(line, "\n")] = '\0';
		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(line, "name"))
			snprintf(r->name, sizeof(r->name), "%s", v);
		else if (!strcmp(line, "version"))
			r->version = atoi(v);
		else if (!strcmp(line, "location"))
			snprintf(r->location, sizeof(r->location), "%s", v);
		else if (!strcmp(line, "disk"))
			snprintf(r->disk, sizeof(r->disk), "%s", v);
		else if (!strcmp(line, "rootfs"))
			snprintf(r->rootfs, sizeof(r->rootfs), "%s", v);
		else if (!strcmp(line, "default_user"))
			snprintf(r->default_user, sizeof(r->default_user), "%s", v);
		else if (!strcmp(line, "uid"))
			r->uid = strtoul(v, NULL, 10);
	}
	return store_name_valid(r->name) && (r->version == 1 || r->version == 2) ? 0 : -1;
}

int store_get(struct store *s, const char *name, struct distro_record *r)
{
	char path[700];
	FILE *f;
	int ret;

	if (!store_name_valid(name))
		return -1;
	snprintf(path, sizeof(path), "%s/distros/%s/distro.conf", s->dir, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ret = parse_record(f, r);
	fclose(f);
	if (ret)
		pr_err("%s: damaged record (ignored)", path);
	return ret;
}

int store_put(struct store *s, const struct distro_record *r)
{
	char dir[700], path[720], text[3000];

	snprintf(dir, sizeof(dir), "%s/distros/%s", s->dir, r->name);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(text, sizeof(text),
		 "name=%s\nversion=%d\nlocation=%s\ndisk=%s\nrootfs=%s\ndefault_user=%s\nuid=%u\n",
		 r->name, r->version, r->location, r->disk, r->rootfs, r->default_user, r->uid);
	snprintf(path, sizeof(path), "%s/distro.conf", dir);
	return write_atomic(path, text);
}

int store_remove(struct store *s, const char *name)
{
	char dir[700], path[720];
	char def[STORE_NAME_MAX];

	snprintf(dir, sizeof(dir), "%s/distros/%s", s->dir, name);
	snprintf(path, sizeof(path), "%s/distro.conf", dir);
	/* The record goes first: a crash after it leaves an empty folder, not a ghost. */
	if (unlink(path) || rmdir(dir)) {
		pr_err("cannot remove %s: %s", dir, strerror(errno));
		return -1;
	}
	store_get_default(s, def, sizeof(def));
	if (!strcmp(def, name)) {
		snprintf(path, sizeof(path), "%s/default", s->dir);
		unlink(path);
	}
	return 0;
}

static int compare_records(const void *a, const void *b)
{
	return strcmp(((const struct distro_record *)a)->name,
		      ((const struct distro_record *)b)->name);
}

struct distro_record *store_list(struct store *s, int *n)
{
	struct distro_record *list = NULL, *grown;
	char path[600];
	struct dirent *e;
	int cap = 0;
	DIR *d;

	*n = 0;
	snprintf(path, sizeof(path), "%s/distros", s->dir);
	d = opendir(path);
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown)
				break;
			list = grown;
		}
		if (!store_get(s, e->d_name, &list[*n]))
			(*n)++;
	}
	closedir(d);
	if (list)
		qsort(list, *n, sizeof(*list), compare_records);
	return list;
}

void store_get_default(struct store *s, char *name, size_t len)
{
	char path[600];
	FILE *f;

	name[0] = '\0';
	snprintf(path, sizeof(path), "%s/default", s->dir);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(name, len, f))
		name[strcspn(name, "\n")] = '\0';
	fclose(f);
}

int store_set_default(struct store *s, const char *name)
{
	char path[600], text[STORE_NAME_MAX + 2];

	snprintf(path, sizeof(path), "%s/default", s->dir);
	snprintf(text, sizeof(text), "%s\n", name);
	return write_atomic(path, text);
}
