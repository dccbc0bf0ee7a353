/* SPDX-License-Identifier: MIT */
#ifndef DISK_H
#define DISK_H

/*
 * A virtual disk image, VHDX or raw, behind one small table of operations:
 * the builder writes a distro's filesystem through it and the VMM serves it
 * to the guest through it, without either knowing the format.
 *
 * Every function returns 0 or a negative errno; when it fails, the reason
 * (what was being done, to which file, why) is in disk_error(), or in the
 * caller's err buffer for the functions that return no disk.
 *
 * A disk is not locked: call it from one thread at a time (the VMM's one
 * I/O thread, the builder's main thread).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_ERROR_MAX		512

#define DISK_DEFAULT_SIZE	(256ULL << 30)	/* WSL 2's first release */
#define DISK_DEFAULT_BLOCK_SIZE	(1U << 20)	/* WSL's VHDX block size */
#define DISK_DEFAULT_LOGICAL_SECTOR 512
#define DISK_DEFAULT_PHYSICAL_SECTOR 4096

enum disk_format {
	DISK_FORMAT_VHDX,
	DISK_FORMAT_RAW,
};

#define DISK_OPEN_READ_ONLY	0x1

struct disk;

struct disk_ops {
	const char *format;
	int (*read)(struct disk *d, void *buf, size_t len, uint64_t offset);
	int (*write)(struct disk *d, const void *buf, size_t len, uint64_t offset);
	/*
	 * Optional: the same for a scatter-gather list in one call, which may
	 * change iov; without them disk_readv() and disk_writev() go through
	 * a bounce buffer.
	 */
	int (*readv)(struct disk *d, struct iovec *iov, int n, uint64_t offset);
	int (*writev)(struct disk *d, struct iovec *iov, int n, uint64_t offset);
	/* Makes everything written so far durable. */
	int (*flush)(struct disk *d);
	/* The range reads back as zeros; whole blocks give their space back. */
	int (*discard)(struct disk *d, uint64_t offset, uint64_t len);
	void (*destroy)(struct disk *d);
};

struct disk {
	const struct disk_ops *ops;
	int fd;
	char *name;			/* for messages */
	uint64_t size;			/* virtual size in bytes */
	uint32_t logical_sector_size;
	uint32_t physical_sector_size;
	int read_only;
	char error[DISK_ERROR_MAX];
	void *bounce;			/* disk_readv()/disk_writev() without ops */
	size_t bounce_size;
};

struct disk_create_opts {
	enum disk_format format;
	uint64_t size;			/* 0: DISK_DEFAULT_SIZE */
	uint32_t block_size;		/* VHDX; 0: DISK_DEFAULT_BLOCK_SIZE */
	uint32_t logical_sector_size;	/* 512 or 4096; 0: 512 */
	/*
	 * The image's GUIDs are derived from these bytes, so the same seed
	 * gives a byte-identical image; NULL: random GUIDs.
	 */
	const void *id_seed;
	size_t id_seed_len;
};

/* Creates an image in fd (an empty file open read-write); the disk owns fd. */
int disk_create(int fd, const char *name, const struct disk_create_opts *opts,
		struct disk **out, char err[DISK_ERROR_MAX]);
/* Opens an existing image, VHDX (by its signature) or raw; the disk owns fd. */
int disk_open_fd(int fd, const char *name, int flags, struct disk **out,
		 char err[DISK_ERROR_MAX]);
int disk_open(const char *path, int flags, struct disk **out, char err[DISK_ERROR_MAX]);

int disk_read(struct disk *d, void *buf, size_t len, uint64_t offset);
int disk_write(struct disk *d, const void *buf, size_t len, uint64_t offset);
/*
 * Vectored I/O, at most IOV_MAX segments: for a format that has the ops
 * (raw) one system call straight to or from the segments; iov may be
 * changed.
 */
int disk_readv(struct disk *d, struct iovec *iov, int n, uint64_t offset);
int disk_writev(struct disk *d, struct iovec *iov, int n, uint64_t offset);
int disk_flush(struct disk *d);
int disk_discard(struct disk *d, uint64_t offset, uint64_t len);
/* Flushes (unless read-only), closes the file and frees the disk. */
int disk_close(struct disk *d, char err[DISK_ERROR_MAX]);

static inline const char *disk_error(const struct disk *d)
{
	return d->error;
}

/* The raw format: a sparse file of the virtual size. */
int raw_create(int fd, const char *name, const struct disk_create_opts *opts,
	       struct disk **out, char err[DISK_ERROR_MAX]);
int raw_open(int fd, const char *name, int flags, struct disk **out,
	     char err[DISK_ERROR_MAX]);

/* Helpers for the formats: messages, and whole-buffer file I/O. */
void disk_set_error(char err[DISK_ERROR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int disk_pread_full(int fd, void *buf, size_t len, uint64_t offset);
int disk_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset);
/*
 * The same for segments, which they change as they go; a read past the end
 * of the file zero-fills what is left.
 */
int disk_preadv_full(int fd, struct iovec *iov, int n, uint64_t offset);
int disk_pwritev_full(int fd, struct iovec *iov, int n, uint64_t offset);
size_t disk_iov_length(const struct iovec *iov, int n);
/* Is [offset, offset+len) inside the disk, and may it change (modifies)? */
int disk_range_check(struct disk *d, const char *what, int modifies, size_t len, uint64_t offset);

#endif
