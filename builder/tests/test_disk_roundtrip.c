// SPDX-License-Identifier: MIT
/*
 * mkwslimage disk and export, end to end: a tarball with every kind of
 * entry (made here with libarchive) goes into a VHDX; the filesystem inside
 * is compared entry by entry with the tarball (read back with libext2fs
 * through the disk library), and the exported tarball's listing with the
 * original's.  Bad tarballs must fail with a message and leave no output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "../disk_fs.h"

static char work[64];
static char mkwslimage[4096];

/* ---- making test tarballs ---- */

struct spec {
	const char *path;
	mode_t type;
	mode_t perm;
	unsigned int uid, gid;
	size_t size;		/* regular files: bytes of pattern data */
	const char *target;	/* symlink target or hard link target */
	unsigned int major, minor;
	long nsec;
	int sparse;		/* regular file with a 3 MiB hole in the middle */
	int xattrs;
};

#define LONG_NAME "a-name-of-exactly-two-hundred-and-fifty-five-bytes-" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxx"
#define LONG_TARGET "/a/symlink/target/longer/than/the/sixty/bytes/that/fit/in/the/inode/itself"

static const struct spec rootfs[] = {
	{ .path = "./", .type = AE_IFDIR, .perm = 0755 },
	{ .path = "./etc/", .type = AE_IFDIR, .perm = 0755, .nsec = 123456789 },
	{ .path = "./etc/hostname", .type = AE_IFREG, .perm = 0644, .size = 7, .nsec = 999999999 },
	{ .path = "./etc/shadow", .type = AE_IFREG, .perm = 0640, .uid = 0, .gid = 42, .size = 4095 },
	{ .path = "./etc/big", .type = AE_IFREG, .perm = 0644, .uid = 1000, .gid = 1000, .size = (3 << 20) + 3 },
	{ .path = "./etc/empty", .type = AE_IFREG, .perm = 0600, .uid = 100000, .gid = 100000 },
	{ .path = "./tmp/", .type = AE_IFDIR, .perm = 01777 },
	{ .path = "./usr/bin/sudo", .type = AE_IFREG, .perm = 04755, .size = 4097 },	/* parents implied */
	{ .path = "./usr/bin/wall", .type = AE_IFREG, .perm = 02755, .uid = 0, .gid = 5, .size = 12345 },
	{ .path = "./usr/bin/ping", .type = AE_IFREG, .perm = 0755, .size = 100, .xattrs = 1 },
	{ .path = "./usr/bin/sh", .type = AE_IFLNK, .perm = 0777, .target = "dash" },
	{ .path = "./usr/bin/long-link", .type = AE_IFLNK, .perm = 0777, .target = LONG_TARGET },
	{ .path = "./usr/bin/[", .type = AE_IFREG, .perm = 0755, .size = 5000 },
	{ .path = "./usr/bin/test", .type = AE_IFREG, .perm = 0755, .target = "usr/bin/[" },	/* hard link */
	{ .path = "./usr/bin/test2", .type = AE_IFREG, .perm = 0755, .target = "./usr/bin/[" },	/* and another */
	{ .path = "./dev/", .type = AE_IFDIR, .perm = 0755 },
	{ .path = "./dev/null", .type = AE_IFCHR, .perm = 0666, .major = 1, .minor = 3 },
	{ .path = "./dev/sda", .type = AE_IFBLK, .perm = 0660, .uid = 0, .gid = 6, .major = 8, .minor = 0 },
	{ .path = "./dev/nvme0n1p300", .type = AE_IFBLK, .perm = 0660, .major = 259, .minor = 300 },
	{ .path = "./dev/initctl", .type = AE_IFIFO, .perm = 0600 },
	{ .path = "./var/lib/sparse.img", .type = AE_IFREG, .perm = 0644, .size = 5 << 20, .sparse = 1 },
	{ .path = "./home/" LONG_NAME, .type = AE_IFREG, .perm = 0644, .size = 10 },
	{ .path = "./deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/aa/bb/cc/dd/ee/ff/gg/hh/"
	  "ii/jj/kk/ll/mm/nn/oo/pp/qq/rr/ss/tt/uu/vv/ww/xx/yy/zz/file-past-100-and-155-bytes", .type = AE_IFREG, .perm = 0644, .size = 1 },
};

