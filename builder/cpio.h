/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_CPIO_H
#define BUILDER_CPIO_H

#include <stdint.h>
#include <sys/types.h>

#include "sink.h"

/*
 * A deterministic cpio "newc" archive, the format the kernel unpacks into
 * its initial root file system.  Entries are collected first and written
 * sorted by path, with fixed owners, sequential inode numbers and mtimes
 * clamped, so the same inputs always give the same bytes.
 */
struct cpio_entry {
	char *path;	   /* without a leading '/' */
	mode_t mode;	   /* file type and permissions */
	uint32_t rdev_major, rdev_minor;
	int64_t mtime;
	char *source;	   /* host file holding the data (regular files) */
	char *link_target; /* symlinks */
};

struct cpio_archive {
	struct cpio_entry *entries;
	size_t count, capacity;
	int64_t mtime_clamp; /* entries newer than this get this mtime */
};

void cpio_init(struct cpio_archive *a, int64_t mtime_clamp);
void cpio_free(struct cpio_archive *a);

/*
 * Add entries.  Parent directories are added as needed (mode 0755).  A
 * later entry for the same path replaces the earlier one.  Return 0, or
 * -1 with a message printed.
 */
int cpio_add_dir(struct cpio_archive *a, const char *path, mode_t perm);
int cpio_add_node(struct cpio_archive *a, const char *path, mode_t mode,
		  uint32_t major, uint32_t minor);
int cpio_add_symlink(struct cpio_archive *a, const char *path, const char *target);
/* A host file, directory (recursively) or symlink, as PATH in the archive. */
int cpio_add_host(struct cpio_archive *a, const char *path, const char *host_path);

/* Write the archive, trailer included. */
int cpio_write(struct cpio_archive *a, struct sink *out);

#endif
