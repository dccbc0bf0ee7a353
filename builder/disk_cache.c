// SPDX-License-Identifier: MIT
/*
 * A write-back cache of filesystem blocks between libext2fs and the disk
 * image.  libext2fs rereads the same directory and inode-table blocks for
 * every file it adds; without a cache each of those is a system call into
 * the image.  Single-block reads and writes are cached; larger ones go
 * straight to the disk (keeping cached copies in step).  Eviction is the
 * clock algorithm, so blocks read again and again (metadata) stay, and
 * blocks written once (file data) leave first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "disk_cache.h"

#define NO_SLOT UINT32_MAX
#define CACHE_MAX_RUN 256	/* blocks written back in one call: 1 MiB of 4 KiB */

struct cache_slot {
	uint64_t block;
	uint32_t next;		/* next slot in the same hash chain */
	uint8_t used, dirty, referenced;
};

struct block_cache {
	struct disk *disk;
	uint32_t block_size, nslots, nbuckets, hand;
	struct cache_slot *slot;
	uint32_t *bucket;
	uint8_t *data;
};

static uint32_t bucket_of(const struct block_cache *c, uint64_t block)
{
	return (uint32_t)((block * 0x9e3779b97f4a7c15ULL) >> 32) & (c->nbuckets - 1);
}

static uint8_t *slot_data(const struct block_cache *c, uint32_t i)
{
	return c->data + (size_t)i * c->block_size;
}

struct block_cache *cache_new(struct disk *d, uint32_t block_size, uint32_t nslots)
{
	struct block_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->disk = d;
	c->block_size = block_size;
	c->nslots = nslots;
	for (c->nbuckets = 1; c->nbuckets < 2 * nslots; c->nbuckets *= 2)
		;
	c->slot = calloc(nslots, sizeof(*c->slot));
	c->bucket = malloc(c->nbuckets * sizeof(*c->bucket));
	c->data = malloc((size_t)nslots * block_size);
	if (!c->slot || !c->bucket || !c->data) {
		cache_free(c);
		return NULL;
	}
	memset(c->bucket, 0xff, c->nbuckets * sizeof(*c->bucket));
	return c;
}

void cache_free(struct block_cache *c)
{
	if (!c)
		return;
	free(c->slot);
	free(c->bucket);
	free(c->data);
	free(c);
}

uint32_t cache_block_size(const struct block_cache *c)
{
	return c->block_size;
}

static uint32_t cache_find(const struct block_cache *c, uint64_t block)
{
	uint32_t i = c->bucket[bucket_of(c, block)];

	while (i != NO_SLOT && c->slot[i].block != block)
		i = c->slot[i].next;
	return i;
}

static void cache_unlink(struct block_cache *c, uint32_t i)
{
	uint32_t *link = &c->bucket[bucket_of(c, c->slot[i].block)];

	while (*link != i)
		link = &c->slot[*link].next;
	*link = c->slot[i].next;
	c->slot[i].used = 0;
}

/*
 * Writes slot i back, together with the dirty slots after it that hold the
 * blocks after its block: file data arrives block by block in order, so it
 * usually sits in consecutive slots, and goes out in one call.
 */
static int write_back(struct block_cache *c, uint32_t i)
{
	uint32_t n = 1;
	int ret;

	if (!c->slot[i].dirty)
		return 0;
	while (i + n < c->nslots && n < CACHE_MAX_RUN && c->slot[i + n].used &&
	       c->slot[i + n].dirty && c->slot[i + n].block == c->slot[i].block + n)
		n++;
	ret = disk_write(c->disk, slot_data(c, i), (size_t)n * c->block_size,
			 c->slot[i].block * c->block_size);
	for (uint32_t k = 0; !ret && k < n; k++)
		c->slot[i + k].dirty = 0;
	return ret;
}

/* A free slot for block, evicting (and writing back) one if need be. */
static int cache_claim(struct block_cache *c, uint64_t block, uint32_t *out)
{
	uint32_t i, b;
	int ret;

	for (;;) {
		i = c->hand;
		c->hand = (c->hand + 1) % c->nslots;
		if (!c->slot[i].used)
			break;
		if (c->slot[i].referenced) {
			c->slot[i].referenced = 0;
			continue;
		}
		ret = write_back(c, i);
		if (ret)
			return ret;
		cache_unlink(c, i);
		break;
	}
	b = bucket_of(c, block);
	c->slot[i] = (struct cache_slot){ .block = block, .next = c->bucket[b], .used = 1 };
	c->bucket[b] = i;
	*out = i;
	return 0;
}

int cache_read(struct block_cache *c, uint64_t block, uint32_t count, void *buf)
{
	uint32_t i;
	int ret;

	if (count != 1) {
		/* Large reads bypass the cache, but must see dirty blocks. */
		ret = disk_read(c->disk, buf, (size_t)count * c->block_size, block * c->block_size);
		for (uint32_t k = 0; !ret && k < count; k++) {
			i = cache_find(c, block + k);
			if (i != NO_SLOT)
				memcpy((uint8_t *)buf + (size_t)k * c->block_size, slot_data(c, i),
				       c->block_size);
		}
		return ret;
	}
	i = cache_find(c, block);
	if (i == NO_SLOT) {
		ret = cache_claim(c, block, &i);
		if (!ret)
			ret = disk_read(c->disk, slot_data(c, i), c->block_size, block * c->block_size);
		if (ret) {
			if (c->slot[i].used && c->slot[i].block == block)
				cache_unlink(c, i);
			return ret;
		}
	}
	c->slot[i].referenced = 1;
	memcpy(buf, slot_data(c, i), c->block_size);
	return 0;
}

int cache_write(struct block_cache *c, uint64_t block, uint32_t count, const void *buf)
{
	uint32_t i;
	int ret;

	if (count != 1) {
		ret = disk_write(c->disk, buf, (size_t)count * c->block_size, block * c->block_size);
		for (uint32_t k = 0; !ret && k < count; k++) {
			i = cache_find(c, block + k);
			if (i != NO_SLOT) {
				const uint8_t *src = (const uint8_t *)buf + (size_t)k * c->block_size;

				memcpy(slot_data(c, i), src, c->block_size);
				c->slot[i].dirty = 0;
			}
		}
		return ret;
	}
	i = cache_find(c, block);
	if (i == NO_SLOT) {
		ret = cache_claim(c, block, &i);
		if (ret)
			return ret;
	}
	memcpy(slot_data(c, i), buf, c->block_size);
	c->slot[i].dirty = 1;
	return 0;
}

int cache_write_back(struct block_cache *c)
{
	for (uint32_t i = 0; i < c->nslots; i++) {
		int ret = c->slot[i].used ? write_back(c, i) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

int cache_drop_range(struct block_cache *c, uint64_t offset, uint64_t len, int write_first)
{
	uint64_t first = offset / c->block_size;
	uint64_t last = (offset + len + c->block_size - 1) / c->block_size;

	/* Ranges are small (superblock writes) or whole-cache (discards): scan the slots. */
	for (uint32_t i = 0; i < c->nslots; i++) {
		int ret;

		if (!c->slot[i].used || c->slot[i].block < first || c->slot[i].block >= last)
			continue;
		ret = write_first ? write_back(c, i) : 0;
		if (ret)
			return ret;
		cache_unlink(c, i);
	}
	return 0;
}
