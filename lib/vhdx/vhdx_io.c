// SPDX-License-Identifier: MIT
/*
 * Reading and writing the virtual disk of a VHDX, block by block through
 * the BAT: allocate on first write, give space back on discard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhdx.h"
#include "vhdx_internal.h"

static struct vhdx *to_vhdx(struct disk *d)
{
	return (struct vhdx *)d;
}

static int buffer_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

static int offsets_push(struct vhdx_offsets *list, uint64_t offset)
{
	if (list->count == list->capacity) {
		size_t cap = list->capacity ? 2 * list->capacity : 64;
		uint64_t *n = realloc(list->offset, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		list->offset = n;
		list->capacity = cap;
	}
	list->offset[list->count++] = offset;
	return 0;
}

/*
 * Before the first change of a session, a header with new write GUIDs is
 * made durable, so readers can tell the file changed (MS-VHDX 2.2.2.1).
 */
static int vhdx_begin_change(struct vhdx *v)
{
	int ret;

	if (v->write_guids_fresh)
		return 0;
	vhdx_guid_next(&v->guids, v->header + VHDX_HDR_FILE_WRITE_GUID);
	vhdx_guid_next(&v->guids, v->header + VHDX_HDR_DATA_WRITE_GUID);
	ret = vhdx_write_header(v);
	if (!ret && fdatasync(v->disk.fd))
		ret = -errno;
	if (ret) {
		disk_set_error(v->disk.error, "updating the header of %s: %s", v->disk.name,
			       strerror(-ret));
		return ret;
	}
	v->write_guids_fresh = 1;
	return 0;
}

static int vhdx_set_bat_entry(struct vhdx *v, uint64_t index, uint64_t entry)
{
	uint8_t le[8];
	int ret;

	put_le64(le, entry);
	ret = disk_pwrite_full(v->disk.fd, le, 8, v->bat_offset + index * 8);
	if (ret) {
		disk_set_error(v->disk.error, "writing BAT entry %llu of %s: %s",
			       (unsigned long long)index, v->disk.name, strerror(-ret));
		return ret;
	}
	v->bat[index] = entry;
	return 0;
}

/* A file offset for a new block: a released one a flush made safe, or the end. */
static int vhdx_allocate_block(struct vhdx *v, uint64_t *offset)
{
	if (v->reusable.count) {
		*offset = v->reusable.offset[--v->reusable.count];
		return 0;
	}
	*offset = v->file_end;
	if (ftruncate(v->disk.fd, v->file_end + v->block_size)) {
		int e = errno;

		disk_set_error(v->disk.error, "growing %s to %llu bytes: %s", v->disk.name,
			       (unsigned long long)(v->file_end + v->block_size), strerror(e));
		return -e;
	}
	v->file_end += v->block_size;
	return 0;
}

