// SPDX-License-Identifier: MIT
/*
 * A version-1 distro's root directory on the host, and the conversions
 * between it and a tarball, through libarchive: every file, owner, mode,
 * timestamp, extended attribute and link is kept (numeric owners: the
 * names are the distro's, not the host's).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "wsl.h"

#define BLOCK (1 << 20)

/* No name lookups are set up, so owners are restored by number. */
int rootfs_extract(const char *tarball, const char *dir)
{
	int flags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
		    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS |
		    ARCHIVE_EXTRACT_SPARSE |
		    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	struct archive_entry *e;
	int r, ret = -1, cwd = -1;
	struct timespec root_times[2];
	uid_t root_uid = 0;
	gid_t root_gid = 0;
	mode_t root_mode = 0755;
	bool root_set = false;

	if (!in || !out || archive_read_support_filter_all(in) ||
	    archive_read_support_format_tar(in) || archive_write_disk_set_options(out, flags) ||
	    archive_read_open_filename(in, strcmp(tarball, "-") ? tarball : NULL, BLOCK)) {
		pr_err("%s: %s", tarball, in ? archive_error_string(in) : "out of memory");
		goto out;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		pr_err("cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	/* As tar -C does: relative names, so the SECURE_* checks confine them to DIR. */
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(dir)) {
		pr_err("%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);

		/* The root itself: libarchive leaves DIR's times as they are; we do not. */
		if (!strcmp(name, ".") || !strcmp(name, "./")) {
			root_set = true;
			root_mode = archive_entry_perm(e);
			root_uid = archive_entry_uid(e);
			root_gid = archive_entry_gid(e);
			root_times[0].tv_sec = archive_entry_atime(e);
			root_times[0].tv_nsec = archive_entry_atime_nsec(e);
			root_times[1].tv_sec = archive_entry_mtime(e);
			root_times[1].tv_nsec = archive_entry_mtime_nsec(e);
			continue;
		}
		r = archive_read_extract2(in, e, out);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			pr_err("%s: %s", archive_entry_pathname(e), archive_error_string(out));
			goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		pr_err("%s: %s", tarball, archive_error_string(in));
		goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		pr_err("%s: %s", dir, archive_error_string(out));
		goto out;
	}
	if (root_set && (chown(".", root_uid, root_gid) || chmod(".", root_mode) ||
			 utimensat(AT_FDCWD, ".", root_times, 0))) {
		pr_err("%s: %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	archive_read_free(in);
	archive_write_free(out);
	if (cwd >= 0) {
		if (fchdir(cwd))
			ret = -1;
		close(cwd);
	}
	return ret;
}

static int copy_data(struct archive *out, struct archive_entry *e)
{
	const char *src = archive_entry_sourcepath(e);
	char buf[65536];
	ssize_t n;
	int fd;

	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) == 0 ||
	    archive_entry_hardlink(e))
		return 0;
	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		pr_err("%s: %s", src, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(out, buf, n) != n) {
			pr_err("%s: %s", src, archive_error_string(out));
			close(fd);
			return -1;
		}
	close(fd);
	return n < 0 ? -1 : 0;
}

/* "DIR/etc/passwd" → "./etc/passwd", as distro tarballs name their entries. */
static int relative_name(struct archive_entry *e, size_t skip)
{
	const char *path = archive_entry_pathname(e) + skip;
	char *rel;

	while (*path == '/')
		path++;
	if (asprintf(&rel, "./%s", path) < 0)
		return -1;
	archive_entry_set_pathname(e, rel);
	free(rel);
	return 0;
}

static int write_entry(struct archive *out, struct archive_entry *e)
{
	if (archive_write_header(out, e) != ARCHIVE_OK) {
		pr_err("%s: %s", archive_entry_pathname(e), archive_error_string(out));
		return -1;
	}
	return copy_data(out, e);
}

int rootfs_archive(const char *dir, const char *tarball)
{
	struct archive *disk = archive_read_disk_new(), *out = archive_write_new();
	struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
	struct archive_entry *e, *spare;
	size_t skip = strlen(dir);
	int r, ret = -1;

	if (!disk || !out || !links || archive_write_set_format_pax(out) ||
	    archive_write_add_filter_none(out) || archive_write_open_filename(out, tarball) ||
	    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS) ||
	    archive_read_disk_open(disk, dir)) {
		pr_err("%s: %s", dir, disk ? archive_error_string(disk) : "out of memory");
		goto out;
	}
	/* Hard links become links in the archive, with the data once. */
	archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	for (;;) {
		e = archive_entry_new();
		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			pr_err("%s: %s", dir, archive_error_string(disk));
			archive_entry_free(e);
			goto out;
		}
		archive_read_disk_descend(disk);
		/* Owners stay numbers: these are the distro's users, not the host's. */
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		if (relative_name(e, skip))
			goto out;
		archive_entry_linkify(links, &e, &spare);
		if (e && write_entry(out, e)) {
			archive_entry_free(e);
			goto out;
		}
		archive_entry_free(e);
		if (spare && write_entry(out, spare)) {
			archive_entry_free(spare);
			goto out;
		}
		archive_entry_free(spare);
	}
	/* Entries the resolver still holds (links whose other names never came). */
	for (e = NULL, archive_entry_linkify(links, &e, &spare); e;
	     archive_entry_linkify(links, &e, &spare)) {
		int bad = write_entry(out, e);

		archive_entry_free(e);
		e = NULL;
		if (bad)
			goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		pr_err("%s: %s", tarball, archive_error_string(out));
		goto out;
	}
	ret = 0;
out:
	archive_entry_linkresolver_free(links);
	archive_read_free(disk);
	archive_write_free(out);
	return ret;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int rootfs_remove(const char *dir)
{
	if (nftw(dir, remove_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) && errno != ENOENT) {
		pr_err("cannot remove %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}
