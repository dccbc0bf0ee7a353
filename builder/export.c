// SPDX-License-Identifier: MIT
/*
 * mkwslimage export: a distro's disk (VHDX or raw) back into a tarball,
 * reading the ext4 filesystem with libext2fs through the disk library and
 * writing a pax archive with libarchive, compressed as the name says.
 */
#include <getopt.h>
#include <string.h>

#include "builder.h"
#include "disk_fs.h"
#include "mkwslimage.h"
#include "outfile.h"

static void export_usage(FILE *out)
{
	fprintf(out,
		"Usage: mkwslimage export DISK.vhdx --out ROOTFS.tar[.gz|.xz|.zst|.bz2]\n"
		"\n"
		"Writes every file of the disk's ext4 filesystem into a pax tarball\n"
		"(owners, modes, nanosecond times, extended attributes, hard links),\n"
		"compressed according to the output's name.\n"
		"\n"
		"  -o, --out FILE   the tarball to write (replaced only on success)\n"
		"  -h, --help       show this help\n");
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* The compression the output's name asks for. */
static int set_filter(struct archive *a, const char *out)
{
	if (ends_with(out, ".tar.gz") || ends_with(out, ".tgz"))
		return archive_write_add_filter_gzip(a);
	if (ends_with(out, ".tar.xz") || ends_with(out, ".txz"))
		return archive_write_add_filter_xz(a);
	if (ends_with(out, ".tar.zst"))
		return archive_write_add_filter_zstd(a);
	if (ends_with(out, ".tar.bz2"))
		return archive_write_add_filter_bzip2(a);
	if (ends_with(out, ".tar"))
		return archive_write_add_filter_none(a);
	pr_err("--out %s: expected a name ending in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2",
	       out);
	return -2;
}

/* FORMAT ("tar.gz"...) or, when NULL, OUT_PATH's name picks the compression. */
static int export_to(struct disk *d, const char *out_path, const char *format)
{
	struct archive *a = archive_write_new();
	char as_name[32];
	struct outfile out;
	ext2_filsys fs;
	uint64_t entries = 0;
	errcode_t err;
	int ret, filter;

	snprintf(as_name, sizeof(as_name), ".%.20s", format ? format : "");
	filter = a ? set_filter(a, format ? as_name : out_path) : -1;

	if (filter == -2) {
		archive_write_free(a);
		return 2;
	}
	/* No zero padding after the compressed stream: zstd and xz reject it. */
	if (!a || filter || archive_write_set_format_pax(a) ||
	    archive_write_set_bytes_in_last_block(a, 1)) {
		pr_err("%s: setting up the archive: %s", out_path,
		       a ? archive_error_string(a) : "out of memory");
		archive_write_free(a);
		return 1;
	}
	disk_io_attach(d);
	err = ext2fs_open2("disk", NULL, EXT2_FLAG_64BITS, 0, 0, disk_io_manager, &fs);
	if (err) {
		pr_err("%s: opening its ext4 filesystem: %s", d->name, disk_fs_strerror(err));
		archive_write_free(a);
		return 1;
	}
	ret = 1;
	if (outfile_open(&out, out_path))
		goto out_fs;
	if (archive_write_open_FILE(a, out.file)) {
		pr_err("%s: %s", out_path, archive_error_string(a));
		outfile_abort(&out);
		goto out_fs;
	}
	if (fs_export(fs, a, d->name, &entries) || archive_write_close(a) != ARCHIVE_OK) {
		if (archive_errno(a))
			pr_err("%s: %s", out_path, archive_error_string(a));
		outfile_abort(&out);
		goto out_fs;
	}
	if (outfile_commit(&out))
		goto out_fs;
	pr_info("%s: %llu entries", out_path, (unsigned long long)entries);
	ret = 0;
out_fs:
	ext2fs_close_free(&fs);
	archive_write_free(a);
	return ret;
}

static int export_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			export_usage(stdout);
			return 0;
		default:
			export_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || !out) {
		pr_err("expected one DISK and --out FILE (try --help)");
		return 2;
	}
	return builder_export_disk(argv[optind], out, NULL);
}

int builder_export_disk(const char *disk, const char *out, const char *format)
{
	char err[DISK_ERROR_MAX];
	struct disk *d;
	int ret;

	if (disk_open(disk, DISK_OPEN_READ_ONLY, &d, err)) {
		pr_err("%s", err);
		return 1;
	}
	ret = export_to(d, out, format);
	disk_close(d, NULL);
	return ret;
}

int builder_check_disk(const char *disk)
{
	char err[DISK_ERROR_MAX];
	struct disk *d;
	ext2_filsys fs;
	errcode_t e;

	if (disk_open(disk, DISK_OPEN_READ_ONLY, &d, err)) {
		pr_err("%s", err);
		return 1;
	}
	disk_io_attach(d);
	e = ext2fs_open2("disk", NULL, EXT2_FLAG_64BITS, 0, 0, disk_io_manager, &fs);
	if (e)
		pr_err("%s: no ext4 filesystem in it: %s", disk, disk_fs_strerror(e));
	else
		ext2fs_close_free(&fs);
	disk_close(d, NULL);
	return e ? 1 : 0;
}

BUILDER_COMMAND(export, "export", "write a distro disk's files back into a tarball", export_main);
