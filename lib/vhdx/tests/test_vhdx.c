// SPDX-License-Identifier: MIT
/* The VHDX library on its own: create, open, read, write, discard, check, refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "disk.h"
#include "vhdx.h"
#include "vhdx_format.h"

#define MiB (1024ULL * 1024)

static char image[64];

static int setup(void **state)
{
	int fd;

	snprintf(image, sizeof(image), "/tmp/test_vhdx.XXXXXX");
	fd = mkstemp(image);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(image);
	return 0;
}

static struct disk *create(uint64_t size, uint32_t block_size, uint32_t sector)
{
	struct disk_create_opts opts = {
		.format = DISK_FORMAT_VHDX, .size = size, .block_size = block_size,
		.logical_sector_size = sector,
	};
	char err[DISK_ERROR_MAX];
	struct disk *d = NULL;
	int fd = open(image, O_RDWR | O_TRUNC);

	assert_true(fd >= 0);
	if (disk_create(fd, image, &opts, &d, err))
		fail_msg("%s", err);
	return d;
}

static struct disk *reopen(struct disk *d, int flags)
{
	char err[DISK_ERROR_MAX];

	if (d)
		assert_int_equal(disk_close(d, err), 0);
	if (disk_open(image, flags, &d, err))
		fail_msg("%s", err);
	return d;
}

static int open_fails(char err[DISK_ERROR_MAX])
{
	struct disk *d;
	int ret = disk_open(image, DISK_OPEN_READ_ONLY, &d, err);

	if (!ret)
		disk_close(d, NULL);
	return ret;
}

static int check_problems(void)
{
	int fd = open(image, O_RDONLY), n;

	assert_true(fd >= 0);
	n = vhdx_check(fd, image, NULL, NULL);
	close(fd);
	return n;
}

static uint64_t allocated_bytes(void)
{
	struct stat st;

	assert_int_equal(stat(image, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static void fill(uint8_t *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void assert_zeros(struct disk *d, uint64_t offset, size_t len)
{
	uint8_t *buf = malloc(len), *zero = calloc(1, len);

	assert_int_equal(disk_read(d, buf, len, offset), 0);
	assert_memory_equal(buf, zero, len);
	free(buf);
	free(zero);
}

static void test_crc32c_known_value(void **state)
{
	/* The check value of CRC-32C (RFC 3720, B.4). */
	assert_int_equal(crc32c("123456789", 9), 0xE3069283);
}

static void test_create_default_is_256_gib_and_small(void **state)
{
	struct disk *d = create(0, 0, 0);
	struct vhdx_info info;

	assert_int_equal(d->size, 256ULL << 30);
	assert_int_equal(d->logical_sector_size, 512);
	assert_int_equal(vhdx_get_info(d, &info), 0);
	assert_int_equal(info.block_size, 1 << 20);
	assert_int_equal(info.present_blocks, 0);
	d = reopen(d, DISK_OPEN_READ_ONLY);
	assert_int_equal(d->size, 256ULL << 30);
	assert_zeros(d, (256ULL << 30) - 4096, 4096);
	disk_close(d, NULL);
	assert_true(allocated_bytes() < 2 * MiB);
	assert_int_equal(check_problems(), 0);
}

static void test_write_read_across_blocks_after_reopen(void **state)
{
	const size_t len = 3 * MiB + 1234;
	const uint64_t at = 5 * MiB - 777;
	uint8_t *in = malloc(len), *out = malloc(len);
	struct disk *d = create(64 * MiB, 0, 4096);

	fill(in, len, 1);
	assert_int_equal(disk_write(d, in, len, at), 0);
	assert_int_equal(disk_read(d, out, len, at), 0);
	assert_memory_equal(in, out, len);
	d = reopen(d, 0);
	assert_int_equal(d->logical_sector_size, 4096);
	memset(out, 0, len);
	assert_int_equal(disk_read(d, out, len, at), 0);
	assert_memory_equal(in, out, len);
	assert_zeros(d, at - 4096, 4096);
	assert_zeros(d, at + len, 4096);
	disk_close(d, NULL);
	assert_int_equal(check_problems(), 0);
	free(in);
	free(out);
}

