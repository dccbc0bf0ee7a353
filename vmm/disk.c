// SPDX-License-Identifier: MIT
/* Opening a disk image: the backend is chosen by what the file holds. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "vmm.h"

#define VHDX_SIGNATURE "vhdxfile"

struct disk *disk_open(const char *path, bool read_only)
{
	char magic[8];
	ssize_t n;
	int fd;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		die_errno("opening the disk image %s%s", path, read_only ? " read-only" : "");
	n = pread(fd, magic, sizeof(magic), 0);
	if (n < 0)
		die_errno("reading the disk image %s", path);
	if (n == sizeof(magic) && !memcmp(magic, VHDX_SIGNATURE, sizeof(magic)))
		die("%s: a VHDX image; this wslvm reads raw images only so far", path);
	return disk_raw_open(path, fd, read_only);
}
