/* SPDX-License-Identifier: MIT */
#ifndef VHDX_FORMAT_H
#define VHDX_FORMAT_H

/*
 * The VHDX on-disk format (MS-VHDX v8.0): offsets, signatures, GUIDs and
 * field positions.  Every integer is little-endian; every checksum is
 * CRC-32C over the structure with its checksum field zeroed.
 */

#define VHDX_KiB		1024ULL
#define VHDX_MiB		(1024ULL * 1024)
#define VHDX_TiB		(1024ULL * 1024 * 1024 * 1024)

/* Every object in the file (log, metadata, BAT, payload block) is 1 MiB aligned. */
#define VHDX_ALIGNMENT		VHDX_MiB

/* File type identifier, at offset 0: "vhdxfile" then a UTF-16LE creator. */
#define VHDX_FILE_ID_OFFSET	0
#define VHDX_FILE_ID_SIGNATURE	"vhdxfile"
#define VHDX_FILE_ID_CREATOR_OFFSET 8
#define VHDX_FILE_ID_CREATOR_SIZE 512

/* The two headers, 4 KiB each. */
#define VHDX_HEADER1_OFFSET	(64 * VHDX_KiB)
#define VHDX_HEADER2_OFFSET	(128 * VHDX_KiB)
#define VHDX_HEADER_SIZE	(4 * VHDX_KiB)
#define VHDX_HEADER_SIGNATURE	0x64616568U	/* "head" */
#define VHDX_HEADER_VERSION	1
#define VHDX_HDR_SIGNATURE	0	/* u32 */
#define VHDX_HDR_CHECKSUM	4	/* u32 */
#define VHDX_HDR_SEQUENCE	8	/* u64 */
#define VHDX_HDR_FILE_WRITE_GUID 16
#define VHDX_HDR_DATA_WRITE_GUID 32
#define VHDX_HDR_LOG_GUID	48
#define VHDX_HDR_LOG_VERSION	64	/* u16, 0 */
#define VHDX_HDR_VERSION	66	/* u16, 1 */
#define VHDX_HDR_LOG_LENGTH	68	/* u32 */
#define VHDX_HDR_LOG_OFFSET	72	/* u64 */

/* The two region tables, 64 KiB each. */
#define VHDX_REGION_TABLE1_OFFSET (192 * VHDX_KiB)
#define VHDX_REGION_TABLE2_OFFSET (256 * VHDX_KiB)
#define VHDX_REGION_TABLE_SIZE	(64 * VHDX_KiB)
#define VHDX_REGION_SIGNATURE	0x69676572U	/* "regi" */
#define VHDX_RGN_SIGNATURE	0	/* u32 */
#define VHDX_RGN_CHECKSUM	4	/* u32 */
#define VHDX_RGN_ENTRY_COUNT	8	/* u32 */
#define VHDX_RGN_ENTRIES	16
#define VHDX_RGN_ENTRY_SIZE	32	/* GUID, u64 offset, u32 length, u32 flags */
#define VHDX_RGN_MAX_ENTRIES	2047
#define VHDX_RGN_REQUIRED	0x1

/* The metadata region: a 64 KiB table, then the items it points to. */
#define VHDX_METADATA_TABLE_SIZE (64 * VHDX_KiB)
#define VHDX_METADATA_SIGNATURE	"metadata"
#define VHDX_MD_ENTRY_COUNT	10	/* u16 */
#define VHDX_MD_ENTRIES		32
#define VHDX_MD_ENTRY_SIZE	32	/* GUID, u32 offset, u32 length, u32 flags, u32 */
#define VHDX_MD_MAX_ENTRIES	2047
#define VHDX_MD_IS_USER		0x1
#define VHDX_MD_IS_VIRTUAL_DISK	0x2
#define VHDX_MD_IS_REQUIRED	0x4
#define VHDX_FILE_PARAM_LEAVE_BLOCKS_ALLOCATED 0x1
#define VHDX_FILE_PARAM_HAS_PARENT 0x2

