// SPDX-License-Identifier: MIT
/*
 * A tarball's entries become files of the ext4 filesystem, in one pass in
 * archive order: every type tar carries, owners, modes, nanosecond times,
 * extended attributes, hard links and sparse files.  Directories missing
 * from the archive are made as they are needed (0755, root).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive_entry.h>

#include "disk_fs.h"
#include "mkwslimage.h"

struct populate {
	ext2_filsys fs;
	struct tar_source *src;
	struct archive *a;
	const char *source;
	struct path_map *paths;
	int64_t default_time;
	struct populate_stats *stats;
	struct data_writer data;
	struct progress progress;
	char entry[4096];	/* the entry being added, for messages */
};

static int fs_fail(struct populate *p, const char *what, errcode_t err)
{
	pr_err("%s: %s: %s: %s", p->source, p->entry, what, disk_fs_strerror(err));
	return -1;
}

/* ext4 keeps seconds' high bits (epoch) and nanoseconds in the "extra" word. */
static void set_time(__u32 *lo, __u32 *extra, int64_t sec, long nsec)
{
	*lo = (__u32)sec;
	*extra = ((__u32)nsec << EXT4_EPOCH_BITS) |
		 ((__u32)((sec - (int32_t)(__u32)sec) >> 32) & EXT4_EPOCH_MASK);
}

static void set_times(struct ext2_inode_large *inode, struct archive_entry *e, int64_t fallback)
{
	int64_t mtime = archive_entry_mtime_is_set(e) ? archive_entry_mtime(e) : fallback;
	long mtime_ns = archive_entry_mtime_is_set(e) ? archive_entry_mtime_nsec(e) : 0;

	set_time(&inode->i_mtime, &inode->i_mtime_extra, mtime, mtime_ns);
	if (archive_entry_atime_is_set(e))
		set_time(&inode->i_atime, &inode->i_atime_extra, archive_entry_atime(e),
			 archive_entry_atime_nsec(e));
	else
		set_time(&inode->i_atime, &inode->i_atime_extra, mtime, mtime_ns);
	if (archive_entry_ctime_is_set(e))
		set_time(&inode->i_ctime, &inode->i_ctime_extra, archive_entry_ctime(e),
			 archive_entry_ctime_nsec(e));
	else
		set_time(&inode->i_ctime, &inode->i_ctime_extra, mtime, mtime_ns);
	if (archive_entry_birthtime_is_set(e))
		set_time(&inode->i_crtime, &inode->i_crtime_extra, archive_entry_birthtime(e),
			 archive_entry_birthtime_nsec(e));
	else
		set_time(&inode->i_crtime, &inode->i_crtime_extra, mtime, mtime_ns);
}

static void set_owner(struct ext2_inode_large *inode, struct archive_entry *e)
{
	uint32_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);

	inode->i_uid = uid;
	ext2fs_set_i_uid_high(*inode, uid >> 16);
	inode->i_gid = gid;
	ext2fs_set_i_gid_high(*inode, gid >> 16);
}

static int read_inode(struct populate *p, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t err;

	memset(inode, 0, sizeof(*inode));
	err = ext2fs_read_inode_full(p->fs, ino, (struct ext2_inode *)inode, sizeof(*inode));
	return err ? fs_fail(p, "reading its inode", err) : 0;
}

static int write_inode(struct populate *p, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t err = ext2fs_write_inode_full(p->fs, ino, (struct ext2_inode *)inode,
						sizeof(*inode));

	return err ? fs_fail(p, "writing its inode", err) : 0;
}

/* Links ino into dir, growing the directory when it is full. */
static int add_link(struct populate *p, ext2_ino_t dir, const char *name, ext2_ino_t ino,
		    int filetype)
{
	errcode_t err = ext2fs_link(p->fs, dir, name, ino, filetype);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(p->fs, dir);
		if (!err)
			err = ext2fs_link(p->fs, dir, name, ino, filetype);
	}
	return err ? fs_fail(p, "adding it to its directory", err) : 0;
}

static int make_dir(struct populate *p, ext2_ino_t parent, const char *name, ext2_ino_t *ino)
{
	errcode_t err = ext2fs_new_inode(p->fs, parent, LINUX_S_IFDIR | 0755, 0, ino);

	if (!err)
		err = ext2fs_mkdir(p->fs, parent, *ino, name);
	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(p->fs, parent);
		if (!err)
			err = ext2fs_mkdir(p->fs, parent, *ino, name);
	}
	return err ? fs_fail(p, "making a directory", err) : 0;
}

