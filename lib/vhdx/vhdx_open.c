// SPDX-License-Identifier: MIT
/*
 * Opening a VHDX: pick the current header, find the BAT and the metadata
 * through a region table, read the disk's parameters, load and validate
 * the BAT.  Anything we cannot serve safely is refused with the reason.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhdx.h"
#include "vhdx_internal.h"

static const uint8_t guid_bat[] = VHDX_GUID_BAT_REGION;
static const uint8_t guid_metadata[] = VHDX_GUID_METADATA_REGION;
static const uint8_t guid_file_parameters[] = VHDX_GUID_FILE_PARAMETERS;
static const uint8_t guid_virtual_disk_size[] = VHDX_GUID_VIRTUAL_DISK_SIZE;
static const uint8_t guid_virtual_disk_id[] = VHDX_GUID_VIRTUAL_DISK_ID;
static const uint8_t guid_logical_sector_size[] = VHDX_GUID_LOGICAL_SECTOR_SIZE;
static const uint8_t guid_physical_sector_size[] = VHDX_GUID_PHYSICAL_SECTOR_SIZE;
static const uint8_t guid_parent_locator[] = VHDX_GUID_PARENT_LOCATOR;

struct vhdx_regions {
	uint64_t bat_offset, metadata_offset;
	uint32_t bat_length, metadata_length;
};

/* Records why opening failed; returns ret so callers can "return fail(...)". */
static int fail(struct vhdx *v, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct vhdx *v, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->disk.error, DISK_ERROR_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

static int header_valid(const uint8_t *h)
{
	return get_le32(h + VHDX_HDR_SIGNATURE) == VHDX_HEADER_SIGNATURE &&
	       vhdx_checksum_ok(h, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM);
}

static int read_headers(struct vhdx *v)
{
	uint8_t h[2][VHDX_HEADER_SIZE];
	const uint64_t at[2] = { VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET };
	int valid[2], ret, cur;
	uint8_t *hdr;

	for (int i = 0; i < 2; i++) {
		ret = disk_pread_full(v->disk.fd, h[i], VHDX_HEADER_SIZE, at[i]);
		if (ret)
			return fail(v, ret == -ENODATA ? -EINVAL : ret,
				    "opening %s: reading header %d: %s", v->disk.name, i + 1,
				    ret == -ENODATA ? "the file ends before it" : strerror(-ret));
		valid[i] = header_valid(h[i]);
	}
	if (!valid[0] && !valid[1])
		return fail(v, -EINVAL,
			    "opening %s: neither header is valid (bad signature or CRC-32C)",
			    v->disk.name);
	if (valid[0] && valid[1])
		cur = get_le64(h[1] + VHDX_HDR_SEQUENCE) > get_le64(h[0] + VHDX_HDR_SEQUENCE);
	else
		cur = valid[1];
	hdr = h[cur];
	if (get_le16(hdr + VHDX_HDR_VERSION) != VHDX_HEADER_VERSION)
		return fail(v, -ENOTSUP, "opening %s: header version %u: only version 1 is known",
			    v->disk.name, get_le16(hdr + VHDX_HDR_VERSION));
	if (!guid_is_zero(hdr + VHDX_HDR_LOG_GUID))
		return fail(v, -ENOTSUP,
			    "opening %s: its log holds updates that were never applied (the last "
			    "writer stopped uncleanly); replay it first, e.g. with 'qemu-img check -r all'",
			    v->disk.name);
	if (get_le64(hdr + VHDX_HDR_LOG_OFFSET) % VHDX_ALIGNMENT ||
	    get_le32(hdr + VHDX_HDR_LOG_LENGTH) % VHDX_ALIGNMENT)
		return fail(v, -EINVAL, "opening %s: the header's log is not 1 MiB aligned",
			    v->disk.name);
	memcpy(v->header, hdr, VHDX_HEADER_SIZE);
	v->header_slot = cur;
	return 0;
}

/* Reads one region table; 0 when valid, with the regions we need found. */
static int read_region_table(struct vhdx *v, uint64_t at, uint64_t file_size,
			     struct vhdx_regions *r)
{
	uint8_t *t = malloc(VHDX_REGION_TABLE_SIZE);
	uint32_t count;
	int ret;

	if (!t)
		return fail(v, -ENOMEM, "opening %s: out of memory", v->disk.name);
	memset(r, 0, sizeof(*r));
	ret = disk_pread_full(v->disk.fd, t, VHDX_REGION_TABLE_SIZE, at);
	if (ret) {
		fail(v, ret == -ENODATA ? -EINVAL : ret, "opening %s: reading the region table: %s",
		     v->disk.name, ret == -ENODATA ? "the file ends before it" : strerror(-ret));
		ret = ret == -ENODATA ? -EINVAL : ret;
		goto out;
	}
	ret = -EINVAL;
	if (get_le32(t + VHDX_RGN_SIGNATURE) != VHDX_REGION_SIGNATURE ||
	    !vhdx_checksum_ok(t, VHDX_REGION_TABLE_SIZE, VHDX_RGN_CHECKSUM)) {
		fail(v, 0, "opening %s: the region table at %llu has a bad signature or CRC-32C",
		     v->disk.name, (unsigned long long)at);
		goto out;
	}
	count = get_le32(t + VHDX_RGN_ENTRY_COUNT);
	if (count > VHDX_RGN_MAX_ENTRIES) {
		fail(v, 0, "opening %s: the region table claims %u entries (at most %u)",
		     v->disk.name, count, VHDX_RGN_MAX_ENTRIES);
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = t + VHDX_RGN_ENTRIES + i * VHDX_RGN_ENTRY_SIZE;
		uint64_t offset = get_le64(e + 16);
		uint32_t length = get_le32(e + 24);

		if (offset % VHDX_ALIGNMENT || length % VHDX_ALIGNMENT || !length ||
		    offset < VHDX_ALIGNMENT || offset + length > file_size) {
			fail(v, 0, "opening %s: region %u (%llu bytes at %llu) is misaligned or "
				   "outside the %llu-byte file", v->disk.name, i,
			     (unsigned long long)length, (unsigned long long)offset,
			     (unsigned long long)file_size);
			goto out;
		}
		if (!memcmp(e, guid_bat, VHDX_GUID_SIZE)) {
			r->bat_offset = offset;
			r->bat_length = length;
		} else if (!memcmp(e, guid_metadata, VHDX_GUID_SIZE)) {
			r->metadata_offset = offset;
			r->metadata_length = length;
		} else if (get_le32(e + 28) & VHDX_RGN_REQUIRED) {
			fail(v, 0, "opening %s: region %u is required but of a kind we do not know",
			     v->disk.name, i);
			goto out;
		}
	}
	if (!r->bat_length || !r->metadata_length) {
		fail(v, 0, "opening %s: the region table lacks the %s region", v->disk.name,
		     r->bat_length ? "metadata" : "BAT");
		goto out;
	}
	ret = 0;
out:
	free(t);
	return ret;
}

static int read_regions(struct vhdx *v, uint64_t file_size, struct vhdx_regions *r)
{
	/* The second table is a copy: use it when the first is damaged. */
	if (!read_region_table(v, VHDX_REGION_TABLE1_OFFSET, file_size, r))
		return 0;
	return read_region_table(v, VHDX_REGION_TABLE2_OFFSET, file_size, r);
}

struct metadata_item {
	const uint8_t *guid;
	const char *what;
	uint32_t length;
	uint8_t value[VHDX_GUID_SIZE];
	int found;
};

static int read_metadata(struct vhdx *v, const struct vhdx_regions *r)
{
	struct metadata_item items[] = {
		{ .guid = guid_file_parameters, .what = "file parameters", .length = 8 },
		{ .guid = guid_virtual_disk_size, .what = "virtual disk size", .length = 8 },
		{ .guid = guid_virtual_disk_id, .what = "virtual disk ID", .length = VHDX_GUID_SIZE },
		{ .guid = guid_logical_sector_size, .what = "logical sector size", .length = 4 },
		{ .guid = guid_physical_sector_size, .what = "physical sector size", .length = 4 },
	};
	const size_t nitems = sizeof(items) / sizeof(items[0]);
	uint8_t *t = malloc(VHDX_METADATA_TABLE_SIZE);
	uint16_t count;
	uint32_t flags;
	int ret = -EINVAL;

	if (!t)
		return fail(v, -ENOMEM, "opening %s: out of memory", v->disk.name);
	ret = disk_pread_full(v->disk.fd, t, VHDX_METADATA_TABLE_SIZE, r->metadata_offset);
	if (ret) {
		fail(v, ret, "opening %s: reading the metadata table: %s", v->disk.name,
		     strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	if (memcmp(t, VHDX_METADATA_SIGNATURE, strlen(VHDX_METADATA_SIGNATURE))) {
		fail(v, 0, "opening %s: the metadata table has a bad signature", v->disk.name);
		goto out;
	}
	count = get_le16(t + VHDX_MD_ENTRY_COUNT);
	if (count > VHDX_MD_MAX_ENTRIES) {
		fail(v, 0, "opening %s: the metadata table claims %u entries", v->disk.name, count);
		goto out;
	}
	for (uint16_t i = 0; i < count; i++) {
		const uint8_t *e = t + VHDX_MD_ENTRIES + i * VHDX_MD_ENTRY_SIZE;
		uint32_t offset = get_le32(e + 16), length = get_le32(e + 20);
		size_t k;

		if (!memcmp(e, guid_parent_locator, VHDX_GUID_SIZE)) {
			fail(v, 0, "opening %s: a differencing disk (it has a parent); not supported",
			     v->disk.name);
			goto out;
		}
		for (k = 0; k < nitems; k++)
			if (!memcmp(e, items[k].guid, VHDX_GUID_SIZE))
				break;
		if (k == nitems) {
			if (get_le32(e + 24) & VHDX_MD_IS_REQUIRED) {
				fail(v, 0, "opening %s: metadata item %u is required but unknown",
				     v->disk.name, i);
				goto out;
			}
			continue;
		}
		if (length != items[k].length || offset < VHDX_METADATA_TABLE_SIZE ||
		    (uint64_t)offset + length > r->metadata_length) {
			fail(v, 0, "opening %s: the %s item (%u bytes at %u) is malformed",
			     v->disk.name, items[k].what, length, offset);
			goto out;
		}
		ret = disk_pread_full(v->disk.fd, items[k].value, length,
				      r->metadata_offset + offset);
		if (ret) {
			fail(v, ret, "opening %s: reading the %s: %s", v->disk.name, items[k].what,
			     strerror(-ret));
			goto out;
		}
		ret = -EINVAL;
		items[k].found = 1;
	}
	for (size_t k = 0; k < nitems; k++) {
		if (!items[k].found && k != 2 && k != 4) {	/* ID and physical size optional */
			fail(v, 0, "opening %s: the metadata lacks the %s", v->disk.name,
			     items[k].what);
			goto out;
		}
	}
	v->block_size = get_le32(items[0].value);
	flags = get_le32(items[0].value + 4);
	v->disk.size = get_le64(items[1].value);
	v->disk.logical_sector_size = get_le32(items[3].value);
	v->disk.physical_sector_size = items[4].found ? get_le32(items[4].value) : 4096;
	v->leave_blocks_allocated = !!(flags & VHDX_FILE_PARAM_LEAVE_BLOCKS_ALLOCATED);
	if (flags & VHDX_FILE_PARAM_HAS_PARENT) {
		fail(v, 0, "opening %s: a differencing disk (it has a parent); not supported",
		     v->disk.name);
		goto out;
	}
	if (v->block_size < VHDX_MIN_BLOCK_SIZE || v->block_size > VHDX_MAX_BLOCK_SIZE ||
	    (v->block_size & (v->block_size - 1))) {
		fail(v, 0, "opening %s: block size %u is not a power of two from 1 to 256 MiB",
		     v->disk.name, v->block_size);
		goto out;
	}
	if (v->disk.logical_sector_size != 512 && v->disk.logical_sector_size != 4096) {
		fail(v, 0, "opening %s: logical sector size %u is neither 512 nor 4096",
		     v->disk.name, v->disk.logical_sector_size);
		goto out;
	}
	if (!v->disk.size || v->disk.size > VHDX_MAX_VIRTUAL_SIZE ||
	    v->disk.size % v->disk.logical_sector_size) {
		fail(v, 0, "opening %s: virtual size %llu is invalid", v->disk.name,
		     (unsigned long long)v->disk.size);
		goto out;
	}
	ret = 0;
out:
	free(t);
	return ret;
}

static int read_bat(struct vhdx *v, const struct vhdx_regions *r, uint64_t file_size)
{
	uint8_t *raw;
	int ret;

	vhdx_geometry(v, v->disk.size, v->disk.logical_sector_size);
	if (v->bat_entries * 8 > r->bat_length)
		return fail(v, -EINVAL, "opening %s: the BAT region (%u bytes) is too small for "
					"%llu entries", v->disk.name, r->bat_length,
			    (unsigned long long)v->bat_entries);
	v->bat_offset = r->bat_offset;
	v->bat = malloc(v->bat_entries * sizeof(*v->bat));
	raw = malloc(v->bat_entries * 8);
	if (!v->bat || !raw) {
		free(raw);
		return fail(v, -ENOMEM, "opening %s: out of memory for its BAT", v->disk.name);
	}
	ret = disk_pread_full(v->disk.fd, raw, v->bat_entries * 8, v->bat_offset);
	for (uint64_t i = 0; !ret && i < v->bat_entries; i++)
		v->bat[i] = get_le64(raw + 8 * i);
	free(raw);
	if (ret)
		return fail(v, ret, "opening %s: reading the BAT: %s", v->disk.name, strerror(-ret));

	v->file_end = (file_size + VHDX_ALIGNMENT - 1) & ~(VHDX_ALIGNMENT - 1);
	for (uint64_t b = 0; b < v->data_blocks; b++) {
		uint64_t i = vhdx_bat_index(v, b);
		uint64_t state = v->bat[i] & VHDX_BAT_STATE_MASK;
		uint64_t offset = v->bat[i] & VHDX_BAT_OFFSET_MASK;

		switch (state) {
		case VHDX_BAT_NOT_PRESENT:
		case VHDX_BAT_UNDEFINED:
		case VHDX_BAT_ZERO:
		case VHDX_BAT_UNMAPPED:
		case VHDX_BAT_UNMAPPED_V1:
			break;
		case VHDX_BAT_FULLY_PRESENT:
			if (offset < VHDX_ALIGNMENT || offset + v->block_size > file_size)
				return fail(v, -EINVAL,
					    "opening %s: BAT entry %llu (block %llu) points to offset %llu, "
					    "outside the %llu-byte file", v->disk.name,
					    (unsigned long long)i, (unsigned long long)b,
					    (unsigned long long)offset, (unsigned long long)file_size);
			break;
		case VHDX_BAT_PARTIALLY_PRESENT:
			return fail(v, -ENOTSUP, "opening %s: block %llu is partially present, "
						 "which only differencing disks use; not supported",
				    v->disk.name, (unsigned long long)b);
		default:
			return fail(v, -EINVAL, "opening %s: BAT entry %llu has unknown state %llu",
				    v->disk.name, (unsigned long long)i, (unsigned long long)state);
		}
	}
	return 0;
}

void vhdx_free(struct vhdx *v)
{
	free(v->bat);
	free(v->released.offset);
	free(v->reusable.offset);
	free(v);
}

int vhdx_open(int fd, const char *name, int flags, struct disk **out,
	      char err[DISK_ERROR_MAX])
{
	struct vhdx *v = calloc(1, sizeof(*v));
	struct vhdx_regions regions;
	struct stat st;
	int ret;

	if (!v || !(v->disk.name = strdup(name))) {
		free(v);
		disk_set_error(err, "opening %s: out of memory", name);
		close(fd);
		return -ENOMEM;
	}
	v->disk.ops = &vhdx_ops;
	v->disk.fd = fd;
	v->disk.read_only = !!(flags & DISK_OPEN_READ_ONLY);
	vhdx_guid_source_init(&v->guids, NULL, 0);
	if (fstat(fd, &st)) {
		ret = fail(v, -errno, "opening %s: %s", name, strerror(errno));
		goto fail;
	}
	ret = read_headers(v);
	if (!ret)
		ret = read_regions(v, st.st_size, &regions);
	if (!ret)
		ret = read_metadata(v, &regions);
	if (!ret)
		ret = read_bat(v, &regions, st.st_size);
	if (ret)
		goto fail;
	*out = &v->disk;
	return 0;
fail:
	memcpy(err, v->disk.error, DISK_ERROR_MAX);
	close(fd);
	free(v->disk.name);
	vhdx_free(v);
	return ret;
}
