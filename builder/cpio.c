// SPDX-License-Identifier: MIT
/* A deterministic cpio "newc" writer (see cpio.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cpio.h"
#include "mkwslimage.h"

#define CPIO_NEWC_MAGIC "070701"
#define CPIO_TRAILER	"TRAILER!!!"

void cpio_init(struct cpio_archive *a, int64_t mtime_clamp)
{
	memset(a, 0, sizeof(*a));
	a->mtime_clamp = mtime_clamp;
}

static void entry_free(struct cpio_entry *e)
{
	free(e->path);
	free(e->source);
	free(e->link_target);
}

void cpio_free(struct cpio_archive *a)
{
	for (size_t i = 0; i < a->count; i++)
		entry_free(&a->entries[i]);
	free(a->entries);
	memset(a, 0, sizeof(*a));
}

/* "/usr//bin/" → "usr/bin"; NULL for an empty path or one with "." or "..". */
static char *normalize_path(const char *path)
{
	char *out = malloc(strlen(path) + 1), *o = out;
	const char *p = path;

	if (!out)
		return NULL;
	while (*p) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = end - p;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			free(out);
			return NULL;
		}
		if (o != out)
			*o++ = '/';
		memcpy(o, p, len);
		o += len;
		p = end;
	}
	*o = '\0';
	if (o == out) {
		free(out);
		return NULL;
	}
	return out;
}

static struct cpio_entry *find_entry(struct cpio_archive *a, const char *path)
{
	for (size_t i = 0; i < a->count; i++)
		if (!strcmp(a->entries[i].path, path))
			return &a->entries[i];
	return NULL;
}

static int add_parents(struct cpio_archive *a, const char *path);

/* Adds or replaces PATH; takes ownership of nothing, copies what it keeps. */
static struct cpio_entry *add_entry(struct cpio_archive *a, const char *path, mode_t mode,
				    int64_t mtime)
{
	struct cpio_entry *e;
	char *norm = normalize_path(path);

	if (!norm) {
		pr_err("'%s': not a valid path inside the archive", path);
		return NULL;
	}
	if (add_parents(a, norm)) {
		free(norm);
		return NULL;
	}
	e = find_entry(a, norm);
	if (e) {
		entry_free(e);
	} else {
		if (a->count == a->capacity) {
			size_t cap = a->capacity ? a->capacity * 2 : 64;
			struct cpio_entry *n = realloc(a->entries, cap * sizeof(*n));

			if (!n) {
				free(norm);
				pr_err("out of memory");
				return NULL;
			}
			a->entries = n;
			a->capacity = cap;
		}
		e = &a->entries[a->count++];
	}
	memset(e, 0, sizeof(*e));
	e->path = norm;
	e->mode = mode;
	e->mtime = mtime < a->mtime_clamp ? mtime : a->mtime_clamp;
	return e;
}

static int add_parents(struct cpio_archive *a, const char *path)
{
	char *copy = strdup(path), *slash;
	int ret = 0;

	if (!copy) {
		pr_err("out of memory");
		return -1;
	}
	for (slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (!find_entry(a, copy) && !add_entry(a, copy, S_IFDIR | 0755, 0)) {
			ret = -1;
			break;
		}
		*slash = '/';
	}
	free(copy);
	return ret;
}

int cpio_add_dir(struct cpio_archive *a, const char *path, mode_t perm)
{
	return add_entry(a, path, S_IFDIR | (perm & 07777), 0) ? 0 : -1;
}

int cpio_add_node(struct cpio_archive *a, const char *path, mode_t mode,
		  uint32_t major, uint32_t minor)
{
	struct cpio_entry *e = add_entry(a, path, mode, 0);

	if (!e)
		return -1;
	e->rdev_major = major;
	e->rdev_minor = minor;
	return 0;
}

int cpio_add_symlink(struct cpio_archive *a, const char *path, const char *target)
{
	struct cpio_entry *e = add_entry(a, path, S_IFLNK | 0777, 0);

	if (!e)
		return -1;
	e->link_target = strdup(target);
	return e->link_target ? 0 : -1;
}

