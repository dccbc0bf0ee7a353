// SPDX-License-Identifier: MIT
/*
 * mkwslimage disk: a distro's tarball becomes an ext4 filesystem inside a
 * dynamic VHDX (or a sparse raw image), in one streaming pass: libarchive
 * reads the tarball once, libext2fs writes the filesystem straight into
 * the image through the VHDX library.  Nothing else is written to disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive_entry.h>

#include "builder.h"
#include "disk_fs.h"
#include "disk_source.h"
#include "mkwslimage.h"
#include "outfile.h"

#define SEED_SAMPLE	(64U * 1024)	/* bytes of the input hashed from each end */

#define disk_args builder_disk_request

static void disk_usage(FILE *out)
{
	fprintf(out,
		"Usage: mkwslimage disk --from ROOTFS.tar[.gz|.xz|.zst|.bz2] --out DISK.vhdx [OPTIONS]\n"
		"\n"
		"Writes the tarball's files into a new ext4 filesystem inside a dynamically\n"
		"growing VHDX (or a sparse raw image), reading the tarball once.\n"
		"\n"
		"  -f, --from FILE      the distro tarball; '-' reads standard input\n"
		"  -o, --out FILE       the disk image to write (replaced only on success)\n"
		"  -s, --size SIZE      virtual disk size, e.g. 256G (default), 8G, 512M;\n"
		"                       the filesystem spans it, the image grows as used\n"
		"  -F, --format FMT     vhdx (default) or raw\n"
		"  -L, --label LABEL    the filesystem's label\n"
		"      --seed STRING    derive the UUIDs from STRING (default: from the input\n"
		"                       file's size and ends; random when reading a pipe)\n"
		"  -h, --help           show this help\n"
		"\n"
		"Times the tarball does not give (lost+found, the superblock) come from\n"
		"SOURCE_DATE_EPOCH when set, else from the archive's first entry.\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'T': case 't': shift = 40; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'K': case 'k': shift = 10; end++; break;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_args(int argc, char **argv, struct disk_args *args)
{
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'F' },
		{ "label", required_argument, NULL, 'L' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(args, 0, sizeof(*args));
	args->size = DISK_DEFAULT_SIZE;
	while ((opt = getopt_long(argc, argv, "f:o:s:F:L:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f': args->from = optarg; break;
		case 'o': args->out = optarg; break;
		case 'L': args->label = optarg; break;
		case 'S': args->seed = optarg; break;
		case 's':
			if (parse_size(optarg, &args->size) || args->size % 4096 || !args->size) {
				pr_err("--size '%s': expected a size such as 256G or 512M, a multiple of 4 KiB",
				       optarg);
				return 2;
			}
			break;
		case 'F':
			if (!strcmp(optarg, "vhdx")) {
				args->format = DISK_FORMAT_VHDX;
			} else if (!strcmp(optarg, "raw")) {
				args->format = DISK_FORMAT_RAW;
			} else {
				pr_err("--format '%s': expected vhdx or raw", optarg);
				return 2;
			}
			break;
		case 'h':
			disk_usage(stdout);
			return 0;
		default:
			disk_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		pr_err("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!args->from || !args->out) {
		pr_err("--from and --out are required (try --help)");
		return 2;
	}
	if (args->label && strlen(args->label) > EXT2_LABEL_LEN) {
		pr_err("--label '%s': at most %d bytes", args->label, EXT2_LABEL_LEN);
		return 2;
	}
	return -1;
}

static uint64_t fnv1a64(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/*
 * The seed of the image's identity: --seed, else the input file's size and
 * both ends (the same tarball gives the same image), else random.
 */
static int identity_seed(const struct disk_args *args, int fd, uint64_t *seed)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	static uint8_t sample[SEED_SAMPLE];
	struct stat st;
	ssize_t n;

	if (args->seed) {
		*seed = fnv1a64(h, args->seed, strlen(args->seed));
		return 0;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (getrandom(seed, sizeof(*seed), 0) != sizeof(*seed)) {
			pr_err("getting random bytes for the disk's UUIDs: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	h = fnv1a64(h, &st.st_size, sizeof(st.st_size));
	n = pread(fd, sample, sizeof(sample), 0);
	if (n > 0)
		h = fnv1a64(h, sample, n);
	n = pread(fd, sample, sizeof(sample), st.st_size > SEED_SAMPLE ? st.st_size - SEED_SAMPLE : 0);
	if (n > 0)
		h = fnv1a64(h, sample, n);
	*seed = h;
	return 0;
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int default_epoch(struct archive_entry *first, int64_t *epoch)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;

	if (s && *s) {
		errno = 0;
		*epoch = strtoll(s, &end, 10);
		if (errno || *end) {
			pr_err("SOURCE_DATE_EPOCH='%s' is not a time in seconds", s);
			return -1;
		}
		return 0;
	}
	*epoch = archive_entry_mtime_is_set(first) ? archive_entry_mtime(first) : 0;
	return 0;
}

/* Makes the image and the filesystem, then fills it; 0 when all is written. */
static int build(const struct disk_args *args, struct tar_source *src, struct archive_entry *first,
		 uint64_t seed, int64_t epoch, struct outfile *out)
{
	struct disk_create_opts opts = {
		.format = args->format, .size = args->size,
		.id_seed = &seed, .id_seed_len = sizeof(seed),
	};
	struct fs_identity id = { .epoch = epoch, .label = args->label };
	struct populate_stats stats = { 0 };
	char err[DISK_ERROR_MAX];
	uint64_t state = seed ^ 0x65787434ULL;	/* "ext4": apart from the VHDX's GUIDs */
	struct disk *d;
	ext2_filsys fs;
	errcode_t fs_err;
	int fd = dup(fileno(out->file)), ret;

	if (fd < 0) {
		pr_err("%s: %s", args->out, strerror(errno));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		uint64_t v = splitmix64(&state);

		memcpy(id.uuid + 8 * i, &v, 8);
	}
	id.uuid[6] = (id.uuid[6] & 0x0f) | 0x40;
	id.uuid[8] = (id.uuid[8] & 0x3f) | 0x80;
	for (int i = 0; i < 4; i++)
		id.hash_seed[i] = splitmix64(&state);

	if (disk_create(fd, args->out, &opts, &d, err)) {
		pr_err("%s", err);
		return -1;
	}
	ret = fs_create(d, &id, &fs);
	if (!ret) {
		ret = fs_populate(fs, src, first, epoch, &stats);
		/* A decompressor that failed fails the build, even past the last entry. */
		if (ret ? tar_source_close(src) : tar_source_finish(src))
			ret = -1;
		if (ret) {
			ext2fs_free(fs);
		} else {
			fs->now = epoch;
			fs_err = ext2fs_close_free(&fs);
			if (fs_err) {
				pr_err("%s: writing the filesystem's metadata: %s", args->out,
				       disk_fs_strerror(fs_err));
				ret = -1;
			}
		}
	}
	if (disk_close(d, err) && !ret) {
		pr_err("%s", err);
		ret = -1;
	}
	if (!ret)
		pr_info("%s: %llu entries, %llu MiB of file data", args->out,
			(unsigned long long)stats.entries, (unsigned long long)(stats.bytes >> 20));
	return ret;
}

int builder_make_disk(const struct builder_disk_request *req)
{
	struct disk_args args = *req;
	struct archive_entry *first;
	struct tar_source src;
	struct outfile out;
	uint64_t seed;
	int64_t epoch;
	int r, ret = 1;

	if (!args.size)
		args.size = DISK_DEFAULT_SIZE;
	if (tar_source_open(&src, args.from))
		return 1;
	r = archive_read_next_header(src.tar, &first);
	if (r == ARCHIVE_EOF) {
		pr_err("%s: the archive has no entries", args.from);
		goto out_source;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		pr_err("%s: %s", args.from, archive_error_string(src.tar));
		goto out_source;
	}
	if (identity_seed(&args, src.fd, &seed) || default_epoch(first, &epoch))
		goto out_source;
	if (outfile_open(&out, args.out))
		goto out_source;
	if (build(&args, &src, first, seed, epoch, &out) || outfile_commit(&out))
		outfile_abort(&out);
	else
		ret = 0;
out_source:
	if (tar_source_close(&src))
		ret = 1;
	return ret;
}

static int disk_main(int argc, char **argv)
{
	struct disk_args args;
	int ret = parse_args(argc, argv, &args);

	if (ret >= 0)
		return ret;
	return builder_make_disk(&args);
}

BUILDER_COMMAND(disk, "disk", "write a distro tarball into a new ext4 VHDX (or raw) disk",
		disk_main);