static uint8_t pattern_byte(const char *path, size_t i)
{
	return (uint8_t)(strlen(path) * 31 + i * 7 + (i >> 12));
}

static void add_spec(struct archive *a, const struct spec *s, time_t mtime)
{
	struct archive_entry *e = archive_entry_new();
	static uint8_t buf[65536];

	archive_entry_copy_pathname(e, s->path);
	archive_entry_set_mtime(e, mtime, s->nsec);
	archive_entry_set_uid(e, s->uid);
	archive_entry_set_gid(e, s->gid);
	if (s->type == AE_IFREG && s->target) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, s->perm);
		archive_entry_copy_hardlink(e, s->target);
		archive_entry_set_size(e, 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		archive_entry_free(e);
		return;
	}
	archive_entry_set_filetype(e, s->type);
	archive_entry_set_perm(e, s->perm);
	if (s->type == AE_IFLNK)
		archive_entry_copy_symlink(e, s->target);
	if (s->type == AE_IFCHR || s->type == AE_IFBLK) {
		archive_entry_set_rdevmajor(e, s->major);
		archive_entry_set_rdevminor(e, s->minor);
	}
	if (s->xattrs) {
		/* cap_net_raw+ep, as Debian's ping carries it */
		static const uint8_t cap[20] = { 0x01, 0, 0, 0x02, 0, 0x20 };

		archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap));
		archive_entry_xattr_add_entry(e, "user.comment", "hello", 5);
	}
	if (s->type == AE_IFREG) {
		archive_entry_set_size(e, s->size);
		if (s->sparse) {
			archive_entry_sparse_add_entry(e, 0, 1 << 20);
			archive_entry_sparse_add_entry(e, 4 << 20, 1 << 20);
		}
	}
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	for (size_t done = 0; s->type == AE_IFREG && done < s->size;) {
		size_t n = s->size - done < sizeof(buf) ? s->size - done : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (s->sparse && done + i >= (1 << 20) && done + i < (4 << 20))
				 ? 0 : pattern_byte(s->path, done + i);
		assert_int_equal(archive_write_data(a, buf, n), (la_ssize_t)n);
		done += n;
	}
	archive_entry_free(e);
}

/* Writes the specs as a pax tarball, compressed by filter ("xz", "gzip", "none"). */
static void write_tarball(const char *path, const struct spec *specs, size_t n,
			  const char *filter)
{
	struct archive *a = archive_write_new();

	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	if (!strcmp(filter, "xz"))
		assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
	else if (!strcmp(filter, "gzip"))
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++)
		add_spec(a, &specs[i], 1700000000 + i);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* ---- running mkwslimage ---- */

static char last_stderr[8192];

static int run(const char *fmt, ...)
{
	char cmd[8192], errfile[128];
	va_list ap;
	FILE *f;
	size_t n;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(errfile, sizeof(errfile), "%s/stderr", work);
	strncat(cmd, " 2>", sizeof(cmd) - strlen(cmd) - 1);
	strncat(cmd, errfile, sizeof(cmd) - strlen(cmd) - 1);
	status = system(cmd);
	f = fopen(errfile, "r");
	n = f ? fread(last_stderr, 1, sizeof(last_stderr) - 1, f) : 0;
	last_stderr[n] = '\0';
	if (f)
		fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* No output and no temporary beside it. */
static void assert_no_output(const char *out)
{
	char cmd[512];

	assert_false(exists(out));
	snprintf(cmd, sizeof(cmd), "ls %s | grep -q tmp", work);
	assert_int_not_equal(system(cmd), 0);
}

/* ---- listings: one line per entry, sorted, hard links as groups ---- */

struct line {
	char *path, *text;
};

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->path, ((const struct line *)b)->path);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (const uint8_t *b = p; n--; b++)
		h = (h ^ *b) * 0x100000001b3ULL;
	return h;
}

