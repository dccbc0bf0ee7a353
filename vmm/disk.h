/* SPDX-License-Identifier: MIT */
/*
 * Disk image backends behind virtio-blk: a small vtable, so the device
 * never knows how an image stores its blocks.
 */
#ifndef WSLVM_DISK_H
#define WSLVM_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct disk;

struct disk_ops {
	const char *format;
	/* Each returns 0 or a negative errno; transfers are all or nothing. */
	int (*read)(struct disk *d, const struct iovec *iov, unsigned int n, uint64_t offset);
	int (*write)(struct disk *d, const struct iovec *iov, unsigned int n, uint64_t offset);
	int (*flush)(struct disk *d);
	/* Gives the range's storage back to the host; it then reads as zeroes. */
	int (*discard)(struct disk *d, uint64_t offset, uint64_t len);
	/* Zeroes the range, freeing its storage when unmap allows. */
	int (*write_zeroes)(struct disk *d, uint64_t offset, uint64_t len, bool unmap);
	void (*close)(struct disk *d);
};

struct disk {
	const struct disk_ops *ops;
	const char *path;
	uint64_t size;		/* bytes the guest sees */
	bool read_only;
	int fd;
};

/* Opens an image, choosing the backend from its contents; dies on failure. */
struct disk *disk_open(const char *path, bool read_only);

/* The raw-file backend (disk_raw.c). */
struct disk *disk_raw_open(const char *path, int fd, bool read_only);

#endif
