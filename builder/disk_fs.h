/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_DISK_FS_H
#define BUILDER_DISK_FS_H

/*
 * mkwslimage disk and export: an ext4 filesystem made and read by
 * libext2fs directly inside a disk image (lib/include/disk.h), through an
 * io_manager backed by that image, so no intermediate raw file exists.
 */

#include <stdint.h>

#include <archive.h>
#include <ext2fs/ext2fs.h>

#include "disk.h"
#include "disk_source.h"

#define FS_BLOCK_SIZE		4096
#define FS_INODE_SIZE		256
#define FS_BYTES_PER_INODE	16384	/* mke2fs.conf's default ratio */
#define FS_LOG_GROUPS_PER_FLEX	4
#define FS_LOST_FOUND_SIZE	16384	/* as mke2fs makes it */
#define FS_MIN_SIZE		(64ULL << 20)

/* The io_manager: ext2fs_open/initialize with name "disk" reach this disk. */
extern io_manager disk_io_manager;
void disk_io_attach(struct disk *d);

/* Explains an ext2fs error code, with the disk's own message when it has one. */
const char *disk_fs_strerror(errcode_t err);

struct fs_identity {
	uint8_t uuid[16];	/* filesystem UUID */
	uint32_t hash_seed[4];	/* directory index hash seed */
	int64_t epoch;		/* mkfs, lost+found and write times */
	const char *label;
};

/* Makes an empty ext4 filesystem spanning the attached disk. */
int fs_create(struct disk *d, const struct fs_identity *id, ext2_filsys *out);

/* Path → inode for everything added so far; paths are relative, no "./". */
struct path_map;
struct path_map *path_map_new(void);
void path_map_free(struct path_map *m);
int path_map_add(struct path_map *m, const char *path, ext2_ino_t ino);
ext2_ino_t path_map_get(const struct path_map *m, const char *path);

/*
 * Normalizes a tar entry's path in place: drops "./" and "//" pieces and a
 * trailing "/".  Fails (with why) for absolute paths and ".." components.
 */
int tar_path_normalize(char *path, const char **why);

/* Writes a regular file's data (see disk_data.c); one per build, reused. */
struct data_writer {
	uint8_t *chunk;
	uint64_t bytes;			/* written so far, all files */
	void (*progress)(void *ctx);
	void *progress_ctx;
	errcode_t error;		/* why the last call failed, for the filesystem */
	int archive_failed;		/* or: reading the archive failed */
};

/*
 * Allocates the file's blocks at once and writes the entry's data into
 * them.  0 done, 1 a sparse entry (left for ext2fs_file), -1 failed.
 */
int fs_write_file_data(ext2_filsys fs, ext2_ino_t ino, struct archive *a,
		       struct archive_entry *e, struct data_writer *w);

struct populate_stats {
	uint64_t entries, bytes;
};

/* Adds every entry of the tarball (its first one already read) to fs. */
int fs_populate(ext2_filsys fs, struct tar_source *src, struct archive_entry *first,
		int64_t default_time, struct populate_stats *stats);

/* Writes every file of fs into the archive, directories before their contents. */
int fs_export(ext2_filsys fs, struct archive *a, const char *disk_name, uint64_t *entries);

#endif
