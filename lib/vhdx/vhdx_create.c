// SPDX-License-Identifier: MIT
/*
 * Creating a dynamic VHDX: file identifier, two headers, two region tables,
 * the metadata region and an all-zero BAT.  The log and the BAT are left as
 * holes in the file: a zero BAT means every block is NOT_PRESENT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhdx.h"
#include "vhdx_internal.h"

#define VHDX_CREATOR		"openwsl"
/* Where our metadata items sit inside the metadata region. */
#define VHDX_MD_ITEMS_OFFSET	VHDX_METADATA_TABLE_SIZE

static const uint8_t guid_bat[] = VHDX_GUID_BAT_REGION;
static const uint8_t guid_metadata[] = VHDX_GUID_METADATA_REGION;
static const uint8_t guid_file_parameters[] = VHDX_GUID_FILE_PARAMETERS;
static const uint8_t guid_virtual_disk_size[] = VHDX_GUID_VIRTUAL_DISK_SIZE;
static const uint8_t guid_virtual_disk_id[] = VHDX_GUID_VIRTUAL_DISK_ID;
static const uint8_t guid_logical_sector_size[] = VHDX_GUID_LOGICAL_SECTOR_SIZE;
static const uint8_t guid_physical_sector_size[] = VHDX_GUID_PHYSICAL_SECTOR_SIZE;

static int valid_create_opts(const char *name, uint64_t size, uint32_t block_size,
			     uint32_t sector, char err[DISK_ERROR_MAX])
{
	if (sector != 512 && sector != 4096) {
		disk_set_error(err, "creating %s: logical sector size %u: must be 512 or 4096",
			       name, sector);
		return 0;
	}
	if (block_size < VHDX_MIN_BLOCK_SIZE || block_size > VHDX_MAX_BLOCK_SIZE ||
	    (block_size & (block_size - 1))) {
		disk_set_error(err, "creating %s: block size %u: must be a power of two from 1 MiB to 256 MiB",
			       name, block_size);
		return 0;
	}
	if (!size || size % sector || size > VHDX_MAX_VIRTUAL_SIZE) {
		disk_set_error(err, "creating %s: size %llu: must be a multiple of %u, at most 64 TiB",
			       name, (unsigned long long)size, sector);
		return 0;
	}
	return 1;
}

static void fill_file_identifier(uint8_t *buf)
{
	const char *creator = VHDX_CREATOR;

	memcpy(buf, VHDX_FILE_ID_SIGNATURE, strlen(VHDX_FILE_ID_SIGNATURE));
	for (size_t i = 0; creator[i]; i++)	/* UTF-16LE */
		buf[VHDX_FILE_ID_CREATOR_OFFSET + 2 * i] = creator[i];
}

static void put_region_entry(uint8_t *table, int i, const uint8_t *guid, uint64_t offset,
			     uint32_t length)
{
	uint8_t *e = table + VHDX_RGN_ENTRIES + i * VHDX_RGN_ENTRY_SIZE;

	memcpy(e, guid, VHDX_GUID_SIZE);
	put_le64(e + 16, offset);
	put_le32(e + 24, length);
	put_le32(e + 28, VHDX_RGN_REQUIRED);
}

static void fill_region_table(uint8_t *table, const struct vhdx *v, uint32_t bat_length)
{
	put_le32(table + VHDX_RGN_SIGNATURE, VHDX_REGION_SIGNATURE);
	put_le32(table + VHDX_RGN_ENTRY_COUNT, 2);
	put_region_entry(table, 0, guid_bat, v->bat_offset, bat_length);
	put_region_entry(table, 1, guid_metadata, VHDX_METADATA_OFFSET, VHDX_METADATA_LENGTH);
	vhdx_set_checksum(table, VHDX_REGION_TABLE_SIZE, VHDX_RGN_CHECKSUM);
}

/* Adds one metadata item: its table entry and its value at *item_offset. */
static void put_metadata_item(uint8_t *region, int i, const uint8_t *guid, uint32_t *item_offset,
			      const void *value, uint32_t length, uint32_t flags)
{
	uint8_t *e = region + VHDX_MD_ENTRIES + i * VHDX_MD_ENTRY_SIZE;

	memcpy(e, guid, VHDX_GUID_SIZE);
	put_le32(e + 16, *item_offset);
	put_le32(e + 20, length);
	put_le32(e + 24, flags);
	memcpy(region + *item_offset, value, length);
	*item_offset += length;
}

static void fill_metadata(uint8_t *region, const struct vhdx *v, const uint8_t *disk_id)
{
	uint32_t at = VHDX_MD_ITEMS_OFFSET;
	uint8_t file_params[8] = { 0 }, size[8], lss[4], pss[4];
	const uint32_t vdisk = VHDX_MD_IS_VIRTUAL_DISK | VHDX_MD_IS_REQUIRED;

	memcpy(region, VHDX_METADATA_SIGNATURE, strlen(VHDX_METADATA_SIGNATURE));
	put_le16(region + VHDX_MD_ENTRY_COUNT, 5);
	put_le32(file_params, v->block_size);
	put_le64(size, v->disk.size);
	put_le32(lss, v->disk.logical_sector_size);
	put_le32(pss, v->disk.physical_sector_size);
	put_metadata_item(region, 0, guid_file_parameters, &at, file_params, 8,
			  VHDX_MD_IS_REQUIRED);
	put_metadata_item(region, 1, guid_virtual_disk_size, &at, size, 8, vdisk);
	put_metadata_item(region, 2, guid_virtual_disk_id, &at, disk_id, VHDX_GUID_SIZE, vdisk);
	put_metadata_item(region, 3, guid_logical_sector_size, &at, lss, 4, vdisk);
	put_metadata_item(region, 4, guid_physical_sector_size, &at, pss, 4, vdisk);
}