static void xattrs_text(struct archive_entry *e, char *out, size_t len)
{
	const char *name;
	const void *value;
	size_t size;

	out[0] = '\0';
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		snprintf(out + strlen(out), len - strlen(out), " %s=%016llx", name,
			 (unsigned long long)fnv(0xcbf29ce484222325ULL, value, size));
}

/*
 * The listing of a tarball as text: path, type, mode, owner, size, content
 * hash, link target, device, mtime with nanoseconds, xattrs; a hard link
 * reads as its target's line plus "link-group=<first name>".
 */
static char *listing(const char *tarball)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct line *lines = NULL;
	size_t n = 0, total = 0;
	static uint8_t buf[65536];
	char *out;

	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	assert_int_equal(archive_read_open_filename(a, tarball, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char path[4096], text[8192], xattrs[1024];
		const char *why;
		uint64_t h = 0xcbf29ce484222325ULL;
		la_ssize_t got;

		snprintf(path, sizeof(path), "%s", archive_entry_pathname(e));
		assert_int_equal(tar_path_normalize(path, &why), 0);
		if (!strcmp(path, "lost+found"))
			continue;
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		if (archive_entry_hardlink(e)) {
			char target[4096];

			snprintf(target, sizeof(target), "%s", archive_entry_hardlink(e));
			assert_int_equal(tar_path_normalize(target, &why), 0);
			for (size_t i = 0; i < n; i++) {
				if (strcmp(lines[i].path, target))
					continue;
				snprintf(text, sizeof(text), "%s", strchr(lines[i].text, ' '));
				if (!strstr(text, "link-group="))
					snprintf(text + strlen(text), sizeof(text) - strlen(text),
						 " link-group=%s", target);
				if (!strstr(lines[i].text, "link-group=")) {
					char *t;

					assert_true(asprintf(&t, "%s link-group=%s", lines[i].text,
							     target) > 0);
					free(lines[i].text);
					lines[i].text = t;
				}
				break;
			}
		} else {
			while ((got = archive_read_data(a, buf, sizeof(buf))) > 0)
				h = fnv(h, buf, got);
			xattrs_text(e, xattrs, sizeof(xattrs));
			snprintf(text, sizeof(text), " type=%o mode=%04o uid=%lld gid=%lld size=%lld "
				 "hash=%016llx link=%s dev=%lu:%lu mtime=%lld.%09ld%s",
				 archive_entry_filetype(e), archive_entry_perm(e),
				 (long long)archive_entry_uid(e), (long long)archive_entry_gid(e),
				 archive_entry_filetype(e) == AE_IFREG ? (long long)archive_entry_size(e) : 0,
				 (unsigned long long)h, archive_entry_symlink(e) ?: "-",
				 (unsigned long)archive_entry_rdevmajor(e), (unsigned long)archive_entry_rdevminor(e),
				 (long long)archive_entry_mtime(e), archive_entry_mtime_nsec(e), xattrs);
		}
		lines[n].path = strdup(path);
		assert_true(asprintf(&lines[n].text, "%s%s", *path ? path : ".", text) > 0);
		n++;
	}
	archive_read_free(a);
	/* Every member of a group names the group by its alphabetically first path. */
	qsort(lines, n, sizeof(*lines), by_path);
	for (size_t i = 0; i < n; i++)
		total += strlen(lines[i].text) + 1;
	out = calloc(1, total + 1);
	for (size_t i = 0; i < n; i++) {
		char *g = strstr(lines[i].text, " link-group=");

		if (g)
			strcpy(g, " hard-linked");
		strcat(out, lines[i].text);
		strcat(out, "\n");
		free(lines[i].path);
		free(lines[i].text);
	}
	free(lines);
	return out;
}

/* ---- the tests ---- */

static int setup(void **state)
{
	const char *o = getenv("O");

	snprintf(work, sizeof(work), "/tmp/test_disk.XXXXXX");
	if (!mkdtemp(work))
		return -1;
	snprintf(mkwslimage, sizeof(mkwslimage), "%s/bin/mkwslimage", o && *o ? o : "build");
	return exists(mkwslimage) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	return system(cmd) ? -1 : 0;
}

