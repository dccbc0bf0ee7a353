// SPDX-License-Identifier: MIT
/*
 * An ext2fs io_manager on top of a disk image: every block libext2fs reads
 * or writes goes through a block cache (disk_cache.c) to the VHDX (or raw)
 * library.  One disk at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "disk_cache.h"
#include "disk_fs.h"
#include "mkwslimage.h"

static struct disk *attached;
static char disk_message[DISK_ERROR_MAX];

void disk_io_attach(struct disk *d)
{
	attached = d;
}

/* The disk library's message for the last failure, kept for disk_fs_strerror(). */
static errcode_t disk_failed(struct disk *d, int ret)
{
	memcpy(disk_message, disk_error(d), DISK_ERROR_MAX);
	return -ret;
}

const char *disk_fs_strerror(errcode_t err)
{
	static pthread_once_t tables_loaded = PTHREAD_ONCE_INIT;

	if (err > 0 && err < 4096 && disk_message[0])
		return disk_message;
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL || err == EXT2_ET_INODE_ALLOC_FAIL)
		return "the filesystem is full (a larger --size would hold this tarball)";
	/* libext2fs's own messages, for error_message(). */
	pthread_once(&tables_loaded, initialize_ext2_error_table);
	return error_message(err);
}

/* What a channel holds: the disk, and the block cache in front of it. */
struct dio {
	struct disk *disk;
	struct block_cache *cache;
	uint64_t unsent;	/* bytes written since writeback was last started */
};

#define DIO_WRITEBACK_STEP	(8U << 20)

/*
 * Every DIO_WRITEBACK_STEP bytes written, starts the kernel writing the
 * image out, and drops the pages it has already written from the page
 * cache.  The image is not read back (the block cache holds what libext2fs
 * rereads), so keeping those pages buys nothing: the page cache stays a few
 * MiB instead of the whole image, its pages are reused instead of fresh
 * ones (costly to touch first in a VM), and the final flush finds little
 * left to write.  Both calls are hints; failing, they change nothing.
 */
static void dio_start_writeback(struct dio *dio, uint64_t len)
{
	dio->unsent += len;
	if (dio->unsent < DIO_WRITEBACK_STEP)
		return;
	dio->unsent = 0;
	sync_file_range(dio->disk->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	posix_fadvise(dio->disk->fd, 0, 0, POSIX_FADV_DONTNEED);
}

static errcode_t dio_open(const char *name, int flags, io_channel *channel)
{
	struct dio *dio;
	io_channel io;

	if (!attached)
		return EXT2_ET_BAD_DEVICE_NAME;
	io = calloc(1, sizeof(*io));
	dio = calloc(1, sizeof(*dio));
	if (!io || !dio || !(io->name = strdup(name))) {
		free(io);
		free(dio);
		return EXT2_ET_NO_MEMORY;
	}
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = disk_io_manager;
	io->block_size = 1024;
	io->refcount = 1;
	/* Blocks never written read back as zeros: mke2fs-style tools may rely on it. */
	io->flags = CHANNEL_FLAGS_DISCARD_ZEROES;
	dio->disk = attached;
	io->private_data = dio;
	*channel = io;
	return 0;
}

/* The cache for the channel's current block size, writing back an older one. */
static errcode_t dio_cache(io_channel io, struct block_cache **out)
{
	struct dio *dio = io->private_data;
	int ret;

	if (dio->cache && cache_block_size(dio->cache) != (uint32_t)io->block_size) {
		ret = cache_write_back(dio->cache);
		if (ret)
			return disk_failed(dio->disk, ret);
		cache_free(dio->cache);
		dio->cache = NULL;
	}
	if (!dio->cache)
		dio->cache = cache_new(dio->disk, io->block_size, DISK_CACHE_BLOCKS);
	if (!dio->cache)
		return EXT2_ET_NO_MEMORY;
	*out = dio->cache;
	return 0;
}

static errcode_t dio_close(io_channel io)
{
	struct dio *dio = io->private_data;
	int ret = 0;

	if (--io->refcount > 0)
		return 0;
	if (dio->cache)
		ret = cache_write_back(dio->cache);
	cache_free(dio->cache);
	free(io->name);
	free(io);
	free(dio);
	return ret ? -ret : 0;
}

static errcode_t dio_set_blksize(io_channel io, int blksize)
{
	io->block_size = blksize;
	return 0;
}

/* Byte-addressed I/O passes the cache, after the blocks it overlaps are written back. */
static errcode_t dio_bytes(io_channel io, uint64_t offset, size_t len, void *rbuf,
			   const void *wbuf)
{
	struct dio *dio = io->private_data;
	struct block_cache *c;
	errcode_t err = dio_cache(io, &c);
	int ret;

	if (err)
		return err;
	ret = cache_drop_range(c, offset, len, 1);
	if (!ret)
		ret = rbuf ? disk_read(dio->disk, rbuf, len, offset)
			   : disk_write(dio->disk, wbuf, len, offset);
	return ret ? disk_failed(dio->disk, ret) : 0;
}

/* count > 0: blocks; count < 0: bytes (libext2fs's convention). */
static errcode_t dio_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	struct dio *dio = io->private_data;
	struct block_cache *c;
	errcode_t err;
	int ret;

	if (count < 0)
		return dio_bytes(io, block * io->block_size, -count, data, NULL);
	err = dio_cache(io, &c);
	if (err)
		return err;
	ret = cache_read(c, block, count, data);
	return ret ? disk_failed(dio->disk, ret) : 0;
}

