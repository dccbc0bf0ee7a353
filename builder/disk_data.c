// SPDX-License-Identifier: MIT
/*
 * A regular file's data from the tarball into its blocks, the fast way:
 * the blocks are allocated at once (ext2fs_fallocate, contiguous where
 * the filesystem allows), and the data goes to them in runs of up to
 * DATA_CHUNK bytes, instead of block by block through ext2fs_file_write.
 * Sparse entries keep their holes: they take the ext2fs_file path.
 */
#include <stdlib.h>
#include <string.h>

#include <archive_entry.h>

#include "disk_fs.h"

#define DATA_CHUNK	(1U << 20)

struct extent_map {
	struct ext2fs_extent *extent;
	size_t count, capacity;
};

/* Every leaf extent of the file, in logical order. */
static errcode_t map_extents(ext2_filsys fs, ext2_ino_t ino, struct extent_map *m)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	errcode_t err = ext2fs_extent_open(fs, ino, &h);

	if (err)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext);
	while (!err) {
		if ((ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) &&
		    !(ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)) {
			if (m->count == m->capacity) {
				size_t cap = m->capacity ? 2 * m->capacity : 8;
				struct ext2fs_extent *n = realloc(m->extent, cap * sizeof(*n));

				if (!n) {
					err = EXT2_ET_NO_MEMORY;
					break;
				}
				m->extent = n;
				m->capacity = cap;
			}
			m->extent[m->count++] = ext;
		}
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ext);
	}
	ext2fs_extent_free(h);
	return err == EXT2_ET_EXTENT_NO_NEXT ? 0 : err;
}

/* Writes count blocks from logical block lblk on, following the extents. */
static errcode_t write_blocks(ext2_filsys fs, const struct extent_map *m, blk64_t lblk,
			      blk64_t count, const uint8_t *data)
{
	size_t i = 0;

	while (count) {
		const struct ext2fs_extent *x;
		blk64_t in, n;
		errcode_t err;

		while (i < m->count && m->extent[i].e_lblk + m->extent[i].e_len <= lblk)
			i++;
		if (i == m->count || m->extent[i].e_lblk > lblk)
			return EXT2_ET_BLOCK_ALLOC_FAIL;	/* fallocate left a gap */
		x = &m->extent[i];
		in = lblk - x->e_lblk;
		n = x->e_len - in < count ? x->e_len - in : count;
		err = io_channel_write_blk64(fs->io, x->e_pblk + in, (int)n, data);
		if (err)
			return err;
		lblk += n;
		count -= n;
		data += n * fs->blocksize;
	}
	return 0;
}

/* The file's bytes gather in a chunk, written out whenever it is full. */
struct chunker {
	ext2_filsys fs;
	const struct extent_map *map;
	uint8_t *chunk;
	uint64_t start;		/* file offset of the chunk's first byte */
	size_t filled;
};

/* Appends n bytes of data (zeros when data is NULL). */
static errcode_t chunk_put(struct chunker *c, const uint8_t *data, uint64_t n)
{
	uint64_t bs = c->fs->blocksize;

	while (n) {
		size_t k = DATA_CHUNK - c->filled < n ? DATA_CHUNK - c->filled : n;

		if (data) {
			memcpy(c->chunk + c->filled, data, k);
			data += k;
		} else {
			memset(c->chunk + c->filled, 0, k);
		}
		c->filled += k;
		n -= k;
		if (c->filled == DATA_CHUNK) {
			errcode_t err = write_blocks(c->fs, c->map, c->start / bs, DATA_CHUNK / bs,
						     c->chunk);

			if (err)
				return err;
			c->start += DATA_CHUNK;
			c->filled = 0;
		}
	}
	return 0;
}

/* Writes what is left, its last block padded with zeros. */
static errcode_t chunk_finish(struct chunker *c)
{
	uint64_t bs = c->fs->blocksize, blocks = (c->filled + bs - 1) / bs;

	if (!c->filled)
		return 0;
	memset(c->chunk + c->filled, 0, blocks * bs - c->filled);
	return write_blocks(c->fs, c->map, c->start / bs, blocks, c->chunk);
}

int fs_write_file_data(ext2_filsys fs, ext2_ino_t ino, struct archive *a,
		       struct archive_entry *e, struct data_writer *w)
{
	uint64_t size = archive_entry_size(e);
	struct extent_map map = { 0 };
	struct chunker c = { .fs = fs, .map = &map };
	struct ext2_inode_large inode;
	const void *buf;
	size_t len;
	la_int64_t offset;
	errcode_t err;
	int r = ARCHIVE_OK;

	w->error = 0;
	w->archive_failed = 0;
	if (archive_entry_sparse_reset(e) > 0)
		return 1;	/* the caller's ext2fs_file path keeps the holes */
	if (!w->chunk && !(w->chunk = malloc(DATA_CHUNK))) {
		w->error = EXT2_ET_NO_MEMORY;
		return -1;
	}
	c.chunk = w->chunk;
	err = ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT, ino, NULL, ~0ULL, 0,
			       (size + fs->blocksize - 1) / fs->blocksize);
	if (!err)
		err = map_extents(fs, ino, &map);
	while (!err && (r = archive_read_data_block(a, &buf, &len, &offset)) == ARCHIVE_OK) {
		uint64_t pos = c.start + c.filled;

		/* Data arrives in order; a gap reads as zeros, an overlap is dropped. */
		if ((uint64_t)offset > pos)
			err = chunk_put(&c, NULL, offset - pos);
		else if ((uint64_t)offset + len <= pos)
			continue;
		else if ((uint64_t)offset < pos) {
			buf = (const uint8_t *)buf + (pos - offset);
			len -= pos - offset;
		}
		if (!err)
			err = chunk_put(&c, buf, len);
		w->bytes += len;
		if (w->progress)
			w->progress(w->progress_ctx);
	}
	if (!err && r != ARCHIVE_EOF) {
		w->archive_failed = 1;
		free(map.extent);
		return -1;
	}
	if (!err)
		err = chunk_finish(&c);
	free(map.extent);
	if (!err)
		err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode, sizeof(inode));
	if (!err)
		err = ext2fs_inode_size_set(fs, (struct ext2_inode *)&inode, size);
	if (!err)
		err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&inode, sizeof(inode));
	w->error = err;
	return err ? -1 : 0;
}