static int vhdx_read(struct disk *d, void *buf, size_t len, uint64_t offset)
{
	struct vhdx *v = to_vhdx(d);
	char *p = buf;

	while (len) {
		uint64_t block = offset / v->block_size;
		uint32_t in_block = offset % v->block_size;
		size_t n = v->block_size - in_block < len ? v->block_size - in_block : len;
		uint64_t entry = v->bat[vhdx_bat_index(v, block)];
		int ret;

		if (vhdx_state_reads_zero(entry)) {
			memset(p, 0, n);
		} else {
			ret = disk_pread_full(d->fd, p, n, (entry & VHDX_BAT_OFFSET_MASK) + in_block);
			if (ret) {
				disk_set_error(d->error, "reading block %llu of %s: %s",
					       (unsigned long long)block, d->name,
					       ret == -ENODATA ? "the file ends inside it"
							       : strerror(-ret));
				return ret == -ENODATA ? -EIO : ret;
			}
		}
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

static int punch_hole(struct vhdx *v, uint64_t at, uint64_t len)
{
	if (!fallocate(v->disk.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, len))
		return 0;
	return -errno;
}

/* Zeros part of a present block: a hole where the host allows, else written zeros. */
static int zero_in_block(struct vhdx *v, uint64_t at, uint64_t len)
{
	static const char zeros[65536];
	int ret = len ? punch_hole(v, at, len) : 0;

	if (ret != -EOPNOTSUPP)
		return ret;
	for (ret = 0; !ret && len;) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		ret = disk_pwrite_full(v->disk.fd, zeros, n, at);
		at += n;
		len -= n;
	}
	return ret;
}

static int vhdx_write(struct disk *d, const void *buf, size_t len, uint64_t offset)
{
	struct vhdx *v = to_vhdx(d);
	const char *p = buf;
	int ret = vhdx_begin_change(v);

	while (!ret && len) {
		uint64_t block = offset / v->block_size;
		uint32_t in_block = offset % v->block_size;
		size_t n = v->block_size - in_block < len ? v->block_size - in_block : len;
		uint64_t index = vhdx_bat_index(v, block);
		uint64_t entry = v->bat[index], at;

		if (!vhdx_state_reads_zero(entry)) {
			at = entry & VHDX_BAT_OFFSET_MASK;
			ret = disk_pwrite_full(d->fd, p, n, at + in_block);
		} else if (buffer_is_zero(p, n)) {
			ret = 0;	/* zeros over a block that reads as zeros */
		} else if ((entry & VHDX_BAT_OFFSET_MASK) &&
			   (entry & VHDX_BAT_OFFSET_MASK) + v->block_size <= v->file_end) {
			/*
			 * A zero block that keeps its space (fixed disks): its bytes
			 * are undefined, so zero what this write does not cover.
			 */
			at = entry & VHDX_BAT_OFFSET_MASK;
			ret = zero_in_block(v, at, in_block);
			if (!ret)
				ret = zero_in_block(v, at + in_block + n, v->block_size - in_block - n);
			if (!ret)
				ret = disk_pwrite_full(d->fd, p, n, at + in_block);
			if (!ret) {
				ret = vhdx_set_bat_entry(v, index, at | VHDX_BAT_FULLY_PRESENT);
				if (ret)
					return ret;
			}
		} else {
			/* Data first, then the BAT entry that makes it visible. */
			ret = vhdx_allocate_block(v, &at);
			if (ret)
				return ret;
			ret = disk_pwrite_full(d->fd, p, n, at + in_block);
			/* On failure no BAT entry points at the new space: harmless. */
			if (!ret) {
				ret = vhdx_set_bat_entry(v, index, at | VHDX_BAT_FULLY_PRESENT);
				if (ret)
					return ret;
			}
		}
		if (ret) {
			disk_set_error(d->error, "writing block %llu of %s: %s",
				       (unsigned long long)block, d->name, strerror(-ret));
			return ret;
		}
		p += n;
		offset += n;
		len -= n;
	}
	return ret;
}

static int vhdx_discard(struct disk *d, uint64_t offset, uint64_t len)
{
	struct vhdx *v = to_vhdx(d);
	int ret = len ? vhdx_begin_change(v) : 0;

	while (!ret && len) {
		uint64_t block = offset / v->block_size;
		uint32_t in_block = offset % v->block_size;
		uint64_t n = v->block_size - in_block < len ? v->block_size - in_block : len;
		uint64_t index = vhdx_bat_index(v, block);
		uint64_t entry = v->bat[index], at = entry & VHDX_BAT_OFFSET_MASK;
		int whole = n == v->block_size || (in_block == 0 && offset + n == d->size);

		if (vhdx_state_reads_zero(entry)) {
			/* Nothing stored: already reads as zeros. */
		} else if (!whole || v->leave_blocks_allocated) {
			ret = zero_in_block(v, at + in_block, n);
		} else {
			/* The BAT stops pointing at the block before its space goes. */
			ret = vhdx_set_bat_entry(v, index, VHDX_BAT_UNMAPPED);
			if (!ret && !punch_hole(v, at, v->block_size))
				ret = offsets_push(&v->released, at);
		}
		if (ret) {
			if (ret != -ENOMEM || !d->error[0])
				disk_set_error(d->error, "discarding in block %llu of %s: %s",
					       (unsigned long long)block, d->name, strerror(-ret));
			return ret;
		}
		offset += n;
		len -= n;
	}
	return ret;
}

/*
 * Released blocks at the end of the file are cut off, so the file's size
 * shrinks too.  Only after a flush: a BAT entry still pointing there would
 * otherwise point past the end after a crash.
 */
static int vhdx_shrink_file(struct vhdx *v)
{
	uint64_t end = v->file_end;
	size_t i = 0;

	while (i < v->reusable.count) {
		if (v->reusable.offset[i] + v->block_size == end) {
			end -= v->block_size;
			v->reusable.offset[i] = v->reusable.offset[--v->reusable.count];
			i = 0;	/* the block before may be released too */
		} else {
			i++;
		}
	}
	if (end == v->file_end)
		return 0;
	if (ftruncate(v->disk.fd, end)) {
		int e = errno;

		disk_set_error(v->disk.error, "shrinking %s to %llu bytes: %s", v->disk.name,
			       (unsigned long long)end, strerror(e));
		return -e;
	}
	v->file_end = end;
	return 0;
}

static int vhdx_flush(struct disk *d)
{
	struct vhdx *v = to_vhdx(d);

	if (fdatasync(d->fd)) {
		int e = errno;

		disk_set_error(d->error, "flushing %s: %s", d->name, strerror(e));
		return -e;
	}
	/* The BAT entries that released these blocks are durable now. */
	while (v->released.count) {
		int ret = offsets_push(&v->reusable, v->released.offset[--v->released.count]);

		if (ret) {
			disk_set_error(d->error, "flushing %s: out of memory", d->name);
			return ret;
		}
	}
	return vhdx_shrink_file(v);
}

static void vhdx_destroy(struct disk *d)
{
	vhdx_free(to_vhdx(d));
}

const struct disk_ops vhdx_ops = {
	.format = "vhdx",
	.read = vhdx_read,
	.write = vhdx_write,
	.flush = vhdx_flush,
	.discard = vhdx_discard,
	.destroy = vhdx_destroy,
};

int vhdx_get_info(struct disk *d, struct vhdx_info *info)
{
	struct vhdx *v = to_vhdx(d);

	if (d->ops != &vhdx_ops)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->block_size = v->block_size;
	info->data_blocks = v->data_blocks;
	for (uint64_t b = 0; b < v->data_blocks; b++)
		info->present_blocks += !vhdx_state_reads_zero(v->bat[vhdx_bat_index(v, b)]);
	info->leave_blocks_allocated = v->leave_blocks_allocated;
	info->file_end = v->file_end;
	return 0;
}
