// SPDX-License-Identifier: MIT
/*
 * An ext2fs io_manager on top of a disk image: every block libext2fs reads
 * or writes goes through the VHDX (or raw) library.  One disk at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	if (err > 0 && err < 4096 && disk_message[0])
		return disk_message;
	return error_message(err);
}

static errcode_t dio_open(const char *name, int flags, io_channel *channel)
{
	io_channel io;

	if (!attached)
		return EXT2_ET_BAD_DEVICE_NAME;
	io = calloc(1, sizeof(*io));
	if (!io)
		return EXT2_ET_NO_MEMORY;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = disk_io_manager;
	io->name = strdup(name);
	io->block_size = 1024;
	io->refcount = 1;
	/* Blocks never written read back as zeros: mke2fs-style tools may rely on it. */
	io->flags = CHANNEL_FLAGS_DISCARD_ZEROES;
	io->private_data = attached;
	if (!io->name) {
		free(io);
		return EXT2_ET_NO_MEMORY;
	}
	*channel = io;
	return 0;
}

static errcode_t dio_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->name);
	free(io);
	return 0;
}

static errcode_t dio_set_blksize(io_channel io, int blksize)
{
	io->block_size = blksize;
	return 0;
}

/* count > 0: blocks; count < 0: bytes (libext2fs's convention). */
static size_t io_bytes(io_channel io, int count)
{
	return count < 0 ? (size_t)-count : (size_t)count * io->block_size;
}

static errcode_t dio_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	struct disk *d = io->private_data;
	int ret = disk_read(d, data, io_bytes(io, count), block * io->block_size);

	return ret ? disk_failed(d, ret) : 0;
}

static errcode_t dio_write_blk64(io_channel io, unsigned long long block, int count,
				 const void *data)
{
	struct disk *d = io->private_data;
	int ret = disk_write(d, data, io_bytes(io, count), block * io->block_size);

	return ret ? disk_failed(d, ret) : 0;
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
	struct disk *d = io->private_data;
	int ret = disk_write(d, data, size, offset);

	return ret ? disk_failed(d, ret) : 0;
}

static errcode_t dio_flush(io_channel io)
{
	struct disk *d = io->private_data;
	int ret = disk_flush(d);

	return ret ? disk_failed(d, ret) : 0;
}

static errcode_t dio_discard(io_channel io, unsigned long long block, unsigned long long count)
{
	struct disk *d = io->private_data;
	int ret = disk_discard(d, block * io->block_size, count * io->block_size);

	return ret ? disk_failed(d, ret) : 0;
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
