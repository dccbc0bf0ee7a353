/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_BUILDER_H
#define BUILDER_BUILDER_H

/*
 * What the builder offers other programs (wsl imports and exports distros
 * through these, not through the mkwslimage command line).  Each prints
 * its own errors ("<builder_prog>: ...") and returns 0 or nonzero; an
 * output file appears whole or not at all.
 */
#include <stdint.h>

#include "disk.h"

/* The prefix of every message (default "mkwslimage"). */
extern const char *builder_prog;

struct builder_disk_request {
	const char *from;	/* the distro tarball; "-" = standard input */
	const char *out;	/* the disk image to write */
	const char *label;	/* the filesystem's label, or NULL */
	const char *seed;	/* derive UUIDs from this; NULL = from the input */
	uint64_t size;		/* virtual size; 0 = DISK_DEFAULT_SIZE */
	enum disk_format format;
};

/* A tarball into a new ext4 filesystem inside a VHDX (or raw) image. */
int builder_make_disk(const struct builder_disk_request *req);

/*
 * A disk's ext4 filesystem back into a tarball.  FORMAT is "tar", "tar.gz",
 * "tar.xz", "tar.zst" or "tar.bz2", or NULL to go by OUT's name.
 */
int builder_export_disk(const char *disk, const char *out, const char *format);

/* Is DISK a disk image holding an ext4 filesystem?  Says why not. */
int builder_check_disk(const char *disk);

#endif
