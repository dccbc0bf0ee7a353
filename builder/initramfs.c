// SPDX-License-Identifier: MIT
/*
 * mkwslimage initramfs: packs the guest init (and any extra files) into a
 * compressed cpio archive the kernel unpacks as its first root.  The same
 * inputs give the same bytes: entries sorted, owners root, mtimes clamped
 * to SOURCE_DATE_EPOCH (0 when unset).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cpio.h"
#include "mkwslimage.h"
#include "outfile.h"
#include "sink.h"

static void initramfs_usage(FILE *out)
{
	fprintf(out,
		"Usage: mkwslimage initramfs --init PATH [--add SRC:DST]... --out FILE\n"
		"\n"
		"Packs PATH as /init, with the directories and /dev/console node the\n"
		"kernel and init expect, into a reproducible compressed cpio archive.\n"
		"\n"
		"  -i, --init PATH       the init program (becomes /init, mode 0755)\n"
		"  -a, --add SRC:DST     also add host file or directory SRC as DST\n"
		"  -c, --compress FMT    xz (default; CRC32 check, as the kernel needs),\n"
		"                        gzip or none\n"
		"  -o, --out FILE        where to write the archive\n"
		"  -h, --help            show this help\n"
		"\n"
		"SOURCE_DATE_EPOCH, when set, is the latest mtime stored; else 0.\n");
}

/* What the init finds before it has mounted anything. */
static int add_skeleton(struct cpio_archive *a)
{
	static const char *const dirs[] = { "dev", "proc", "sys", "run", "tmp", "mnt", "root" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (cpio_add_dir(a, dirs[i], 0755))
			return -1;
	/* The kernel opens it for PID 1's stdio before devtmpfs is mounted. */
	return cpio_add_node(a, "dev/console", S_IFCHR | 0600, 5, 1);
}

static int parse_epoch(int64_t *epoch)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;

	*epoch = 0;
	if (!s || !*s)
		return 0;
	errno = 0;
	*epoch = strtoll(s, &end, 10);
	if (errno || *end || *epoch < 0 || *epoch > UINT32_MAX) {
		pr_err("SOURCE_DATE_EPOCH='%s' is not a time in seconds that cpio can hold", s);
		return -1;
	}
	return 0;
}

static int add_extra(struct cpio_archive *a, const char *spec)
{
	char *copy = strdup(spec), *colon;
	int ret;

	if (!copy)
		return -1;
	colon = strrchr(copy, ':');
	if (!colon || colon == copy || !colon[1]) {
		pr_err("--add '%s': expected SRC:DST", spec);
		free(copy);
		return -1;
	}
	*colon = '\0';
	ret = cpio_add_host(a, colon + 1, copy);
	free(copy);
	return ret;
}

static int initramfs_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "init", required_argument, NULL, 'i' },
		{ "add", required_argument, NULL, 'a' },
		{ "compress", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *init = NULL, *out_path = NULL;
	enum sink_format format = SINK_XZ;
	struct cpio_archive a;
	struct outfile out;
	struct sink sink;
	struct stat st;
	int64_t epoch;
	char **extras;
	int n_extras = 0, opt, ret = 1;

	extras = calloc(argc, sizeof(*extras));
	if (!extras)
		return 1;
	while ((opt = getopt_long(argc, argv, "i:a:c:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			init = optarg;
			break;
		case 'a':
			extras[n_extras++] = optarg;
			break;
		case 'c':
			if (sink_format_parse(optarg, &format)) {
				pr_err("--compress '%s': expected xz, gzip or none", optarg);
				goto out_free;
			}
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			initramfs_usage(stdout);
			ret = 0;
			goto out_free;
		default:
			initramfs_usage(stderr);
			ret = 2;
			goto out_free;
		}
	}
	if (!init || !out_path || optind != argc) {
		pr_err(optind != argc ? "unexpected argument '%s'" : "--init and --out are required%s",
		       optind != argc ? argv[optind] : "");
		ret = 2;
		goto out_free;
	}
	if (parse_epoch(&epoch))
		goto out_free;
	if (stat(init, &st)) {
		pr_err("--init %s: %s", init, strerror(errno));
		goto out_free;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("--init %s: not a regular file", init);
		goto out_free;
	}

	cpio_init(&a, epoch);
	if (add_skeleton(&a) || cpio_add_host(&a, "init", init))
		goto out_cpio;
	/* /init must be executable whatever the host file's mode. */
	for (size_t i = 0; i < a.count; i++)
		if (!strcmp(a.entries[i].path, "init"))
			a.entries[i].mode = S_IFREG | 0755;
	for (int i = 0; i < n_extras; i++)
		if (add_extra(&a, extras[i]))
			goto out_cpio;

	if (outfile_open(&out, out_path))
		goto out_cpio;
	if (sink_open(&sink, out.file, out_path, format) || cpio_write(&a, &sink) ||
	    sink_finish(&sink) || outfile_commit(&out)) {
		outfile_abort(&out);
		goto out_cpio;
	}
	ret = 0;
out_cpio:
	cpio_free(&a);
out_free:
	free(extras);
	return ret;
}

BUILDER_COMMAND(initramfs, "initramfs", "pack the guest init into a reproducible initramfs",
		initramfs_main);
