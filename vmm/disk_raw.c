// SPDX-License-Identifier: MIT
/*
 * Raw disk images: the file is the disk, byte for byte.  Discard punches
 * holes, so the host file's allocated size shrinks with the guest's fstrim.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "virtq.h"
#include "vmm.h"

/* preadv/pwritev until done: the device needs whole transfers. */
static int raw_transfer(struct disk *d, const struct iovec *iov, unsigned int n,
			uint64_t offset, bool write)
{
	struct iovec local[VIRTQ_MAX_SIZE];
	unsigned int i, cnt;

	if (n > sizeof(local) / sizeof(local[0]))
		return -EINVAL;
	memcpy(local, iov, n * sizeof(*iov));
	i = 0;
	cnt = n;
	while (i < cnt) {
		ssize_t done = write ? pwritev(d->fd, local + i, cnt - i, offset)
				     : preadv(d->fd, local + i, cnt - i, offset);

		if (done < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (done == 0) {
			if (write)
				return -EIO;
			/* Past the end of a short file: the rest reads as zeroes. */
			for (; i < cnt; i++)
				memset(local[i].iov_base, 0, local[i].iov_len);
			return 0;
		}
		offset += done;
		while (done > 0 && i < cnt) {
			if ((size_t)done >= local[i].iov_len) {
				done -= local[i].iov_len;
				i++;
			} else {
				local[i].iov_base = (uint8_t *)local[i].iov_base + done;
				local[i].iov_len -= done;
				done = 0;
			}
		}
	}
	return 0;
}

static int raw_read(struct disk *d, const struct iovec *iov, unsigned int n, uint64_t offset)
{
	return raw_transfer(d, iov, n, offset, false);
}

static int raw_write(struct disk *d, const struct iovec *iov, unsigned int n, uint64_t offset)
{
	return raw_transfer(d, iov, n, offset, true);
}

static int raw_flush(struct disk *d)
{
	return fdatasync(d->fd) < 0 ? -errno : 0;
}

static int raw_discard(struct disk *d, uint64_t offset, uint64_t len)
{
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) < 0)
		return -errno;
	return 0;
}

static int raw_write_zeroes(struct disk *d, uint64_t offset, uint64_t len, bool unmap)
{
	static const uint8_t zeroes[64 * 1024];
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			 : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (fallocate(d->fd, mode, offset, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	/* The file system cannot do it in place: write the zeroes. */
	while (len) {
		size_t chunk = len < sizeof(zeroes) ? len : sizeof(zeroes);
		ssize_t n = pwrite(d->fd, zeroes, chunk, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		offset += n;
		len -= n;
	}
	return 0;
}

static void raw_close(struct disk *d)
{
	close(d->fd);
	free(d);
}

static const struct disk_ops raw_ops = {
	.format = "raw",
	.read = raw_read,
	.write = raw_write,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
};

struct disk *disk_raw_open(const char *path, int fd, bool read_only)
{
	struct disk *d = xcalloc(1, sizeof(*d));
	struct stat st;

	if (fstat(fd, &st) < 0)
		die_errno("reading the size of the disk image %s", path);
	d->ops = &raw_ops;
	d->path = path;
	d->fd = fd;
	d->read_only = read_only;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		if (end < 0)
			die_errno("reading the size of the block device %s", path);
		d->size = end;
	} else {
		d->size = st.st_size;
	}
	return d;
}
