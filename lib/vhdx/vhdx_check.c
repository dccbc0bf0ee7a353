// SPDX-License-Identifier: MIT
/*
 * Checking a VHDX beyond what opening it needs: both headers, both region
 * tables, and that no two BAT entries share file space or overlap the
 * image's own structures.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhdx.h"
#include "vhdx_internal.h"

struct checker {
	const char *name;
	void (*report)(void *ctx, const char *problem);
	void *ctx;
	int problems;
};

static void problem(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct checker *c, const char *fmt, ...)
{
	char msg[DISK_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->report)
		c->report(c->ctx, msg);
}

static int check_headers(struct checker *c, int fd)
{
	const uint64_t at[2] = { VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET };
	uint8_t h[2][VHDX_HEADER_SIZE];
	int ret;

	for (int i = 0; i < 2; i++) {
		ret = disk_pread_full(fd, h[i], VHDX_HEADER_SIZE, at[i]);
		if (ret)
			return ret;
		if (get_le32(h[i] + VHDX_HDR_SIGNATURE) != VHDX_HEADER_SIGNATURE)
			problem(c, "%s: header %d has a bad signature", c->name, i + 1);
		else if (!vhdx_checksum_ok(h[i], VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM))
			problem(c, "%s: header %d has a bad CRC-32C", c->name, i + 1);
	}
	if (get_le64(h[0] + VHDX_HDR_SEQUENCE) == get_le64(h[1] + VHDX_HDR_SEQUENCE))
		problem(c, "%s: both headers have sequence number %llu", c->name,
			(unsigned long long)get_le64(h[0] + VHDX_HDR_SEQUENCE));
	return 0;
}

static int check_region_tables(struct checker *c, int fd)
{
	uint8_t *t1 = malloc(VHDX_REGION_TABLE_SIZE), *t2 = malloc(VHDX_REGION_TABLE_SIZE);
	int ret = -ENOMEM;

	if (t1 && t2) {
		ret = disk_pread_full(fd, t1, VHDX_REGION_TABLE_SIZE, VHDX_REGION_TABLE1_OFFSET);
		if (!ret)
			ret = disk_pread_full(fd, t2, VHDX_REGION_TABLE_SIZE,
					      VHDX_REGION_TABLE2_OFFSET);
	}
	if (!ret) {
		if (!vhdx_checksum_ok(t1, VHDX_REGION_TABLE_SIZE, VHDX_RGN_CHECKSUM))
			problem(c, "%s: region table 1 has a bad CRC-32C", c->name);
		if (!vhdx_checksum_ok(t2, VHDX_REGION_TABLE_SIZE, VHDX_RGN_CHECKSUM))
			problem(c, "%s: region table 2 has a bad CRC-32C", c->name);
		else if (memcmp(t1, t2, VHDX_REGION_TABLE_SIZE))
			problem(c, "%s: the two region tables differ", c->name);
	}
	free(t1);
	free(t2);
	return ret;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Payload blocks must not share space with each other or with the structures. */
static int check_bat(struct checker *c, struct vhdx *v)
{
	uint64_t *offsets = malloc((v->data_blocks + 1) * sizeof(*offsets));
	uint64_t n = 0, structures_end = v->bat_offset +
		((v->bat_entries * 8 + VHDX_ALIGNMENT - 1) & ~(VHDX_ALIGNMENT - 1));

	if (!offsets)
		return -ENOMEM;
	for (uint64_t b = 0; b < v->data_blocks; b++) {
		uint64_t entry = v->bat[vhdx_bat_index(v, b)];

		if (!vhdx_state_reads_zero(entry))
			offsets[n++] = entry & VHDX_BAT_OFFSET_MASK;
	}
	for (uint64_t i = v->chunk_ratio; i < v->bat_entries; i += v->chunk_ratio + 1)
		if (v->bat[i])
			problem(c, "%s: sector bitmap entry %llu is %#llx, not zero as a disk "
				   "without a parent needs", c->name, (unsigned long long)i,
				(unsigned long long)v->bat[i]);
	qsort(offsets, n, sizeof(*offsets), compare_u64);
	for (uint64_t i = 0; i < n; i++) {
		if (offsets[i] < structures_end && offsets[i] + v->block_size > VHDX_LOG_OFFSET)
			problem(c, "%s: a payload block at %llu overlaps the log, metadata or BAT",
				c->name, (unsigned long long)offsets[i]);
		if (i && offsets[i] < offsets[i - 1] + v->block_size)
			problem(c, "%s: two payload blocks share file space at %llu", c->name,
				(unsigned long long)offsets[i]);
	}
	free(offsets);
	return 0;
}

int vhdx_check(int fd, const char *name, void (*report)(void *ctx, const char *problem),
	       void *ctx)
{
	struct checker c = { .name = name, .report = report, .ctx = ctx };
	char err[DISK_ERROR_MAX];
	struct disk *d;
	int dupfd, ret;

	ret = check_headers(&c, fd);
	if (!ret)
		ret = check_region_tables(&c, fd);
	if (ret == -ENODATA) {
		problem(&c, "%s: the file ends inside its headers", name);
		return c.problems;
	}
	if (ret)
		return ret;
	dupfd = dup(fd);
	if (dupfd < 0)
		return -errno;
	/* Opening validates the current header, a region table, metadata, BAT. */
	ret = vhdx_open(dupfd, name, DISK_OPEN_READ_ONLY, &d, err);
	if (ret) {
		problem(&c, "%s", err);
		return c.problems;
	}
	ret = check_bat(&c, (struct vhdx *)d);
	disk_close(d, NULL);
	return ret ? ret : c.problems;
}
