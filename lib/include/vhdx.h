/* SPDX-License-Identifier: MIT */
#ifndef VHDX_H
#define VHDX_H

/*
 * VHDX images (MS-VHDX v8.0): dynamic and fixed, not differencing.  Most
 * callers go through disk.h; these are the format's own entry points.
 *
 * Crash consistency: we do not journal, so the log GUID stays zero.  A new
 * payload block is written before the BAT entry that points to it, and a
 * header with fresh write GUIDs is made durable before the first change of
 * a session.  A block's file space is reused only after a flush has made
 * the BAT entry that released it durable.  An image whose log needs
 * replaying is refused.
 */

#include <stdint.h>

#include "disk.h"

/* Does fd hold a VHDX file (its file type identifier)? 1 yes, 0 no, <0 error. */
int vhdx_probe(int fd);

int vhdx_create(int fd, const char *name, const struct disk_create_opts *opts,
		struct disk **out, char err[DISK_ERROR_MAX]);
int vhdx_open(int fd, const char *name, int flags, struct disk **out,
	      char err[DISK_ERROR_MAX]);

struct vhdx_info {
	uint32_t block_size;
	uint64_t data_blocks;		/* payload blocks of the virtual disk */
	uint64_t present_blocks;	/* of those, backed by file space */
	int leave_blocks_allocated;	/* a fixed disk */
	uint64_t file_end;		/* where the next block would go */
};

int vhdx_get_info(struct disk *d, struct vhdx_info *info);

/*
 * Validates an image: file identifier, both headers (signature, CRC-32C,
 * sequence numbers, log), both region tables, the metadata and every BAT
 * entry (state, alignment, inside the file, no two blocks sharing space).
 * Each problem found is passed to report; returns how many were found, or
 * a negative errno when the file could not be read.
 */
int vhdx_check(int fd, const char *name,
	       void (*report)(void *ctx, const char *problem), void *ctx);

#endif
