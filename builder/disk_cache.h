/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_DISK_CACHE_H
#define BUILDER_DISK_CACHE_H

#include <stdint.h>

#include "disk.h"

/* A write-back cache of fixed-size blocks of a disk (see disk_cache.c). */
struct block_cache;

#define DISK_CACHE_BLOCKS	8192	/* 32 MiB of 4 KiB blocks */

struct block_cache *cache_new(struct disk *d, uint32_t block_size, uint32_t nslots);
void cache_free(struct block_cache *c);
uint32_t cache_block_size(const struct block_cache *c);
/* Both return 0 or a negative errno (the reason in disk_error()). */
int cache_read(struct block_cache *c, uint64_t block, uint32_t count, void *buf);
int cache_write(struct block_cache *c, uint64_t block, uint32_t count, const void *buf);
/* Writes every dirty block to the disk. */
int cache_write_back(struct block_cache *c);
/* Forgets the blocks overlapping a byte range, writing dirty ones first if asked. */
int cache_drop_range(struct block_cache *c, uint64_t offset, uint64_t len, int write_first);

#endif