/* Where we place things in a file we create (QEMU uses the same layout). */
#define VHDX_LOG_OFFSET		(1 * VHDX_MiB)
#define VHDX_LOG_LENGTH		(1 * VHDX_MiB)
#define VHDX_METADATA_OFFSET	(2 * VHDX_MiB)
#define VHDX_METADATA_LENGTH	(1 * VHDX_MiB)
#define VHDX_BAT_OFFSET		(3 * VHDX_MiB)

/* Limits of the format. */
#define VHDX_MIN_BLOCK_SIZE	(1 * VHDX_MiB)
#define VHDX_MAX_BLOCK_SIZE	(256 * VHDX_MiB)
#define VHDX_MAX_VIRTUAL_SIZE	(64 * VHDX_TiB)
/* Payload blocks covered by one sector bitmap block: 2^23 sectors. */
#define VHDX_SECTORS_PER_BITMAP	(1ULL << 23)

/* BAT entries: state in bits 0-2, file offset in MiB in bits 20-63. */
#define VHDX_BAT_STATE_MASK	0x7ULL
#define VHDX_BAT_OFFSET_MASK	(~(VHDX_MiB - 1))
#define VHDX_BAT_NOT_PRESENT	0
#define VHDX_BAT_UNDEFINED	1
#define VHDX_BAT_ZERO		2
#define VHDX_BAT_UNMAPPED	3
#define VHDX_BAT_UNMAPPED_V1	5	/* older drafts' UNMAPPED; read as such */
#define VHDX_BAT_FULLY_PRESENT	6
#define VHDX_BAT_PARTIALLY_PRESENT 7	/* differencing disks only */

/* A GUID as stored: Data1..3 little-endian, Data4 as bytes. */
#define VHDX_GUID(d1, d2, d3, d4, d5)                                           \
	{ (d1) & 0xff, ((d1) >> 8) & 0xff, ((d1) >> 16) & 0xff, ((d1) >> 24) & 0xff, \
	  (d2) & 0xff, ((d2) >> 8) & 0xff, (d3) & 0xff, ((d3) >> 8) & 0xff,     \
	  ((d4) >> 8) & 0xff, (d4) & 0xff, ((d5) >> 40) & 0xff, ((d5) >> 32) & 0xff, \
	  ((d5) >> 24) & 0xff, ((d5) >> 16) & 0xff, ((d5) >> 8) & 0xff, (d5) & 0xff }

#define VHDX_GUID_BAT_REGION \
	VHDX_GUID(0x2DC27766U, 0xF623U, 0x4200U, 0x9D64U, 0x115E9BFD4A08ULL)
#define VHDX_GUID_METADATA_REGION \
	VHDX_GUID(0x8B7CA206U, 0x4790U, 0x4B9AU, 0xB8FEU, 0x575F050F886EULL)
#define VHDX_GUID_FILE_PARAMETERS \
	VHDX_GUID(0xCAA16737U, 0xFA36U, 0x4D43U, 0xB3B6U, 0x33F0AA44E76BULL)
#define VHDX_GUID_VIRTUAL_DISK_SIZE \
	VHDX_GUID(0x2FA54224U, 0xCD1BU, 0x4876U, 0xB211U, 0x5DBED83BF4B8ULL)
#define VHDX_GUID_VIRTUAL_DISK_ID \
	VHDX_GUID(0xBECA12ABU, 0xB2E6U, 0x4523U, 0x93EFU, 0xC309E000C746ULL)
#define VHDX_GUID_LOGICAL_SECTOR_SIZE \
	VHDX_GUID(0x8141BF1DU, 0xA96FU, 0x4709U, 0xBA47U, 0xF233A8FAAB5FULL)
#define VHDX_GUID_PHYSICAL_SECTOR_SIZE \
	VHDX_GUID(0xCDA348C7U, 0x445DU, 0x4471U, 0x9CC9U, 0xE9885251C556ULL)
#define VHDX_GUID_PARENT_LOCATOR \
	VHDX_GUID(0xA8D35F2DU, 0xB30BU, 0x454DU, 0xABF7U, 0xD3D84834AB0CULL)

#define VHDX_GUID_SIZE		16

#endif