static void fill_header(struct vhdx *v, uint64_t sequence)
{
	memset(v->header, 0, VHDX_HEADER_SIZE);
	put_le32(v->header + VHDX_HDR_SIGNATURE, VHDX_HEADER_SIGNATURE);
	put_le64(v->header + VHDX_HDR_SEQUENCE, sequence);
	vhdx_guid_next(&v->guids, v->header + VHDX_HDR_FILE_WRITE_GUID);
	vhdx_guid_next(&v->guids, v->header + VHDX_HDR_DATA_WRITE_GUID);
	/* Log GUID stays zero: the log is empty, nothing to replay. */
	put_le16(v->header + VHDX_HDR_VERSION, VHDX_HEADER_VERSION);
	put_le32(v->header + VHDX_HDR_LOG_LENGTH, VHDX_LOG_LENGTH);
	put_le64(v->header + VHDX_HDR_LOG_OFFSET, VHDX_LOG_OFFSET);
}

/* Writes everything but the headers; the file then spans through the BAT. */
static int write_structures(struct vhdx *v, uint32_t bat_length)
{
	uint8_t *buf = calloc(1, VHDX_METADATA_LENGTH);
	uint8_t disk_id[VHDX_GUID_SIZE];
	const char *what;
	int ret;

	if (!buf)
		return -ENOMEM;
	what = "the file identifier";
	fill_file_identifier(buf);
	ret = disk_pwrite_full(v->disk.fd, buf, VHDX_HEADER1_OFFSET, VHDX_FILE_ID_OFFSET);
	if (!ret) {
		what = "the region tables";
		memset(buf, 0, VHDX_REGION_TABLE_SIZE);
		fill_region_table(buf, v, bat_length);
		ret = disk_pwrite_full(v->disk.fd, buf, VHDX_REGION_TABLE_SIZE,
				       VHDX_REGION_TABLE1_OFFSET);
		if (!ret)
			ret = disk_pwrite_full(v->disk.fd, buf, VHDX_REGION_TABLE_SIZE,
					       VHDX_REGION_TABLE2_OFFSET);
	}
	if (!ret) {
		what = "the metadata";
		memset(buf, 0, VHDX_METADATA_LENGTH);
		vhdx_guid_next(&v->guids, disk_id);
		fill_metadata(buf, v, disk_id);
		/* Only the table and items: the rest of the region stays a hole. */
		ret = disk_pwrite_full(v->disk.fd, buf, 2 * VHDX_METADATA_TABLE_SIZE,
				       VHDX_METADATA_OFFSET);
	}
	if (!ret) {
		what = "the block allocation table";
		if (ftruncate(v->disk.fd, v->file_end))
			ret = -errno;
	}
	free(buf);
	if (ret)
		disk_set_error(v->disk.error, "creating %s: writing %s: %s", v->disk.name, what,
			       strerror(-ret));
	return ret;
}

int vhdx_create(int fd, const char *name, const struct disk_create_opts *opts,
		struct disk **out, char err[DISK_ERROR_MAX])
{
	uint64_t size = opts->size ? opts->size : DISK_DEFAULT_SIZE;
	uint32_t block_size = opts->block_size ? opts->block_size : DISK_DEFAULT_BLOCK_SIZE;
	uint32_t sector = opts->logical_sector_size ? opts->logical_sector_size
						    : DISK_DEFAULT_LOGICAL_SECTOR;
	uint64_t bat_length;
	struct vhdx *v;
	int ret;

	if (!valid_create_opts(name, size, block_size, sector, err)) {
		close(fd);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v || !(v->disk.name = strdup(name))) {
		free(v);
		disk_set_error(err, "creating %s: out of memory", name);
		close(fd);
		return -ENOMEM;
	}
	v->disk.ops = &vhdx_ops;
	v->disk.fd = fd;
	v->disk.size = size;
	v->disk.logical_sector_size = sector;
	v->disk.physical_sector_size = DISK_DEFAULT_PHYSICAL_SECTOR;
	v->block_size = block_size;
	vhdx_geometry(v, size, sector);
	v->bat_offset = VHDX_BAT_OFFSET;
	bat_length = (v->bat_entries * 8 + VHDX_ALIGNMENT - 1) & ~(VHDX_ALIGNMENT - 1);
	v->file_end = v->bat_offset + bat_length;
	v->bat = calloc(v->bat_entries, sizeof(*v->bat));
	vhdx_guid_source_init(&v->guids, opts->id_seed, opts->id_seed_len);
	if (!v->bat) {
		ret = -ENOMEM;
		disk_set_error(v->disk.error, "creating %s: out of memory for its BAT", name);
		goto fail;
	}
	ret = write_structures(v, bat_length);
	if (ret)
		goto fail;
	/* Both slots valid; the second, with the higher sequence, is current. */
	fill_header(v, 0);
	v->header_slot = 1;
	ret = vhdx_write_header(v);
	if (!ret)
		ret = vhdx_write_header(v);
	if (ret)
		goto fail;
	v->write_guids_fresh = 1;
	*out = &v->disk;
	return 0;
fail:
	memcpy(err, v->disk.error, DISK_ERROR_MAX);
	close(fd);
	free(v->bat);
	free(v->disk.name);
	free(v);
	return ret;
}