/* The inode of directory path, made (0755, root, default time) if missing. */
static int parent_dir(struct populate *p, char *path, ext2_ino_t *out)
{
	char *slash = strrchr(path, '/');
	struct ext2_inode_large inode;
	ext2_ino_t parent, ino;
	int ret;

	if (!slash) {
		*out = EXT2_ROOT_INO;
		return 0;
	}
	*slash = '\0';
	ino = path_map_get(p->paths, path);
	if (!ino) {
		ret = parent_dir(p, path, &parent);
		if (!ret)
			ret = make_dir(p, parent, strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
				       &ino);
		if (!ret)
			ret = read_inode(p, ino, &inode);
		if (!ret) {
			set_time(&inode.i_mtime, &inode.i_mtime_extra, p->default_time, 0);
			inode.i_atime = inode.i_ctime = inode.i_crtime = inode.i_mtime;
			inode.i_atime_extra = inode.i_ctime_extra = inode.i_crtime_extra =
				inode.i_mtime_extra;
			ret = write_inode(p, ino, &inode);
		}
		if (!ret && path_map_add(p->paths, path, ino))
			ret = fs_fail(p, "remembering its path", EXT2_ET_NO_MEMORY);
		if (ret) {
			*slash = '/';
			return ret;
		}
	}
	*slash = '/';
	*out = ino;
	return 0;
}