static void test_zero_write_allocates_nothing(void **state)
{
	uint8_t *zero = calloc(1, 2 * MiB);
	struct disk *d = create(64 * MiB, 0, 0);
	struct vhdx_info info;

	assert_int_equal(disk_write(d, zero, 2 * MiB, 3 * MiB), 0);
	vhdx_get_info(d, &info);
	assert_int_equal(info.present_blocks, 0);
	disk_close(d, NULL);
	free(zero);
}

static void test_discard_unmaps_and_frees_space(void **state)
{
	uint8_t *buf = malloc(8 * MiB);
	struct disk *d = create(64 * MiB, 0, 0);
	struct vhdx_info info;
	uint64_t before, end_before;

	fill(buf, 8 * MiB, 3);
	assert_int_equal(disk_write(d, buf, 8 * MiB, 8 * MiB), 0);
	assert_int_equal(disk_flush(d), 0);
	before = allocated_bytes();
	/* Blocks 9..12 whole, plus half of block 8 and a bit of block 13. */
	assert_int_equal(disk_discard(d, 8 * MiB + MiB / 2, 4 * MiB + MiB / 2 + 4096), 0);
	vhdx_get_info(d, &info);
	assert_int_equal(info.present_blocks, 4);
	assert_true(allocated_bytes() + 4 * MiB <= before);
	assert_zeros(d, 8 * MiB + MiB / 2, 4 * MiB + MiB / 2 + 4096);
	d = reopen(d, 0);
	assert_zeros(d, 8 * MiB + MiB / 2, 4 * MiB + MiB / 2 + 4096);
	{
		uint8_t *out = malloc(MiB / 2);

		assert_int_equal(disk_read(d, out, MiB / 2, 8 * MiB), 0);
		assert_memory_equal(out, buf, MiB / 2);
		free(out);
	}
	/* Freed space is reused once a flush made the release durable. */
	vhdx_get_info(d, &info);
	end_before = info.file_end;
	assert_int_equal(disk_discard(d, 13 * MiB, MiB), 0);
	assert_int_equal(disk_flush(d), 0);
	assert_int_equal(disk_write(d, buf, MiB, 40 * MiB), 0);
	vhdx_get_info(d, &info);
	assert_int_equal(info.file_end, end_before);
	disk_close(d, NULL);
	assert_int_equal(check_problems(), 0);
	free(buf);
}

static uint64_t file_size(void)
{
	struct stat st;

	assert_int_equal(stat(image, &st), 0);
	return st.st_size;
}

static void test_discarding_the_last_blocks_shrinks_the_file(void **state)
{
	uint8_t *buf = malloc(4 * MiB);
	struct disk *d = create(64 * MiB, 0, 0);
	uint64_t empty;

	disk_close(d, NULL);
	empty = file_size();
	d = reopen(NULL, 0);
	fill(buf, 4 * MiB, 7);
	assert_int_equal(disk_write(d, buf, 4 * MiB, 10 * MiB), 0);
	assert_int_equal(disk_write(d, buf, MiB, 30 * MiB), 0);
	assert_int_equal(disk_flush(d), 0);
	assert_int_equal(file_size(), empty + 5 * MiB);
	/* The last block allocated goes, then the four before it. */
	assert_int_equal(disk_discard(d, 30 * MiB, MiB), 0);
	assert_int_equal(disk_discard(d, 10 * MiB, 4 * MiB), 0);
	assert_int_equal(disk_flush(d), 0);
	assert_int_equal(file_size(), empty);
	d = reopen(d, 0);
	assert_zeros(d, 10 * MiB, 4 * MiB);
	assert_int_equal(disk_write(d, buf, MiB, 0), 0);
	disk_close(d, NULL);
	assert_int_equal(file_size(), empty + MiB);
	assert_int_equal(check_problems(), 0);
	free(buf);
}

static void test_large_blocks_and_sector_bitmap_interleave(void **state)
{
	/* 32 MiB blocks, 512-byte sectors: chunk ratio 128; cross a chunk. */
	const uint64_t at = 128ULL * 32 * MiB - 4096;
	uint8_t in[8192], out[8192];
	struct disk *d = create(8ULL << 30, 32 * MiB, 512);

	fill(in, sizeof(in), 9);
	assert_int_equal(disk_write(d, in, sizeof(in), at), 0);
	d = reopen(d, DISK_OPEN_READ_ONLY);
	assert_int_equal(disk_read(d, out, sizeof(out), at), 0);
	assert_memory_equal(in, out, sizeof(in));
	disk_close(d, NULL);
	assert_int_equal(check_problems(), 0);
}

