// SPDX-License-Identifier: MIT
/* Paths of a tarball's entries: normalized, confined, and mapped to inodes. */
#include <stdlib.h>
#include <string.h>

#include "disk_fs.h"

int tar_path_normalize(char *path, const char **why)
{
	char *in = path, *out = path;

	if (*path == '/') {
		*why = "absolute path";
		return -1;
	}
	while (*in) {
		char *end = strchrnul(in, '/');
		size_t len = end - in;

		if (len == 2 && in[0] == '.' && in[1] == '.') {
			*why = "'..' would leave the root";
			return -1;
		}
		if (len && !(len == 1 && in[0] == '.')) {
			if (out != path)
				*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in = *end ? end + 1 : end;
	}
	*out = '\0';
	return 0;
}

struct path_slot {
	char *path;
	ext2_ino_t ino;
};

struct path_map {
	struct path_slot *slot;
	size_t count, capacity;		/* capacity: a power of two */
};

static size_t path_hash(const char *s)
{
	size_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

struct path_map *path_map_new(void)
{
	struct path_map *m = calloc(1, sizeof(*m));

	if (m) {
		m->capacity = 1024;
		m->slot = calloc(m->capacity, sizeof(*m->slot));
		if (!m->slot) {
			free(m);
			m = NULL;
		}
	}
	return m;
}

void path_map_free(struct path_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->capacity; i++)
		free(m->slot[i].path);
	free(m->slot);
	free(m);
}

static struct path_slot *path_map_find(const struct path_map *m, const char *path)
{
	size_t i = path_hash(path) & (m->capacity - 1);

	while (m->slot[i].path && strcmp(m->slot[i].path, path))
		i = (i + 1) & (m->capacity - 1);
	return &m->slot[i];
}

static int path_map_grow(struct path_map *m)
{
	struct path_map bigger = { .capacity = 2 * m->capacity };

	bigger.slot = calloc(bigger.capacity, sizeof(*bigger.slot));
	if (!bigger.slot)
		return -1;
	for (size_t i = 0; i < m->capacity; i++)
		if (m->slot[i].path)
			*path_map_find(&bigger, m->slot[i].path) = m->slot[i];
	free(m->slot);
	m->slot = bigger.slot;
	m->capacity = bigger.capacity;
	return 0;
}

int path_map_add(struct path_map *m, const char *path, ext2_ino_t ino)
{
	struct path_slot *s;

	if (2 * (m->count + 1) > m->capacity && path_map_grow(m))
		return -1;
	s = path_map_find(m, path);
	if (!s->path) {
		s->path = strdup(path);
		if (!s->path)
			return -1;
		m->count++;
	}
	s->ino = ino;
	return 0;
}

ext2_ino_t path_map_get(const struct path_map *m, const char *path)
{
	return path_map_find(m, path)->ino;
}