/* Reads every spec back through libext2fs on our disk library and compares. */
static void compare_fs_with_specs(const char *image)
{
	char err[DISK_ERROR_MAX];
	struct disk *d;
	ext2_filsys fs;
	ext2_ino_t groups[2] = { 0 };

	assert_int_equal(disk_open(image, DISK_OPEN_READ_ONLY, &d, err), 0);
	disk_io_attach(d);
	assert_int_equal(ext2fs_open2("disk", NULL, EXT2_FLAG_64BITS, 0, 0, disk_io_manager, &fs), 0);
	for (size_t i = 0; i < sizeof(rootfs) / sizeof(rootfs[0]); i++) {
		const struct spec *s = &rootfs[i];
		struct ext2_inode_large inode = { 0 };
		char path[4096];
		const char *why;
		ext2_ino_t ino;

		snprintf(path, sizeof(path), "%s", s->path);
		tar_path_normalize(path, &why);
		if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, *path ? path : ".", &ino))
			fail_msg("%s: not in the filesystem", s->path);
		ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode, sizeof(inode));
		if ((inode.i_mode & LINUX_S_IFMT) != s->type || (inode.i_mode & 07777) != s->perm)
			fail_msg("%s: mode %o, want %o", s->path, inode.i_mode, s->type | s->perm);
		assert_int_equal(inode_uid(inode), s->uid);
		assert_int_equal(inode_gid(inode), s->gid);
		if (s->type == AE_IFREG && s->target) {
			/* Hard links share the inode of their target. */
			groups[0] = groups[0] ? groups[0] : ino;
			assert_int_equal(ino, groups[0]);
			assert_int_equal(inode.i_links_count, 3);
			continue;
		}
		assert_int_equal(inode.i_mtime, 1700000000 + i);
		assert_int_equal(inode.i_mtime_extra >> EXT4_EPOCH_BITS, s->nsec);
		if (s->type == AE_IFREG) {
			ext2_file_t f;
			uint8_t *buf = malloc(s->size + 1);
			unsigned int got = 0;

			assert_int_equal(EXT2_I_SIZE(&inode), s->size);
			assert_int_equal(ext2fs_file_open(fs, ino, 0, &f), 0);
			assert_int_equal(ext2fs_file_read(f, buf, s->size, &got), 0);
			assert_int_equal(got, s->size);
			for (size_t k = 0; k < s->size; k++)
				if (buf[k] != ((s->sparse && k >= (1 << 20) && k < (4 << 20))
					       ? 0 : pattern_byte(s->path, k)))
					fail_msg("%s: byte %zu differs", s->path, k);
			ext2fs_file_close(f);
			free(buf);
			if (s->sparse)	/* the hole takes no blocks */
				assert_true(ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&inode) * 512 <
					    (3 << 20));
		}
		if (s->type == AE_IFCHR || s->type == AE_IFBLK) {
			/* Decoded as the kernel does (old_decode_dev / new_decode_dev). */
			uint32_t old = inode.i_block[0], dev = inode.i_block[1];
			unsigned int major = old ? (old >> 8) & 0xff : (dev & 0xfff00) >> 8;
			unsigned int minor = old ? old & 0xff : (dev & 0xff) | ((dev >> 12) & 0xfff00);

			if (major != s->major || minor != s->minor)
				fail_msg("%s: device %u:%u, want %u:%u", s->path, major, minor,
					 s->major, s->minor);
		}
		if (s->xattrs) {
			struct ext2_xattr_handle *h;
			void *value;
			size_t len;

			assert_int_equal(ext2fs_xattrs_open(fs, ino, &h), 0);
			assert_int_equal(ext2fs_xattrs_read(h), 0);
			assert_int_equal(ext2fs_xattr_get(h, "security.capability", &value, &len), 0);
			assert_int_equal(len, 20);
			assert_int_equal(((uint8_t *)value)[5], 0x20);
			ext2fs_free_mem(&value);
			ext2fs_xattrs_close(&h);
		}
	}
	ext2fs_close_free(&fs);
	disk_close(d, NULL);
}

