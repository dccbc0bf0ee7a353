// SPDX-License-Identifier: MIT
/* The format-independent face of a disk image: dispatch and shared helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "vhdx.h"

void disk_set_error(char err[DISK_ERROR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, DISK_ERROR_MAX, fmt, ap);
	va_end(ap);
}

int disk_pread_full(int fd, void *buf, size_t len, uint64_t offset)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;	/* past the end of the file */
		p += n;
		len -= n;
		offset += n;
	}
	return 0;
}

int disk_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
		offset += n;
	}
	return 0;
}

size_t disk_iov_length(const struct iovec *iov, int n)
{
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

/* Drops the first done bytes of [*iov, *iov + *n). */
static void iov_advance(struct iovec **iov, int *n, size_t done)
{
	while (*n && done >= (*iov)->iov_len) {
		done -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + done;
		(*iov)->iov_len -= done;
	}
}

int disk_preadv_full(int fd, struct iovec *iov, int n, uint64_t offset)
{
	while (n) {
		ssize_t got = preadv(fd, iov, n, offset);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0) {
			/* The file ends before the disk does: the rest is zeros. */
			for (; n; iov++, n--)
				memset(iov->iov_base, 0, iov->iov_len);
			break;
		}
		offset += got;
		iov_advance(&iov, &n, got);
	}
	return 0;
}

int disk_pwritev_full(int fd, struct iovec *iov, int n, uint64_t offset)
{
	while (n) {
		ssize_t put = pwritev(fd, iov, n, offset);

		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return -errno;
		offset += put;
		iov_advance(&iov, &n, put);
	}
	return 0;
}

int disk_range_check(struct disk *d, const char *what, int modifies, size_t len, uint64_t offset)
{
	if (offset > d->size || len > d->size - offset) {
		disk_set_error(d->error, "%s %s: %zu bytes at offset %llu: past the end of the %llu-byte disk",
			       what, d->name, len, (unsigned long long)offset,
			       (unsigned long long)d->size);
		return -EINVAL;
	}
	if (d->read_only && modifies) {
		disk_set_error(d->error, "%s %s: the disk is open read-only", what, d->name);
		return -EROFS;
	}
	return 0;
}

int disk_create(int fd, const char *name, const struct disk_create_opts *opts,
		struct disk **out, char err[DISK_ERROR_MAX])
{
	if (opts->format == DISK_FORMAT_RAW)
		return raw_create(fd, name, opts, out, err);
	return vhdx_create(fd, name, opts, out, err);
}

int disk_open_fd(int fd, const char *name, int flags, struct disk **out,
		 char err[DISK_ERROR_MAX])
{
	int is_vhdx = vhdx_probe(fd);

	if (is_vhdx < 0) {
		disk_set_error(err, "opening %s: reading its first bytes: %s", name,
			       strerror(-is_vhdx));
		close(fd);
		return is_vhdx;
	}
	if (is_vhdx)
		return vhdx_open(fd, name, flags, out, err);
	return raw_open(fd, name, flags, out, err);
}

int disk_open(const char *path, int flags, struct disk **out, char err[DISK_ERROR_MAX])
{
	int fd = open(path, ((flags & DISK_OPEN_READ_ONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		disk_set_error(err, "opening %s: %s", path, strerror(e));
		return -e;
	}
	return disk_open_fd(fd, path, flags, out, err);
}

int disk_read(struct disk *d, void *buf, size_t len, uint64_t offset)
{
	int ret = disk_range_check(d, "reading", 0, len, offset);

	return ret ? ret : d->ops->read(d, buf, len, offset);
}

int disk_write(struct disk *d, const void *buf, size_t len, uint64_t offset)
{
	int ret = disk_range_check(d, "writing", 1, len, offset);

	return ret ? ret : d->ops->write(d, buf, len, offset);
}

static void *disk_bounce(struct disk *d, size_t len)
{
	if (len > d->bounce_size) {
		void *p = realloc(d->bounce, len);

		if (!p) {
			disk_set_error(d->error, "%s: no memory for a %zu-byte transfer",
				       d->name, len);
			return NULL;
		}
		d->bounce = p;
		d->bounce_size = len;
	}
	return d->bounce;
}

int disk_readv(struct disk *d, struct iovec *iov, int n, uint64_t offset)
{
	size_t len = disk_iov_length(iov, n), done = 0;
	int ret = disk_range_check(d, "reading", 0, len, offset);
	char *buf;
	int i;

	if (ret || d->ops->readv)
		return ret ? ret : d->ops->readv(d, iov, n, offset);
	if (n == 1)
		return d->ops->read(d, iov[0].iov_base, len, offset);
	buf = disk_bounce(d, len);
	if (!buf)
		return -ENOMEM;
	ret = d->ops->read(d, buf, len, offset);
	for (i = 0; !ret && i < n; done += iov[i].iov_len, i++)
		memcpy(iov[i].iov_base, buf + done, iov[i].iov_len);
	return ret;
}

int disk_writev(struct disk *d, struct iovec *iov, int n, uint64_t offset)
{
	size_t len = disk_iov_length(iov, n), done = 0;
	int ret = disk_range_check(d, "writing", 1, len, offset);
	char *buf;
	int i;

	if (ret || d->ops->writev)
		return ret ? ret : d->ops->writev(d, iov, n, offset);
	if (n == 1)
		return d->ops->write(d, iov[0].iov_base, len, offset);
	buf = disk_bounce(d, len);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; done += iov[i].iov_len, i++)
		memcpy(buf + done, iov[i].iov_base, iov[i].iov_len);
	return d->ops->write(d, buf, len, offset);
}

int disk_flush(struct disk *d)
{
	return d->read_only ? 0 : d->ops->flush(d);
}

int disk_discard(struct disk *d, uint64_t offset, uint64_t len)
{
	int ret = disk_range_check(d, "discarding", 1, len, offset);

	return ret ? ret : d->ops->discard(d, offset, len);
}

int disk_close(struct disk *d, char err[DISK_ERROR_MAX])
{
	int ret = disk_flush(d);

	if (ret && err)
		memcpy(err, d->error, DISK_ERROR_MAX);
	if (close(d->fd) && !ret) {
		ret = -errno;
		if (err)
			disk_set_error(err, "closing %s: %s", d->name, strerror(-ret));
	}
	free(d->name);
	free(d->bounce);
	d->ops->destroy(d);
	return ret;
}