static int write_xattrs(struct populate *p, ext2_ino_t ino, struct archive_entry *e)
{
	struct ext2_xattr_handle *h;
	const char *name;
	const void *value;
	size_t size;
	errcode_t err;

	if (!archive_entry_xattr_reset(e))
		return 0;
	err = ext2fs_xattrs_open(p->fs, ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	while (!err && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		err = ext2fs_xattr_set(h, name, value, size);
	if (h) {
		errcode_t close_err = ext2fs_xattrs_close(&h);

		err = err ? err : close_err;
	}
	return err ? fs_fail(p, "storing its extended attributes", err) : 0;
}

static void show_progress(void *ctx)
{
	struct populate *p = ctx;

	progress_update(&p->progress, p->src->size ? tar_source_consumed(p->src) : p->data.bytes);
}

/* Copies a sparse entry's data block by block, leaving holes where the archive has them. */
static int write_sparse_data(struct populate *p, ext2_ino_t ino, struct archive_entry *e)
{
	ext2_file_t file;
	const void *buf;
	size_t size;
	la_int64_t offset;
	errcode_t err;
	int r;

	err = ext2fs_file_open(p->fs, ino, EXT2_FILE_WRITE, &file);
	if (err)
		return fs_fail(p, "opening it for writing", err);
	while ((r = archive_read_data_block(p->a, &buf, &size, &offset)) == ARCHIVE_OK) {
		unsigned int written;

		err = ext2fs_file_llseek(file, offset, EXT2_SEEK_SET, NULL);
		while (!err && size) {
			err = ext2fs_file_write(file, buf, size > (1U << 30) ? 1U << 30 : size,
						&written);
			buf = (const char *)buf + written;
			size -= written;
			p->data.bytes += written;
		}
		if (err) {
			ext2fs_file_close(file);
			return fs_fail(p, "writing its data", err);
		}
		show_progress(p);
	}
	if (r != ARCHIVE_EOF) {
		pr_err("%s: %s: reading its data: %s", p->source, p->entry,
		       archive_error_string(p->a));
		ext2fs_file_close(file);
		return -1;
	}
	err = ext2fs_file_set_size2(file, archive_entry_size(e));
	if (!err)
		err = ext2fs_file_close(file);
	else
		ext2fs_file_close(file);
	return err ? fs_fail(p, "setting its size", err) : 0;
}

static int write_data(struct populate *p, ext2_ino_t ino, struct archive_entry *e)
{
	int ret = fs_write_file_data(p->fs, ino, p->a, e, &p->data);

	if (ret == 1)
		return write_sparse_data(p, ino, e);
	if (ret && p->data.archive_failed) {
		pr_err("%s: %s: reading its data: %s", p->source, p->entry,
		       archive_error_string(p->a));
		return -1;
	}
	return ret ? fs_fail(p, "writing its data", p->data.error) : 0;
}

/* Where mke2fs's populate_fs puts device numbers (old and new encodings). */
static void set_device(struct ext2_inode_large *inode, unsigned int major, unsigned int minor)
{
	if (major < 256 && minor < 256) {
		inode->i_block[0] = major * 256 + minor;
	} else {
		inode->i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
	}
}

static int file_type_of(mode_t type)
{
	switch (type) {
	case AE_IFREG: return EXT2_FT_REG_FILE;
	case AE_IFDIR: return EXT2_FT_DIR;
	case AE_IFLNK: return EXT2_FT_SYMLINK;
	case AE_IFCHR: return EXT2_FT_CHRDEV;
	case AE_IFBLK: return EXT2_FT_BLKDEV;
	case AE_IFIFO: return EXT2_FT_FIFO;
	case AE_IFSOCK: return EXT2_FT_SOCK;
	}
	return EXT2_FT_UNKNOWN;
}

static int add_hardlink(struct populate *p, ext2_ino_t dir, const char *name,
			struct archive_entry *e)
{
	char *target = strdup(archive_entry_hardlink(e));
	struct ext2_inode_large inode;
	const char *why;
	ext2_ino_t ino = 0;
	int ret = -1;

	if (!target)
		return fs_fail(p, "reading its link target", EXT2_ET_NO_MEMORY);
	if (tar_path_normalize(target, &why))
		pr_err("%s: %s: hard link to '%s': %s", p->source, p->entry,
		       archive_entry_hardlink(e), why);
	else if (!(ino = path_map_get(p->paths, target)))
		pr_err("%s: %s: hard link to '%s', which is not earlier in the archive",
		       p->source, p->entry, target);
	else if (!read_inode(p, ino, &inode)) {
		if (LINUX_S_ISDIR(inode.i_mode))
			pr_err("%s: %s: hard link to directory '%s'", p->source, p->entry, target);
		else if (!add_link(p, dir, name, ino, file_type_of(inode.i_mode & LINUX_S_IFMT))) {
			inode.i_links_count++;
			ret = write_inode(p, ino, &inode);
		}
	}
	if (!ret && path_map_add(p->paths, p->entry, ino))
		ret = fs_fail(p, "remembering its path", EXT2_ET_NO_MEMORY);
	free(target);
	return ret;
}

/* A directory that exists already (root, lost+found, made implicitly) takes the entry's metadata. */
static int update_dir(struct populate *p, ext2_ino_t ino, struct archive_entry *e)
{
	struct ext2_inode_large inode;

	if (read_inode(p, ino, &inode))
		return -1;
	if (!LINUX_S_ISDIR(inode.i_mode) || archive_entry_filetype(e) != AE_IFDIR) {
		pr_err("%s: %s: appears twice in the archive, not both times as a directory",
		       p->source, p->entry);
		return -1;
	}
	inode.i_mode = LINUX_S_IFDIR | (archive_entry_perm(e) & 07777);
	set_owner(&inode, e);
	set_times(&inode, e, p->default_time);
	if (write_inode(p, ino, &inode))
		return -1;
	return write_xattrs(p, ino, e);
}

static int add_new(struct populate *p, ext2_ino_t dir, const char *name, struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);
	struct ext2_inode_large inode;
	ext2_ino_t ino;
	errcode_t err;

	if (type == AE_IFDIR) {
		if (make_dir(p, dir, name, &ino) || read_inode(p, ino, &inode))
			return -1;
	} else {
		if (file_type_of(type) == EXT2_FT_UNKNOWN) {
			pr_err("%s: %s: entry of unknown type %#o", p->source, p->entry, type);
			return -1;
		}
		err = ext2fs_new_inode(p->fs, dir, type, 0, &ino);
		if (err)
			return fs_fail(p, "allocating an inode", err);
		if (type == AE_IFLNK) {
			err = ext2fs_symlink(p->fs, dir, ino, name, archive_entry_symlink(e));
			if (err == EXT2_ET_DIR_NO_SPACE) {
				err = ext2fs_expand_dir(p->fs, dir);
				if (!err)
					err = ext2fs_symlink(p->fs, dir, ino, name,
							     archive_entry_symlink(e));
			}
			if (err)
				return fs_fail(p, "making the symbolic link", err);
			if (read_inode(p, ino, &inode))
				return -1;
		} else {
			ext2fs_inode_alloc_stats2(p->fs, ino, +1, 0);
			memset(&inode, 0, sizeof(inode));
			inode.i_extra_isize = sizeof(inode) - EXT2_GOOD_OLD_INODE_SIZE;
			inode.i_links_count = 1;
			if (type == AE_IFCHR || type == AE_IFBLK)
				set_device(&inode, archive_entry_rdevmajor(e),
					   archive_entry_rdevminor(e));
			if (type == AE_IFREG) {
				ext2_extent_handle_t h;

				/* Opening an extent tree on a new inode sets its header up. */
				err = ext2fs_extent_open2(p->fs, ino, (struct ext2_inode *)&inode, &h);
				if (err)
					return fs_fail(p, "starting its extent tree", err);
				ext2fs_extent_free(h);
			}
			inode.i_mode = type;
			if (add_link(p, dir, name, ino, file_type_of(type)))
				return -1;
		}
	}
	inode.i_mode = type | (archive_entry_perm(e) & 07777);
	set_owner(&inode, e);
	set_times(&inode, e, p->default_time);
	if (write_inode(p, ino, &inode))
		return -1;
	if (type == AE_IFREG && archive_entry_size(e) && write_data(p, ino, e))
		return -1;
	if (write_xattrs(p, ino, e))
		return -1;
	if (path_map_add(p->paths, p->entry, ino))
		return fs_fail(p, "remembering its path", EXT2_ET_NO_MEMORY);
	return 0;
}

static int add_entry(struct populate *p, struct archive_entry *e)
{
	const char *name, *why;
	ext2_ino_t dir, existing;

	snprintf(p->entry, sizeof(p->entry), "%s", archive_entry_pathname(e) ?: "");
	if (strlen(archive_entry_pathname(e) ?: "") >= sizeof(p->entry)) {
		pr_err("%s: an entry's path is longer than %zu bytes", p->source, sizeof(p->entry));
		return -1;
	}
	if (tar_path_normalize(p->entry, &why)) {
		pr_err("%s: entry '%s': %s; refusing the archive", p->source,
		       archive_entry_pathname(e), why);
		return -1;
	}
	p->stats->entries++;
	if (!p->entry[0])
		return update_dir(p, EXT2_ROOT_INO, e);
	existing = path_map_get(p->paths, p->entry);
	if (existing)
		return update_dir(p, existing, e);
	if (parent_dir(p, p->entry, &dir))
		return -1;
	name = strrchr(p->entry, '/') ? strrchr(p->entry, '/') + 1 : p->entry;
	if (strlen(name) > EXT2_NAME_LEN) {
		pr_err("%s: %s: a name longer than ext4's %d bytes", p->source, p->entry,
		       EXT2_NAME_LEN);
		return -1;
	}
	if (archive_entry_hardlink(e))
		return add_hardlink(p, dir, name, e);
	return add_new(p, dir, name, e);
}

int fs_populate(ext2_filsys fs, struct tar_source *src, struct archive_entry *first,
		int64_t default_time, struct populate_stats *stats)
{
	struct populate p = {
		.fs = fs, .src = src, .a = src->tar, .source = src->name,
		.default_time = default_time, .stats = stats,
	};
	struct archive_entry *e = first;
	ext2_ino_t lost_found;
	int r, ret = 0;

	/* lost+found exists already: an entry for it only sets its metadata. */
	p.paths = path_map_new();
	if (!p.paths || ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &lost_found) ||
	    path_map_add(p.paths, "lost+found", lost_found)) {
		pr_err("%s: out of memory", src->name);
		path_map_free(p.paths);
		return -1;
	}
	/* Progress through the input file when its size is known, else bytes written. */
	progress_start(&p.progress, "writing files", src->size);
	p.data.progress = show_progress;
	p.data.progress_ctx = &p;
	while (!ret && e) {
		ret = add_entry(&p, e);
		if (ret)
			break;
		r = archive_read_next_header(src->tar, &e);
		if (r == ARCHIVE_EOF)
			e = NULL;
		else if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			pr_err("%s: reading the entry after '%s': %s", src->name, p.entry,
			       archive_error_string(src->tar));
			ret = -1;
		}
	}
	progress_end(&p.progress);
	stats->bytes = p.data.bytes;
	free(p.data.chunk);
	path_map_free(p.paths);
	return ret;
}