/*
 * Every line of the original is in the export; the export's other lines are
 * the parent directories the tarball left out, made 0755, root, at the
 * first entry's time.
 */
static void assert_same_listing_but_implied_dirs(const char *before, const char *after)
{
	char *copy = strdup(after), *line, *save;
	size_t matched = 0, lines_before = 0;

	for (const char *p = before; *p; p++)
		lines_before += *p == '\n';
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char with_nl[8192];

		snprintf(with_nl, sizeof(with_nl), "%s\n", line);
		if (strstr(before, with_nl)) {
			matched++;
			continue;
		}
		if (!strstr(line, " type=40000 mode=0755 uid=0 gid=0 ") ||
		    !strstr(line, " mtime=1700000000.000000000"))
			fail_msg("in the export but not the tarball: %s\n--- tarball:\n%s--- export:\n%s",
				 line, before, after);
	}
	if (matched != lines_before)
		fail_msg("%zu of the tarball's %zu entries are in the export:\n--- tarball:\n%s--- export:\n%s",
			 matched, lines_before, before, after);
	free(copy);
}

static void test_every_entry_type_survives_disk_and_export(void **state)
{
	char tarball[128], image[128], back[128];
	char *before, *after;
	struct stat st;

	snprintf(tarball, sizeof(tarball), "%s/rootfs.tar.xz", work);
	snprintf(image, sizeof(image), "%s/rootfs.vhdx", work);
	snprintf(back, sizeof(back), "%s/back.tar.zst", work);
	write_tarball(tarball, rootfs, sizeof(rootfs) / sizeof(rootfs[0]), "xz");
	if (run("%s disk --from %s --out %s --size 1G", mkwslimage, tarball, image))
		fail_msg("mkwslimage disk: %s", last_stderr);
	compare_fs_with_specs(image);
	if (run("%s export %s --out %s", mkwslimage, image, back))
		fail_msg("mkwslimage export: %s", last_stderr);
	before = listing(tarball);
	after = listing(back);
	assert_same_listing_but_implied_dirs(before, after);
	free(after);
	/* Uncompressed, the 3 MiB hole of sparse.img must not be in the export. */
	snprintf(back, sizeof(back), "%s/back.tar", work);
	if (run("%s export %s --out %s", mkwslimage, image, back))
		fail_msg("mkwslimage export: %s", last_stderr);
	assert_int_equal(stat(back, &st), 0);
	assert_true(st.st_size < (6 << 20) + (512 << 10));
	after = listing(back);
	assert_same_listing_but_implied_dirs(before, after);
	free(before);
	free(after);
}

