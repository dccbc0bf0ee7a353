// SPDX-License-Identifier: MIT
/*
 * An empty ext4 filesystem, made with libext2fs as mke2fs makes it with
 * Debian's defaults (journal, extents, flex_bg, 64bit, metadata_csum...),
 * but knowing the disk is fresh: blocks never written read as zeros, so
 * inode tables and the journal need no zeroing and stay unallocated in
 * the image.  UUID, hash seed and times come from the caller: the same
 * identity gives the same bytes.
 */
#include <string.h>

#include "disk_fs.h"
#include "mkwslimage.h"

static void fs_params(struct ext2_super_block *p, uint64_t disk_size)
{
	uint64_t blocks = disk_size / FS_BLOCK_SIZE;

	memset(p, 0, sizeof(*p));
	ext2fs_blocks_count_set(p, blocks);
	p->s_log_block_size = 2;	/* 1024 << 2 */
	p->s_rev_level = EXT2_DYNAMIC_REV;
	p->s_inode_size = FS_INODE_SIZE;
	p->s_inodes_count = blocks * FS_BLOCK_SIZE / FS_BYTES_PER_INODE;
	p->s_log_groups_per_flex = FS_LOG_GROUPS_PER_FLEX;
	p->s_min_extra_isize = p->s_want_extra_isize =
		sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	p->s_feature_compat = EXT2_FEATURE_COMPAT_DIR_INDEX | EXT2_FEATURE_COMPAT_EXT_ATTR;
	p->s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS |
				EXT4_FEATURE_INCOMPAT_FLEX_BG | EXT4_FEATURE_INCOMPAT_64BIT;
	p->s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |
				 EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
				 EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
				 EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE |
				 EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;
}

static errcode_t make_lost_and_found(ext2_filsys fs)
{
	ext2_ino_t ino;
	errcode_t err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");

	if (!err)
		err = ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &ino);
	/* e2fsck wants room in it without allocating: 16 KiB, as mke2fs. */
	for (unsigned int size = FS_BLOCK_SIZE; !err && size < FS_LOST_FOUND_SIZE;
	     size += FS_BLOCK_SIZE)
		err = ext2fs_expand_dir(fs, ino);
	return err;
}

static void reserve_special_inodes(ext2_filsys fs)
{
	for (ext2_ino_t ino = EXT2_ROOT_INO + 1; ino < EXT2_FIRST_INODE(fs->super); ino++)
		ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
	ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
	ext2fs_mark_ib_dirty(fs);
}

int fs_create(struct disk *d, const struct fs_identity *id, ext2_filsys *out)
{
	struct ext2_super_block params;
	struct ext2fs_journal_params journal;
	const char *step = "initializing the superblock";
	ext2_filsys fs;
	errcode_t err;

	if (d->size < FS_MIN_SIZE) {
		pr_err("%s: %llu bytes is too small for an ext4 filesystem (at least %llu MiB)",
		       d->name, (unsigned long long)d->size, FS_MIN_SIZE >> 20);
		return -1;
	}
	fs_params(&params, d->size);
	disk_io_attach(d);
	err = ext2fs_initialize("disk", EXT2_FLAG_64BITS | EXT2_FLAG_RW, &params,
				disk_io_manager, &fs);
	if (err)
		goto fail_no_fs;
	fs->now = id->epoch;
	/*
	 * We write every block ourselves: verifying each checksum again on
	 * every reread (a directory is reread for each name added) would be
	 * most of the work.  Checksums are still computed on every write.
	 */
	fs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;
	fs->super->s_mkfs_time = fs->super->s_lastcheck = fs->super->s_wtime = id->epoch;
	fs->super->s_max_mnt_count = -1;
	memcpy(fs->super->s_uuid, id->uuid, sizeof(id->uuid));
	fs->super->s_checksum_type = EXT2_CRC32C_CHKSUM;
	ext2fs_init_csum_seed(fs);
	memcpy(fs->super->s_hash_seed, id->hash_seed, sizeof(id->hash_seed));
	fs->super->s_def_hash_version = EXT2_HASH_HALF_MD4;
	/* x86's char is signed; the kernel's dir hashes follow (as mke2fs sets). */
	fs->super->s_flags |= (char)-1 < 0 ? EXT2_FLAGS_SIGNED_HASH : EXT2_FLAGS_UNSIGNED_HASH;
	if (id->label)
		strncpy((char *)fs->super->s_volume_name, id->label,
			sizeof(fs->super->s_volume_name));

	step = "allocating group tables";
	err = ext2fs_allocate_tables(fs);
	if (!err)
		err = ext2fs_convert_subcluster_bitmap(fs, &fs->block_map);
	if (err)
		goto fail;
	/* A fresh image reads as zeros: the inode tables are zeroed already. */
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
		ext2fs_group_desc_csum_set(fs, g);
	}
	step = "making the root directory";
	err = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, 0);
	if (err)
		goto fail;
	step = "making lost+found";
	err = make_lost_and_found(fs);
	if (err)
		goto fail;
	reserve_special_inodes(fs);
	step = "writing the bad blocks inode";
	err = ext2fs_update_bb_inode(fs, NULL);
	if (err)
		goto fail;
	step = "adding the journal";
	err = ext2fs_get_journal_params(&journal, fs);
	if (!err)
		err = ext2fs_add_journal_inode3(fs, &journal, ~0ULL,
						EXT2_MKJOURNAL_LAZYINIT | EXT2_MKJOURNAL_NO_MNT_CHECK);
	if (err)
		goto fail;
	*out = fs;
	return 0;
fail:
	ext2fs_free(fs);
fail_no_fs:
	pr_err("%s: making the filesystem: %s: %s", d->name, step, disk_fs_strerror(err));
	return -1;
}
