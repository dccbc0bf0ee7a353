// SPDX-License-Identifier: MIT
/*
 * vhdx-tool: drives the disk library from test scripts, so external tools
 * (qemu-img, qemu-io) can judge what it writes and feed it what they write.
 *
 *   vhdx-tool create IMAGE [--raw] [--size BYTES] [--block-size BYTES] [--sector 512|4096] [--seed S]
 *   vhdx-tool write IMAGE OFFSET < DATA       writes stdin at OFFSET
 *   vhdx-tool read IMAGE [OFFSET LENGTH]      writes the virtual disk's bytes to stdout
 *   vhdx-tool discard IMAGE OFFSET LENGTH
 *   vhdx-tool check IMAGE                     one line per problem; exit 1 if any
 *   vhdx-tool info IMAGE                      "format size sector block present"
 *   vhdx-tool churn IMAGE SEED                writes and discards forever (for kill tests)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "vhdx.h"

#define IO_CHUNK (4U << 20)

static int die_disk(const char *err)
{
	fprintf(stderr, "vhdx-tool: %s\n", err);
	return 1;
}

static int cmd_create(int argc, char **argv)
{
	struct disk_create_opts opts = { .format = DISK_FORMAT_VHDX };
	char err[DISK_ERROR_MAX];
	struct disk *d;
	int fd;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--raw"))
			opts.format = DISK_FORMAT_RAW;
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			opts.size = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--block-size") && i + 1 < argc)
			opts.block_size = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--sector") && i + 1 < argc)
			opts.logical_sector_size = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			opts.id_seed = argv[++i];
			opts.id_seed_len = strlen(argv[i]);
		} else {
			fprintf(stderr, "vhdx-tool create: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	if (disk_create(fd, argv[2], &opts, &d, err) || disk_close(d, err))
		return die_disk(err);
	return 0;
}

static int cmd_write(struct disk *d, uint64_t offset)
{
	char *buf = malloc(IO_CHUNK);
	ssize_t n;

	while (buf && (n = read(STDIN_FILENO, buf, IO_CHUNK)) > 0) {
		if (disk_write(d, buf, n, offset))
			return die_disk(disk_error(d));
		offset += n;
	}
	free(buf);
	return 0;
}

static int cmd_read(struct disk *d, uint64_t offset, uint64_t len)
{
	char *buf = malloc(IO_CHUNK);

	while (buf && len) {
		size_t n = len < IO_CHUNK ? len : IO_CHUNK;

		if (disk_read(d, buf, n, offset))
			return die_disk(disk_error(d));
		if (fwrite(buf, 1, n, stdout) != n) {
			perror("vhdx-tool read: stdout");
			return 1;
		}
		offset += n;
		len -= n;
	}
	free(buf);
	return 0;
}

static void print_problem(void *ctx, const char *problem)
{
	printf("%s\n", problem);
}

static int cmd_check(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0) {
		perror(path);
		return 1;
	}
	n = vhdx_check(fd, path, print_problem, NULL);
	close(fd);
	if (n < 0)
		fprintf(stderr, "vhdx-tool check: %s: %s\n", path, strerror(-n));
	return n != 0;
}

/* Allocating writes and discards forever, each from a seeded sequence. */
static int cmd_churn(struct disk *d, unsigned int seed)
{
	static char buf[256 * 1024];
	uint64_t blocks = d->size / DISK_DEFAULT_BLOCK_SIZE;

	srand(seed);
	for (;;) {
		uint64_t at = (uint64_t)(rand() % blocks) * DISK_DEFAULT_BLOCK_SIZE +
			      (rand() % 4) * sizeof(buf);

		if (rand() % 4 == 0) {
			if (disk_discard(d, at - at % DISK_DEFAULT_BLOCK_SIZE, DISK_DEFAULT_BLOCK_SIZE))
				return die_disk(disk_error(d));
		} else {
			memset(buf, 1 + rand() % 255, sizeof(buf));
			if (disk_write(d, buf, sizeof(buf), at))
				return die_disk(disk_error(d));
		}
		if (rand() % 16 == 0 && disk_flush(d))
			return die_disk(disk_error(d));
	}
}

int main(int argc, char **argv)
{
	char err[DISK_ERROR_MAX];
	const char *cmd = argc > 2 ? argv[1] : "";
	struct disk *d;
	int ret, ro = !strcmp(cmd, "read") || !strcmp(cmd, "info");

	if (!strcmp(cmd, "create"))
		return cmd_create(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argv[2]);
	if (!*cmd) {
		fprintf(stderr, "usage: vhdx-tool create|write|read|discard|check|info|churn IMAGE ...\n");
		return 2;
	}
	if (disk_open(argv[2], ro ? DISK_OPEN_READ_ONLY : 0, &d, err))
		return die_disk(err);
	if (!strcmp(cmd, "write") && argc == 4) {
		ret = cmd_write(d, strtoull(argv[3], NULL, 0));
	} else if (!strcmp(cmd, "read")) {
		ret = cmd_read(d, argc > 3 ? strtoull(argv[3], NULL, 0) : 0,
			       argc > 4 ? strtoull(argv[4], NULL, 0) : d->size);
	} else if (!strcmp(cmd, "discard") && argc == 5) {
		ret = disk_discard(d, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
		if (ret)
			ret = die_disk(disk_error(d));
	} else if (!strcmp(cmd, "info")) {
		struct vhdx_info info = { 0 };

		vhdx_get_info(d, &info);
		printf("%s %llu %u %u %llu\n", d->ops->format, (unsigned long long)d->size,
		       d->logical_sector_size, info.block_size,
		       (unsigned long long)info.present_blocks);
		ret = 0;
	} else if (!strcmp(cmd, "churn") && argc == 4) {
		ret = cmd_churn(d, strtoul(argv[3], NULL, 0));
	} else {
		fprintf(stderr, "vhdx-tool: bad arguments for %s\n", cmd);
		ret = 2;
	}
	if (disk_close(d, err) && !ret)
		ret = die_disk(err);
	return ret;
}