static void test_refuses_bad_requests(void **state)
{
	struct disk_create_opts opts = { .format = DISK_FORMAT_VHDX, .block_size = 3 * MiB };
	char err[DISK_ERROR_MAX];
	uint8_t buf[512] = { 1 };
	struct disk *d;
	int fd = open(image, O_RDWR);

	assert_true(disk_create(fd, image, &opts, &d, err) < 0);
	assert_non_null(strstr(err, "block size"));
	d = create(MiB, 0, 0);
	assert_true(disk_write(d, buf, sizeof(buf), MiB - 256) < 0);
	assert_non_null(strstr(disk_error(d), "past the end"));
	d = reopen(d, DISK_OPEN_READ_ONLY);
	assert_int_equal(disk_write(d, buf, sizeof(buf), 0), -EROFS);
	disk_close(d, NULL);
}

/* Rewrites the current header (slot 2 after create) with its CRC fixed up. */
static void patch_header(uint64_t slot_offset, size_t field, const void *value, size_t len)
{
	uint8_t h[VHDX_HEADER_SIZE];
	int fd = open(image, O_RDWR);
	uint32_t crc;

	assert_int_equal(pread(fd, h, sizeof(h), slot_offset), sizeof(h));
	memcpy(h + field, value, len);
	memset(h + VHDX_HDR_CHECKSUM, 0, 4);
	crc = crc32c(h, sizeof(h));
	memcpy(h + VHDX_HDR_CHECKSUM, &crc, 4);
	assert_int_equal(pwrite(fd, h, sizeof(h), slot_offset), sizeof(h));
	close(fd);
}

static void corrupt_byte(uint64_t offset)
{
	int fd = open(image, O_RDWR);
	uint8_t b;

	assert_int_equal(pread(fd, &b, 1, offset), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, offset), 1);
	close(fd);
}

static void test_one_bad_header_is_survived_and_reported(void **state)
{
	char err[DISK_ERROR_MAX];

	disk_close(create(16 * MiB, 0, 0), NULL);
	corrupt_byte(VHDX_HEADER2_OFFSET + 100);
	assert_int_equal(open_fails(err), 0);
	assert_int_equal(check_problems(), 1);
	corrupt_byte(VHDX_HEADER1_OFFSET + 100);
	assert_true(open_fails(err) < 0);
	assert_non_null(strstr(err, "neither header is valid"));
}

static void test_log_needing_replay_is_refused(void **state)
{
	const uint8_t log_guid[16] = { 1, 2, 3 };
	char err[DISK_ERROR_MAX];

	disk_close(create(16 * MiB, 0, 0), NULL);
	patch_header(VHDX_HEADER2_OFFSET, VHDX_HDR_LOG_GUID, log_guid, sizeof(log_guid));
	assert_true(open_fails(err) < 0);
	assert_non_null(strstr(err, "replay"));
	assert_int_equal(check_problems(), 1);
}

static void test_bat_entry_past_end_is_refused(void **state)
{
	uint8_t entry[8] = { VHDX_BAT_FULLY_PRESENT, 0, 0, 0, 0, 0x40 };	/* 1 TiB */
	char err[DISK_ERROR_MAX];
	int fd;

	disk_close(create(16 * MiB, 0, 0), NULL);
	fd = open(image, O_RDWR);
	assert_int_equal(pwrite(fd, entry, 8, VHDX_BAT_OFFSET + 8), 8);
	close(fd);
	assert_true(open_fails(err) < 0);
	assert_non_null(strstr(err, "BAT entry 1"));
}