static int add_host_dir(struct cpio_archive *a, const char *path, const char *host_path)
{
	struct dirent **names;
	int n, ret = 0;

	n = scandir(host_path, &names, NULL, alphasort);
	if (n < 0) {
		pr_err("%s: cannot read directory: %s", host_path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *child_path = NULL, *child_host = NULL;

		if (!ret && strcmp(name, ".") && strcmp(name, "..")) {
			if (asprintf(&child_path, "%s/%s", path, name) < 0 ||
			    asprintf(&child_host, "%s/%s", host_path, name) < 0)
				ret = -1;
			else
				ret = cpio_add_host(a, child_path, child_host);
			free(child_path);
			free(child_host);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int cpio_add_host(struct cpio_archive *a, const char *path, const char *host_path)
{
	struct cpio_entry *e;
	struct stat st;
	char target[PATH_MAX];
	ssize_t len;

	if (lstat(host_path, &st)) {
		pr_err("%s: %s", host_path, strerror(errno));
		return -1;
	}
	/* Only the permission bits are taken from the host: owners are root's. */
	e = add_entry(a, path, st.st_mode & (S_IFMT | 07777), st.st_mtime);
	if (!e)
		return -1;
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		e->source = strdup(host_path);
		return e->source ? 0 : -1;
	case S_IFDIR:
		return add_host_dir(a, path, host_path);
	case S_IFLNK:
		len = readlink(host_path, target, sizeof(target) - 1);
		if (len < 0) {
			pr_err("%s: cannot read link: %s", host_path, strerror(errno));
			return -1;
		}
		target[len] = '\0';
		e->link_target = strdup(target);
		return e->link_target ? 0 : -1;
	case S_IFCHR:
	case S_IFBLK:
		e->rdev_major = major(st.st_rdev);
		e->rdev_minor = minor(st.st_rdev);
		return 0;
	case S_IFIFO:
		return 0;
	default:
		pr_err("%s: sockets cannot go into an archive", host_path);
		return -1;
	}
}

static int write_padding(struct sink *out, size_t written)
{
	static const char zeros[4];

	return sink_write(out, zeros, (4 - written % 4) % 4);
}

static int write_header(struct sink *out, uint32_t ino, const struct cpio_entry *e,
			const char *name, uint32_t filesize)
{
	char hdr[111];
	size_t namesize = strlen(name) + 1;

	snprintf(hdr, sizeof(hdr), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 CPIO_NEWC_MAGIC, ino, e ? (uint32_t)e->mode : 0, 0, 0,
		 e && S_ISDIR(e->mode) ? 2 : 1, e ? (uint32_t)e->mtime : 0, filesize,
		 0, 0, e ? e->rdev_major : 0, e ? e->rdev_minor : 0, (uint32_t)namesize, 0);
	if (sink_write(out, hdr, 110) || sink_write(out, name, namesize))
		return -1;
	return write_padding(out, 110 + namesize);
}

static int write_file_data(struct sink *out, const char *source, uint32_t size)
{
	char buf[65536];
	uint32_t left = size;
	int fd = open(source, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_err("%s: %s", source, strerror(errno));
		return -1;
	}
	while (left) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (n <= 0) {
			pr_err("%s: %s", source, n ? strerror(errno) : "file shrank while being read");
			close(fd);
			return -1;
		}
		if (sink_write(out, buf, n)) {
			close(fd);
			return -1;
		}
		left -= n;
	}
	close(fd);
	return write_padding(out, size);
}

static int entry_size(const struct cpio_entry *e, uint32_t *size)
{
	struct stat st;

	*size = 0;
	if (e->link_target) {
		*size = strlen(e->link_target);
	} else if (e->source) {
		if (stat(e->source, &st)) {
			pr_err("%s: %s", e->source, strerror(errno));
			return -1;
		}
		if (st.st_size > UINT32_MAX) {
			pr_err("%s: too large for a cpio archive (4 GiB at most)", e->source);
			return -1;
		}
		*size = st.st_size;
	}
	return 0;
}

static int compare_entries(const void *x, const void *y)
{
	return strcmp(((const struct cpio_entry *)x)->path, ((const struct cpio_entry *)y)->path);
}

int cpio_write(struct cpio_archive *a, struct sink *out)
{
	qsort(a->entries, a->count, sizeof(*a->entries), compare_entries);
	for (size_t i = 0; i < a->count; i++) {
		const struct cpio_entry *e = &a->entries[i];
		uint32_t size;

		if (entry_size(e, &size) || write_header(out, i + 1, e, e->path, size))
			return -1;
		if (e->link_target) {
			if (sink_write(out, e->link_target, size) || write_padding(out, size))
				return -1;
		} else if (e->source && write_file_data(out, e->source, size)) {
			return -1;
		}
	}
	return write_header(out, 0, NULL, CPIO_TRAILER, 0);
}
