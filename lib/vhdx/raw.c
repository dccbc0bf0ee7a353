// SPDX-License-Identifier: MIT
/* Raw images: the virtual disk byte for byte, sparse where never written. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"

static int raw_read(struct disk *d, void *buf, size_t len, uint64_t offset)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(d->fd, p, len, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			disk_set_error(d->error, "reading %s at offset %llu: %s", d->name,
				       (unsigned long long)offset, strerror(e));
			return -e;
		}
		if (n == 0) {
			/* The file is shorter than the disk: the rest reads as zeros. */
			memset(p, 0, len);
			break;
		}
		p += n;
		len -= n;
		offset += n;
	}
	return 0;
}

static int raw_write(struct disk *d, const void *buf, size_t len, uint64_t offset)
{
	int ret = disk_pwrite_full(d->fd, buf, len, offset);

	if (ret)
		disk_set_error(d->error, "writing %s at offset %llu: %s", d->name,
			       (unsigned long long)offset, strerror(-ret));
	return ret;
}

static int raw_readv(struct disk *d, struct iovec *iov, int n, uint64_t offset)
{
	int ret = disk_preadv_full(d->fd, iov, n, offset);

	if (ret)
		disk_set_error(d->error, "reading %s at offset %llu: %s", d->name,
			       (unsigned long long)offset, strerror(-ret));
	return ret;
}

static int raw_writev(struct disk *d, struct iovec *iov, int n, uint64_t offset)
{
	int ret = disk_pwritev_full(d->fd, iov, n, offset);

	if (ret)
		disk_set_error(d->error, "writing %s at offset %llu: %s", d->name,
			       (unsigned long long)offset, strerror(-ret));
	return ret;
}

static int raw_flush(struct disk *d)
{
	if (fdatasync(d->fd)) {
		int e = errno;

		disk_set_error(d->error, "flushing %s: %s", d->name, strerror(e));
		return -e;
	}
	return 0;
}

static int raw_discard(struct disk *d, uint64_t offset, uint64_t len)
{
	static const char zeros[65536];

	if (!len)
		return 0;
	if (!fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len))
		return 0;
	if (errno != EOPNOTSUPP) {
		int e = errno;

		disk_set_error(d->error, "discarding %llu bytes of %s at offset %llu: %s",
			       (unsigned long long)len, d->name,
			       (unsigned long long)offset, strerror(e));
		return -e;
	}
	/* The host file system cannot punch holes: zeros still read back as zeros. */
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int ret = raw_write(d, zeros, n, offset);

		if (ret)
			return ret;
		offset += n;
		len -= n;
	}
	return 0;
}

static void raw_destroy(struct disk *d)
{
	free(d);
}

static const struct disk_ops raw_ops = {
	.format = "raw",
	.read = raw_read,
	.write = raw_write,
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.destroy = raw_destroy,
};

static int raw_new(int fd, const char *name, uint64_t size, uint32_t sector_size,
		   int read_only, struct disk **out, char err[DISK_ERROR_MAX])
{
	struct disk *d = calloc(1, sizeof(*d));

	if (!d || !(d->name = strdup(name))) {
		free(d);
		disk_set_error(err, "opening %s: out of memory", name);
		close(fd);
		return -ENOMEM;
	}
	d->ops = &raw_ops;
	d->fd = fd;
	d->size = size;
	d->logical_sector_size = sector_size;
	d->physical_sector_size = DISK_DEFAULT_PHYSICAL_SECTOR;
	d->read_only = read_only;
	*out = d;
	return 0;
}

int raw_create(int fd, const char *name, const struct disk_create_opts *opts,
	       struct disk **out, char err[DISK_ERROR_MAX])
{
	uint64_t size = opts->size ? opts->size : DISK_DEFAULT_SIZE;
	uint32_t sector = opts->logical_sector_size ? opts->logical_sector_size
						    : DISK_DEFAULT_LOGICAL_SECTOR;

	if (sector != 512 && sector != 4096) {
		disk_set_error(err, "creating %s: logical sector size %u: must be 512 or 4096",
			       name, sector);
		close(fd);
		return -EINVAL;
	}
	if (!size || size % sector) {
		disk_set_error(err, "creating %s: size %llu: must be a non-zero multiple of %u",
			       name, (unsigned long long)size, sector);
		close(fd);
		return -EINVAL;
	}
	if (ftruncate(fd, size)) {
		int e = errno;

		disk_set_error(err, "creating %s: setting its size to %llu bytes: %s", name,
			       (unsigned long long)size, strerror(e));
		close(fd);
		return -e;
	}
	return raw_new(fd, name, size, sector, 0, out, err);
}

int raw_open(int fd, const char *name, int flags, struct disk **out,
	     char err[DISK_ERROR_MAX])
{
	struct stat st;

	if (fstat(fd, &st)) {
		int e = errno;

		disk_set_error(err, "opening %s: %s", name, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		disk_set_error(err, "opening %s: not a regular file", name);
		close(fd);
		return -EINVAL;
	}
	return raw_new(fd, name, st.st_size, DISK_DEFAULT_LOGICAL_SECTOR,
		       !!(flags & DISK_OPEN_READ_ONLY), out, err);
}
