// SPDX-License-Identifier: MIT
/*
 * The inverse of disk_populate.c: every inode reachable from the root of an
 * ext4 filesystem becomes an archive entry, directories before their
 * contents, with owners, modes, nanosecond times, extended attributes,
 * device numbers, and hard links as links to the first path seen.
 */
#include <stdlib.h>
#include <string.h>

#include <archive_entry.h>

#include "disk_fs.h"
#include "mkwslimage.h"

#define EXPORT_CHUNK	(1U << 20)

/* Inodes with more than one link, by inode number: their first path. */
struct link_seen {
	ext2_ino_t ino;
	char *path;
};

struct exporter {
	ext2_filsys fs;
	struct archive *a;
	const char *disk_name;
	struct link_seen *links;
	size_t nlinks, links_cap;
	char *buf;
	uint64_t entries, bytes;
	struct progress progress;
};

struct dir_child {
	char *name;
	ext2_ino_t ino;
};

struct dir_listing {
	struct dir_child *child;
	size_t count, capacity;
	int failed;
};

static int collect_child(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
			 int blocksize, char *buf, void *priv)
{
	struct dir_listing *l = priv;
	int len = ext2fs_dirent_name_len(dirent);

	if ((len == 1 && dirent->name[0] == '.') ||
	    (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	if (l->count == l->capacity) {
		size_t cap = l->capacity ? 2 * l->capacity : 32;
		struct dir_child *n = realloc(l->child, cap * sizeof(*n));

		if (!n) {
			l->failed = 1;
			return DIRENT_ABORT;
		}
		l->child = n;
		l->capacity = cap;
	}
	l->child[l->count].name = strndup(dirent->name, len);
	l->child[l->count].ino = dirent->inode;
	if (!l->child[l->count].name) {
		l->failed = 1;
		return DIRENT_ABORT;
	}
	l->count++;
	return 0;
}

static void decode_time(__u32 lo, __u32 extra, int64_t *sec, long *nsec)
{
	*sec = (int32_t)lo + ((int64_t)(extra & EXT4_EPOCH_MASK) << 32);
	*nsec = extra >> EXT4_EPOCH_BITS;
}

static void set_entry_times(struct archive_entry *e, const struct ext2_inode_large *inode)
{
	int64_t sec;
	long nsec;

	decode_time(inode->i_mtime, inode->i_mtime_extra, &sec, &nsec);
	archive_entry_set_mtime(e, sec, nsec);
	decode_time(inode->i_atime, inode->i_atime_extra, &sec, &nsec);
	archive_entry_set_atime(e, sec, nsec);
	decode_time(inode->i_ctime, inode->i_ctime_extra, &sec, &nsec);
	archive_entry_set_ctime(e, sec, nsec);
}

static int add_xattr(char *name, char *value, size_t value_len, void *data)
{
	archive_entry_xattr_add_entry(data, name, value, value_len);
	return 0;
}

static errcode_t read_xattrs(struct exporter *x, ext2_ino_t ino, struct archive_entry *e)
{
	struct ext2_xattr_handle *h;
	errcode_t err = ext2fs_xattrs_open(x->fs, ino, &h);

	if (err)
		return err;
	err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattrs_iterate(h, add_xattr, e);
	ext2fs_xattrs_close(&h);
	return err;
}

static int fail(struct exporter *x, const char *path, const char *what, errcode_t err)
{
	pr_err("%s: /%s: %s: %s", x->disk_name, path, what, disk_fs_strerror(err));
	return -1;
}

static int archive_fail(struct exporter *x, const char *path)
{
	pr_err("writing /%s to the archive: %s", path, archive_error_string(x->a));
	return -1;
}

/* The first path of a multiply-linked inode, or NULL (and remembers this one). */
static const char *first_link(struct exporter *x, ext2_ino_t ino, const char *path)
{
	for (size_t i = 0; i < x->nlinks; i++)
		if (x->links[i].ino == ino)
			return x->links[i].path;
	if (x->nlinks == x->links_cap) {
		size_t cap = x->links_cap ? 2 * x->links_cap : 64;
		struct link_seen *n = realloc(x->links, cap * sizeof(*n));

		if (!n)
			return NULL;
		x->links = n;
		x->links_cap = cap;
	}
	x->links[x->nlinks].ino = ino;
	x->links[x->nlinks].path = strdup(path);
	if (x->links[x->nlinks].path)
		x->nlinks++;
	return NULL;
}

static int read_symlink(struct exporter *x, ext2_ino_t ino, struct ext2_inode_large *inode,
			const char *path, char *target, size_t size)
{
	ext2_file_t f;
	unsigned int got = 0;
	errcode_t err;
	size_t len = EXT2_I_SIZE(inode);

	if (len >= size)
		return fail(x, path, "its link target is too long", EXT2_ET_INVALID_ARGUMENT);
	if (ext2fs_is_fast_symlink((struct ext2_inode *)inode)) {
		memcpy(target, inode->i_block, len);
	} else {
		err = ext2fs_file_open(x->fs, ino, 0, &f);
		if (!err) {
			err = ext2fs_file_read(f, target, len, &got);
			ext2fs_file_close(f);
		}
		if (err || got != len)
			return fail(x, path, "reading its link target", err ?: EXT2_ET_SHORT_READ);
	}
	target[len] = '\0';
	return 0;
}

/* A run of a file: data blocks or a hole (no blocks, or unwritten ones: zeros). */
struct run {
	uint64_t offset, length;
	int hole;
};

struct runs {
	struct run *run;
	size_t count, capacity;
};

static int runs_add(struct runs *r, uint64_t offset, uint64_t length, int hole)
{
	if (r->count && r->run[r->count - 1].hole == hole) {
		r->run[r->count - 1].length += length;
		return 0;
	}
	if (r->count == r->capacity) {
		size_t cap = r->capacity ? 2 * r->capacity : 16;
		struct run *n = realloc(r->run, cap * sizeof(*n));

		if (!n)
			return -1;
		r->run = n;
		r->capacity = cap;
	}
	r->run[r->count++] = (struct run){ offset, length, hole };
	return 0;
}

/*
 * The data and holes of a file that has fewer blocks than its size needs;
 * entries of the archive then record only the data (pax sparse files).
 */
static int find_holes(struct exporter *x, ext2_ino_t ino, struct ext2_inode_large *inode,
		      const char *path, struct runs *r)
{
	uint64_t size = EXT2_I_SIZE(inode), bs = x->fs->blocksize;
	errcode_t err = 0;

	for (uint64_t lblk = 0; !err && lblk * bs < size; lblk++) {
		uint64_t len = size - lblk * bs < bs ? size - lblk * bs : bs;
		blk64_t pblk = 0;
		int flags = 0;

		err = ext2fs_bmap2(x->fs, ino, (struct ext2_inode *)inode, NULL, 0, lblk, &flags,
				   &pblk);
		if (!err && runs_add(r, lblk * bs, len, !pblk || (flags & BMAP_RET_UNINIT)))
			err = EXT2_ET_NO_MEMORY;
	}
	return err ? fail(x, path, "mapping its blocks", err) : 0;
}

static int is_sparse(struct exporter *x, struct ext2_inode_large *inode)
{
	uint64_t size = EXT2_I_SIZE(inode);
	uint64_t blocks = ext2fs_get_stat_i_blocks(x->fs, (struct ext2_inode *)inode) * 512;

	return blocks < size - size % x->fs->blocksize;
}

/* Writes [offset, offset+length) of the file: its bytes, or zeros for a hole. */
static int write_run(struct exporter *x, ext2_file_t f, const char *path, const struct run *r)
{
	errcode_t err = r->hole ? 0 : ext2fs_file_llseek(f, r->offset, EXT2_SEEK_SET, NULL);
	uint64_t left = r->length;

	if (r->hole)
		memset(x->buf, 0, EXPORT_CHUNK);
	while (!err && left) {
		unsigned int got = left < EXPORT_CHUNK ? left : EXPORT_CHUNK;

		/* The archive writer skips what the sparse map calls a hole. */
		if (!r->hole) {
			err = ext2fs_file_read(f, x->buf, got, &got);
			if (!err && !got)
				err = EXT2_ET_SHORT_READ;
			if (err)
				break;
		}
		if (archive_write_data(x->a, x->buf, got) != (la_ssize_t)got)
			return archive_fail(x, path);
		left -= got;
		x->bytes += got;
		progress_update(&x->progress, x->bytes);
	}
	return err ? fail(x, path, "reading its data", err) : 0;
}

static int write_file_data(struct exporter *x, ext2_ino_t ino, const char *path,
			   const struct runs *r)
{
	ext2_file_t f;
	errcode_t err = ext2fs_file_open(x->fs, ino, 0, &f);
	int ret = 0;

	if (err)
		return fail(x, path, "opening it", err);
	for (size_t i = 0; !ret && i < r->count; i++)
		ret = write_run(x, f, path, &r->run[i]);
	ext2fs_file_close(f);
	return ret;
}

static int export_dir(struct exporter *x, ext2_ino_t dir, const char *dir_path);

static int export_inode(struct exporter *x, ext2_ino_t ino, const char *path)
{
	struct ext2_inode_large inode = { 0 };
	struct archive_entry *e;
	const char *hardlink = NULL;
	struct runs runs = { 0 };
	char target[4096];
	errcode_t err;
	int ret = -1;
	mode_t type;

	err = ext2fs_read_inode_full(x->fs, ino, (struct ext2_inode *)&inode, sizeof(inode));
	if (err)
		return fail(x, path, "reading its inode", err);
	type = inode.i_mode & LINUX_S_IFMT;
	e = archive_entry_new();
	if (!e)
		return fail(x, path, "making its entry", EXT2_ET_NO_MEMORY);
	archive_entry_copy_pathname(e, *path ? path : ".");
	archive_entry_set_mode(e, inode.i_mode);
	archive_entry_set_uid(e, inode_uid(inode));
	archive_entry_set_gid(e, inode_gid(inode));
	set_entry_times(e, &inode);
	if (type != LINUX_S_IFDIR && inode.i_links_count > 1)
		hardlink = first_link(x, ino, path);
	if (hardlink) {
		archive_entry_copy_hardlink(e, hardlink);
		archive_entry_set_size(e, 0);
	} else if (type == LINUX_S_IFREG) {
		archive_entry_set_size(e, EXT2_I_SIZE(&inode));
		if (is_sparse(x, &inode)) {
			if (find_holes(x, ino, &inode, path, &runs))
				goto out;
			for (size_t i = 0; i < runs.count; i++)
				if (!runs.run[i].hole)
					archive_entry_sparse_add_entry(e, runs.run[i].offset,
								       runs.run[i].length);
		} else if (EXT2_I_SIZE(&inode) && runs_add(&runs, 0, EXT2_I_SIZE(&inode), 0)) {
			fail(x, path, "listing its data", EXT2_ET_NO_MEMORY);
			goto out;
		}
	} else if (type == LINUX_S_IFLNK) {
		if (read_symlink(x, ino, &inode, path, target, sizeof(target)))
			goto out;
		archive_entry_copy_symlink(e, target);
	} else if (type == LINUX_S_IFCHR || type == LINUX_S_IFBLK) {
		if (inode.i_block[0]) {
			archive_entry_set_rdevmajor(e, (inode.i_block[0] >> 8) & 0xff);
			archive_entry_set_rdevminor(e, inode.i_block[0] & 0xff);
		} else {
			archive_entry_set_rdevmajor(e, (inode.i_block[1] & 0xfff00) >> 8);
			archive_entry_set_rdevminor(e, (inode.i_block[1] & 0xff) |
							       ((inode.i_block[1] >> 12) & 0xfff00));
		}
	}
	if (!hardlink) {
		err = read_xattrs(x, ino, e);
		if (err) {
			fail(x, path, "reading its extended attributes", err);
			goto out;
		}
	}
	if (archive_write_header(x->a, e) != ARCHIVE_OK) {
		archive_fail(x, path);
		goto out;
	}
	x->entries++;
	if (!hardlink && type == LINUX_S_IFREG && write_file_data(x, ino, path, &runs))
		goto out;
	ret = type == LINUX_S_IFDIR ? export_dir(x, ino, path) : 0;
out:
	free(runs.run);
	archive_entry_free(e);
	return ret;
}

static int dir_is_empty(struct exporter *x, ext2_ino_t dir)
{
	struct dir_listing l = { 0 };
	errcode_t err = ext2fs_dir_iterate2(x->fs, dir, 0, NULL, collect_child, &l);
	int empty = !err && !l.failed && !l.count;

	for (size_t i = 0; i < l.count; i++)
		free(l.child[i].name);
	free(l.child);
	return empty;
}

static int export_dir(struct exporter *x, ext2_ino_t dir, const char *dir_path)
{
	struct dir_listing l = { 0 };
	errcode_t err = ext2fs_dir_iterate2(x->fs, dir, 0, NULL, collect_child, &l);
	int ret = 0;

	if (err || l.failed)
		ret = fail(x, dir_path, "listing the directory", err ?: EXT2_ET_NO_MEMORY);
	for (size_t i = 0; i < l.count; i++) {
		char *path = NULL;

		/* mkfs made lost+found; while empty it is no file of the distro's. */
		if (dir == EXT2_ROOT_INO && !strcmp(l.child[i].name, "lost+found") &&
		    ext2fs_check_directory(x->fs, l.child[i].ino) == 0 &&
		    dir_is_empty(x, l.child[i].ino)) {
			free(l.child[i].name);
			continue;
		}

		if (!ret && asprintf(&path, "%s%s%s", dir_path, *dir_path ? "/" : "",
				     l.child[i].name) < 0)
			ret = fail(x, dir_path, "naming an entry", EXT2_ET_NO_MEMORY);
		if (!ret)
			ret = export_inode(x, l.child[i].ino, path);
		free(path);
		free(l.child[i].name);
	}
	free(l.child);
	return ret;
}

int fs_export(ext2_filsys fs, struct archive *a, const char *disk_name, uint64_t *entries)
{
	struct exporter x = { .fs = fs, .a = a, .disk_name = disk_name };
	int ret;

	x.buf = malloc(EXPORT_CHUNK);
	if (!x.buf) {
		pr_err("%s: out of memory", disk_name);
		return -1;
	}
	progress_start(&x.progress, "exporting", 0);
	ret = export_inode(&x, EXT2_ROOT_INO, "");
	progress_end(&x.progress);
	for (size_t i = 0; i < x.nlinks; i++)
		free(x.links[i].path);
	free(x.links);
	free(x.buf);
	*entries = x.entries;
	return ret;
}