static errcode_t dio_write_blk64(io_channel io, unsigned long long block, int count,
				 const void *data)
{
	struct dio *dio = io->private_data;
	struct block_cache *c;
	errcode_t err;
	int ret;

	if (count < 0)
		return dio_bytes(io, block * io->block_size, -count, NULL, data);
	err = dio_cache(io, &c);
	if (err)
		return err;
	ret = cache_write(c, block, count, data);
	if (ret)
		return disk_failed(dio->disk, ret);
	dio_start_writeback(dio, (uint64_t)count * io->block_size);
	return 0;
}

static errcode_t dio_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return dio_read_blk64(io, block, count, data);
}

static errcode_t dio_write_blk(io_channel io, unsigned long block, int count, const void *data)
{
	return dio_write_blk64(io, block, count, data);
}

static errcode_t dio_write_byte(io_channel io, unsigned long offset, int size, const void *data)
{
	return dio_bytes(io, offset, size, NULL, data);
}

static errcode_t dio_flush(io_channel io)
{
	struct dio *dio = io->private_data;
	int ret = dio->cache ? cache_write_back(dio->cache) : 0;

	if (!ret)
		ret = disk_flush(dio->disk);
	return ret ? disk_failed(dio->disk, ret) : 0;
}

static errcode_t dio_discard(io_channel io, unsigned long long block, unsigned long long count)
{
	struct dio *dio = io->private_data;
	uint64_t offset = block * io->block_size, len = count * io->block_size;
	int ret = dio->cache ? cache_drop_range(dio->cache, offset, len, 0) : 0;

	if (!ret)
		ret = disk_discard(dio->disk, offset, len);
	return ret ? disk_failed(dio->disk, ret) : 0;
}

static errcode_t dio_set_option(io_channel io, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager disk_io_manager_ops = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "openwsl disk image",
	.open = dio_open,
	.close = dio_close,
	.set_blksize = dio_set_blksize,
	.read_blk = dio_read_blk,
	.write_blk = dio_write_blk,
	.flush = dio_flush,
	.write_byte = dio_write_byte,
	.set_option = dio_set_option,
	.read_blk64 = dio_read_blk64,
	.write_blk64 = dio_write_blk64,
	.discard = dio_discard,
	.zeroout = dio_discard,	/* discarded ranges read back as zeros */
};

io_manager disk_io_manager = &disk_io_manager_ops;