static void test_differencing_disk_is_refused(void **state)
{
	uint8_t md[VHDX_METADATA_TABLE_SIZE * 2], params[8];
	char err[DISK_ERROR_MAX];
	int fd;

	disk_close(create(16 * MiB, 0, 0), NULL);
	fd = open(image, O_RDWR);
	assert_int_equal(pread(fd, md, sizeof(md), VHDX_METADATA_OFFSET), sizeof(md));
	/* Our first item, the file parameters, sits right after the table. */
	memcpy(params, md + VHDX_METADATA_TABLE_SIZE, 8);
	params[4] |= VHDX_FILE_PARAM_HAS_PARENT;
	assert_int_equal(pwrite(fd, params, 8, VHDX_METADATA_OFFSET + VHDX_METADATA_TABLE_SIZE), 8);
	close(fd);
	assert_true(open_fails(err) < 0);
	assert_non_null(strstr(err, "differencing"));
}

static void test_raw_format(void **state)
{
	struct disk_create_opts opts = { .format = DISK_FORMAT_RAW, .size = 32 * MiB };
	char err[DISK_ERROR_MAX];
	uint8_t in[4096], out[4096];
	struct disk *d;
	int fd = open(image, O_RDWR | O_TRUNC);

	assert_int_equal(disk_create(fd, image, &opts, &d, err), 0);
	fill(in, sizeof(in), 5);
	assert_int_equal(disk_write(d, in, sizeof(in), 7 * MiB), 0);
	d = reopen(d, 0);
	assert_string_equal(d->ops->format, "raw");
	assert_int_equal(d->size, 32 * MiB);
	assert_int_equal(disk_read(d, out, sizeof(out), 7 * MiB), 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(disk_discard(d, 7 * MiB, sizeof(in)), 0);
	assert_zeros(d, 7 * MiB, sizeof(in));
	disk_close(d, NULL);
	assert_true(allocated_bytes() < 64 * 1024);
}

/*
 * disk_writev() and disk_readv() agree with disk_read() for uneven segments
 * across a block boundary: raw through its own ops, VHDX through the bounce.
 */
static void check_vectored_io(struct disk *d)
{
	static const size_t out_seg[] = { 512, 3000, 1, 100000, 4096, 7 };
	static const size_t in_seg[] = { 4096, 1, 103519 };
	const uint64_t at = MiB - 50000;
	size_t total = 0, done = 0;
	struct iovec iov[6];
	uint8_t *in, *out;
	unsigned int i;

	for (i = 0; i < 6; i++)
		total += out_seg[i];
	in = malloc(total);
	out = calloc(1, total);
	fill(in, total, 11);
	for (i = 0; i < 6; done += out_seg[i], i++)
		iov[i] = (struct iovec){ in + done, out_seg[i] };
	assert_int_equal(disk_writev(d, iov, 6, at), 0);
	assert_int_equal(disk_read(d, out, total, at), 0);
	assert_memory_equal(in, out, total);

	memset(out, 0, total);
	for (i = 0, done = 0; i < 3; done += in_seg[i], i++)
		iov[i] = (struct iovec){ out + done, in_seg[i] };
	assert_int_equal(disk_iov_length(iov, 3), total);
	assert_int_equal(disk_readv(d, iov, 3, at), 0);
	assert_memory_equal(in, out, total);

	iov[0] = (struct iovec){ out, total };
	assert_int_equal(disk_readv(d, iov, 1, d->size - 512), -EINVAL);
	assert_non_null(strstr(disk_error(d), "past the end"));
	free(in);
	free(out);
}

static void test_vectored_io(void **state)
{
	struct disk_create_opts opts = { .format = DISK_FORMAT_RAW, .size = 32 * MiB };
	char err[DISK_ERROR_MAX];
	struct disk *d;
	int fd;

	d = create(32 * MiB, MiB, 512);
	assert_null(d->ops->writev);
	check_vectored_io(d);
	d = reopen(d, 0);
	check_vectored_io(d);
	disk_close(d, NULL);
	assert_int_equal(check_problems(), 0);

	fd = open(image, O_RDWR | O_TRUNC);
	assert_int_equal(disk_create(fd, image, &opts, &d, err), 0);
	assert_non_null(d->ops->writev);
	check_vectored_io(d);
	disk_close(d, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_value),
		cmocka_unit_test_setup_teardown(test_create_default_is_256_gib_and_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_across_blocks_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_write_allocates_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_unmaps_and_frees_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discarding_the_last_blocks_shrinks_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_blocks_and_sector_bitmap_interleave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_bad_header_is_survived_and_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_needing_replay_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bat_entry_past_end_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_differencing_disk_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vectored_io, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
