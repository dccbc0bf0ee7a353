/* SPDX-License-Identifier: MIT */
#ifndef VHDX_INTERNAL_H
#define VHDX_INTERNAL_H

/* What the VHDX files share: the open image and little-endian helpers. */

#include <stdint.h>
#include <string.h>

#include "disk.h"
#include "vhdx_format.h"

/* Where a new image's GUIDs come from: a seed (reproducible) or getrandom(). */
struct vhdx_guid_source {
	int seeded;
	uint64_t state;
};

/* A growing list of file offsets of released payload blocks. */
struct vhdx_offsets {
	uint64_t *offset;
	size_t count, capacity;
};

struct vhdx {
	struct disk disk;		/* first: a struct disk * is a struct vhdx * */
	uint32_t block_size;
	uint32_t chunk_ratio;		/* payload blocks per sector bitmap block */
	uint64_t data_blocks;
	uint64_t bat_entries;
	uint64_t bat_offset;
	uint64_t *bat;			/* host byte order */
	int leave_blocks_allocated;
	uint8_t header[VHDX_HEADER_SIZE];	/* the current header */
	int header_slot;		/* 0 or 1: where the current header lives */
	int write_guids_fresh;		/* the header's write GUIDs belong to this session */
	uint64_t file_end;		/* where the next new block goes */
	/* Released blocks: reusable once a flush has made their release durable. */
	struct vhdx_offsets released, reusable;
	struct vhdx_guid_source guids;
};

static inline uint16_t get_le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, v);
	put_le32(p + 4, v >> 32);
}

static inline int guid_is_zero(const uint8_t *g)
{
	static const uint8_t zero[VHDX_GUID_SIZE];

	return !memcmp(g, zero, VHDX_GUID_SIZE);
}

/* Index in the BAT of a payload block: one bitmap entry follows each chunk. */
static inline uint64_t vhdx_bat_index(const struct vhdx *v, uint64_t block)
{
	return block + block / v->chunk_ratio;
}

static inline int vhdx_state_reads_zero(uint64_t entry)
{
	return (entry & VHDX_BAT_STATE_MASK) != VHDX_BAT_FULLY_PRESENT;
}

/* Sizes of an image of block_size blocks, logical_sector_size sectors. */
void vhdx_geometry(struct vhdx *v, uint64_t virtual_size, uint32_t logical_sector_size);

/* Sets checksum field at csum_offset to the CRC-32C of buf. */
void vhdx_set_checksum(uint8_t *buf, size_t len, size_t csum_offset);
int vhdx_checksum_ok(const uint8_t *buf, size_t len, size_t csum_offset);

void vhdx_guid_source_init(struct vhdx_guid_source *src, const void *seed, size_t seed_len);
void vhdx_guid_next(struct vhdx_guid_source *src, uint8_t guid[VHDX_GUID_SIZE]);

/* Writes header into the slot that is not current, with the next sequence number. */
int vhdx_write_header(struct vhdx *v);

void vhdx_free(struct vhdx *v);

extern const struct disk_ops vhdx_ops;

#endif