static void test_same_tarball_gives_identical_image(void **state)
{
	char tarball[128], cmd[512];

	snprintf(tarball, sizeof(tarball), "%s/rootfs.tar.gz", work);
	write_tarball(tarball, rootfs, sizeof(rootfs) / sizeof(rootfs[0]), "gzip");
	assert_int_equal(run("%s disk --from %s --out %s/one.vhdx --size 1G", mkwslimage, tarball,
			     work), 0);
	sleep(1);	/* a clock leaking in would show */
	assert_int_equal(run("%s disk --from %s --out %s/two.vhdx --size 1G", mkwslimage, tarball,
			     work), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s %s/one.vhdx %s/two.vhdx", work, work);
	assert_int_equal(system(cmd), 0);
	/* From a pipe, a --seed makes it reproducible too. */
	assert_int_equal(run("%s disk --from - --seed s --out %s/three.vhdx --size 1G < %s",
			     mkwslimage, work, tarball), 0);
	assert_int_equal(run("%s disk --from - --seed s --out %s/four.vhdx --size 1G < %s",
			     mkwslimage, work, tarball), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s %s/three.vhdx %s/four.vhdx", work, work);
	assert_int_equal(system(cmd), 0);
}

static void expect_refusal(const struct spec *specs, size_t n, const char *why)
{
	char tarball[128], image[128];

	snprintf(tarball, sizeof(tarball), "%s/evil.tar", work);
	snprintf(image, sizeof(image), "%s/evil.vhdx", work);
	write_tarball(tarball, specs, n, "none");
	assert_int_equal(run("%s disk --from %s --out %s --size 1G", mkwslimage, tarball, image), 1);
	if (!strstr(last_stderr, why))
		fail_msg("expected '%s' in: %s", why, last_stderr);
	assert_no_output(image);
}

static void test_escaping_entries_are_refused(void **state)
{
	const struct spec dotdot[] = { { .path = "./etc/", .type = AE_IFDIR, .perm = 0755 },
				       { .path = "etc/../../escape", .type = AE_IFREG, .perm = 0644, .size = 1 } };
	const struct spec absolute[] = { { .path = "/etc/passwd", .type = AE_IFREG, .perm = 0644, .size = 1 } };
	const struct spec link_out[] = { { .path = "a", .type = AE_IFREG, .perm = 0644, .size = 1 },
					 { .path = "b", .type = AE_IFREG, .perm = 0644, .target = "../a" } };
	const struct spec dir_link[] = { { .path = "d/", .type = AE_IFDIR, .perm = 0755 },
					 { .path = "l", .type = AE_IFREG, .perm = 0644, .target = "d" } };

	expect_refusal(dotdot, 2, "'..' would leave the root");
	expect_refusal(absolute, 1, "absolute path");
	expect_refusal(link_out, 2, "'..' would leave the root");
	expect_refusal(dir_link, 2, "hard link to directory");
}

static void test_damaged_tarballs_fail_cleanly(void **state)
{
	char tarball[128], image[128], cmd[512];
	struct stat st;

	snprintf(tarball, sizeof(tarball), "%s/rootfs.tar.xz", work);
	snprintf(image, sizeof(image), "%s/out.vhdx", work);
	write_tarball(tarball, rootfs, sizeof(rootfs) / sizeof(rootfs[0]), "xz");
	assert_int_equal(stat(tarball, &st), 0);
	assert_int_equal(truncate(tarball, st.st_size / 2), 0);
	assert_int_equal(run("%s disk --from %s --out %s --size 1G", mkwslimage, tarball, image), 1);
	assert_non_null(strstr(last_stderr, tarball));
	assert_no_output(image);

	snprintf(tarball, sizeof(tarball), "%s/rootfs.tar.gz", work);
	write_tarball(tarball, rootfs, sizeof(rootfs) / sizeof(rootfs[0]), "gzip");
	snprintf(cmd, sizeof(cmd), "printf 'garbage!' | dd of=%s bs=1 seek=200 conv=notrunc status=none",
		 tarball);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("%s disk --from %s --out %s --size 1G", mkwslimage, tarball, image), 1);
	assert_no_output(image);

	snprintf(cmd, sizeof(cmd), "head -c 10000 /dev/urandom > %s/noise.tar", work);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("%s disk --from %s/noise.tar --out %s --size 1G", mkwslimage, work,
			     image), 1);
	assert_no_output(image);
}

static void test_bad_options_are_refused(void **state)
{
	char image[128];

	snprintf(image, sizeof(image), "%s/x.vhdx", work);
	assert_int_equal(run("%s disk --from /nonexistent.tar --out %s", mkwslimage, image), 1);
	assert_non_null(strstr(last_stderr, "/nonexistent.tar"));
	assert_int_equal(run("%s disk --from - --out %s --size 12Q", mkwslimage, image), 2);
	assert_non_null(strstr(last_stderr, "--size"));
	assert_int_equal(run("%s disk --from - --out %s --format qcow2", mkwslimage, image), 2);
	assert_int_equal(run("%s export %s --out x.rar", mkwslimage, image), 1);
	assert_no_output(image);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_entry_type_survives_disk_and_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_tarball_gives_identical_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping_entries_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_tarballs_fail_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_options_are_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
