// SPDX-License-Identifier: MIT
/* Pieces every VHDX path uses: geometry, checksums, GUIDs, header updates. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "crc32c.h"
#include "vhdx.h"
#include "vhdx_internal.h"

void vhdx_geometry(struct vhdx *v, uint64_t virtual_size, uint32_t logical_sector_size)
{
	v->chunk_ratio = VHDX_SECTORS_PER_BITMAP * logical_sector_size / v->block_size;
	v->data_blocks = (virtual_size + v->block_size - 1) / v->block_size;
	v->bat_entries = v->data_blocks + (v->data_blocks - 1) / v->chunk_ratio;
}

void vhdx_set_checksum(uint8_t *buf, size_t len, size_t csum_offset)
{
	put_le32(buf + csum_offset, 0);
	put_le32(buf + csum_offset, crc32c(buf, len));
}

int vhdx_checksum_ok(const uint8_t *buf, size_t len, size_t csum_offset)
{
	uint8_t saved[4];
	uint32_t want = get_le32(buf + csum_offset), got;

	/* Checksummed with the field zeroed; buf is restored before returning. */
	memcpy(saved, buf + csum_offset, 4);
	memset((uint8_t *)buf + csum_offset, 0, 4);
	got = crc32c(buf, len);
	memcpy((uint8_t *)buf + csum_offset, saved, 4);
	return got == want;
}

/* 64-bit FNV-1a: folds a seed of any length into the generator's state. */
static uint64_t fnv1a64(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* splitmix64: a well-mixed sequence from a counter. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void vhdx_guid_source_init(struct vhdx_guid_source *src, const void *seed, size_t seed_len)
{
	src->seeded = seed != NULL;
	src->state = seed ? fnv1a64(seed, seed_len) : 0;
}

void vhdx_guid_next(struct vhdx_guid_source *src, uint8_t guid[VHDX_GUID_SIZE])
{
	if (src->seeded || getrandom(guid, VHDX_GUID_SIZE, 0) != VHDX_GUID_SIZE) {
		/* Without getrandom(), mix in what differs between runs. */
		if (!src->seeded && !src->state)
			src->state = fnv1a64(&src, sizeof(src)) ^ (uint64_t)getpid() << 32;
		put_le64(guid, splitmix64(&src->state));
		put_le64(guid + 8, splitmix64(&src->state));
	}
	guid[7] = (guid[7] & 0x0f) | 0x40;	/* version 4: random */
	guid[8] = (guid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
}

int vhdx_write_header(struct vhdx *v)
{
	static const uint64_t slot_offset[2] = { VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET };
	int next = !v->header_slot;
	int ret;

	put_le64(v->header + VHDX_HDR_SEQUENCE, get_le64(v->header + VHDX_HDR_SEQUENCE) + 1);
	vhdx_set_checksum(v->header, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM);
	ret = disk_pwrite_full(v->disk.fd, v->header, VHDX_HEADER_SIZE, slot_offset[next]);
	if (ret) {
		disk_set_error(v->disk.error, "writing the header of %s: %s", v->disk.name,
			       strerror(-ret));
		return ret;
	}
	v->header_slot = next;
	return 0;
}

int vhdx_probe(int fd)
{
	char sig[sizeof(VHDX_FILE_ID_SIGNATURE) - 1];
	int ret = disk_pread_full(fd, sig, sizeof(sig), VHDX_FILE_ID_OFFSET);

	if (ret == -ENODATA)
		return 0;
	if (ret)
		return ret;
	return !memcmp(sig, VHDX_FILE_ID_SIGNATURE, sizeof(sig));
}
