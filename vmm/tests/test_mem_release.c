// SPDX-License-Identifier: MIT
/*
 * Giving guest memory back to the host (guest_mem_release()): the whole
 * pages of a range inside guest RAM leave the process and read as zeroes
 * afterwards; the partial pages at its ends, and everything outside it,
 * keep what they held; a range not wholly in guest RAM releases nothing.
 * Guest RAM starts on a 2 MiB boundary of the host, so that the guest's
 * 2 MiB free blocks are whole host huge pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "../layout.h"
#include "../vmm.h"

#define MEM_SIZE	(LAYOUT_MIN_MEMORY)
#define PAGE		4096ULL

static struct guest_mem mem;

static int setup(void **state)
{
	if (!mem.host)
		guest_mem_init(&mem, MEM_SIZE, false);
	/* Every page resident, each marked with its own number. */
	for (uint64_t off = 0; off < MEM_SIZE; off += PAGE)
		memset(mem.host + off, (int)(off / PAGE % 255) + 1, PAGE);
	return 0;
}

static bool resident(uint64_t gpa)
{
	unsigned char vec;

	assert_int_equal(mincore(mem.host + gpa, PAGE, &vec), 0);
	return vec & 1;
}

static bool page_holds_its_mark(uint64_t gpa)
{
	return mem.host[gpa] == (uint8_t)(gpa / PAGE % 255 + 1) &&
	       mem.host[gpa + PAGE - 1] == (uint8_t)(gpa / PAGE % 255 + 1);
}

static bool page_is_zero(uint64_t gpa)
{
	for (uint64_t i = 0; i < PAGE; i++)
		if (mem.host[gpa + i])
			return false;
	return true;
}

static void test_ram_is_2mib_aligned(void **state)
{
	assert_int_equal((uintptr_t)mem.host % (2 * MiB), 0);
	assert_int_equal(mem.page_size, sysconf(_SC_PAGESIZE));
}

static void test_whole_block_leaves_and_reads_zero(void **state)
{
	uint64_t gpa = 8 * MiB, off;

	assert_int_equal(guest_mem_release_gpa(&mem, gpa, 2 * MiB), 2 * MiB);
	for (off = 0; off < 2 * MiB; off += PAGE)
		assert_false(resident(gpa + off));
	assert_true(page_is_zero(gpa));
	assert_true(page_is_zero(gpa + 2 * MiB - PAGE));
	assert_true(page_holds_its_mark(gpa - PAGE));
	assert_true(page_holds_its_mark(gpa + 2 * MiB));
}

static void test_partial_pages_at_the_ends_stay(void **state)
{
	uint64_t gpa = 16 * MiB;

	/* From 100 bytes into one page to 100 bytes into the fourth after it. */
	assert_int_equal(guest_mem_release_gpa(&mem, gpa + 100, 3 * PAGE), 2 * PAGE);
	assert_true(page_holds_its_mark(gpa));
	assert_true(page_is_zero(gpa + PAGE));
	assert_true(page_is_zero(gpa + 2 * PAGE));
	assert_true(page_holds_its_mark(gpa + 3 * PAGE));
}

static void test_less_than_a_page_releases_nothing(void **state)
{
	assert_int_equal(guest_mem_release_gpa(&mem, 20 * MiB + 8, PAGE - 16), 0);
	assert_int_equal(guest_mem_release_gpa(&mem, 20 * MiB, 0), 0);
	assert_true(page_holds_its_mark(20 * MiB));
}

static void test_range_past_the_end_releases_nothing(void **state)
{
	uint64_t gpa = MEM_SIZE - 2 * MiB;

	assert_int_equal(guest_mem_release_gpa(&mem, gpa, 4 * MiB), 0);
	assert_true(page_holds_its_mark(gpa));
	assert_true(page_holds_its_mark(MEM_SIZE - PAGE));
	assert_int_equal(guest_mem_release_gpa(&mem, UINT64_MAX - PAGE + 1, PAGE), 0);
	assert_int_equal(guest_mem_release_gpa(&mem, LAYOUT_VIRTIO_MMIO, 2 * MiB), 0);
	assert_int_equal(guest_mem_release_gpa(&mem, 0, UINT64_MAX), 0);
}

static void test_host_range_outside_guest_ram_releases_nothing(void **state)
{
	static uint8_t elsewhere[2 * PAGE] __attribute__((aligned(4096)));

	elsewhere[PAGE] = 7;
	assert_int_equal(guest_mem_release(&mem, elsewhere, sizeof(elsewhere)), 0);
	assert_int_equal(elsewhere[PAGE], 7);
	assert_int_equal(guest_mem_release(&mem, mem.host - PAGE, 2 * PAGE), 0);
	assert_true(page_holds_its_mark(0));
	assert_int_equal(guest_mem_release(&mem, mem.host + MEM_SIZE - PAGE, 2 * PAGE), 0);
	assert_true(page_holds_its_mark(MEM_SIZE - PAGE));
}

static void test_released_memory_is_usable_again(void **state)
{
	uint64_t gpa = 32 * MiB;

	assert_int_equal(guest_mem_release_gpa(&mem, gpa, PAGE), PAGE);
	mem.host[gpa + 5] = 42;
	assert_true(resident(gpa));
	assert_int_equal(mem.host[gpa + 5], 42);
	assert_int_equal(mem.host[gpa + 4], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ram_is_2mib_aligned, setup),
		cmocka_unit_test_setup(test_whole_block_leaves_and_reads_zero, setup),
		cmocka_unit_test_setup(test_partial_pages_at_the_ends_stay, setup),
		cmocka_unit_test_setup(test_less_than_a_page_releases_nothing, setup),
		cmocka_unit_test_setup(test_range_past_the_end_releases_nothing, setup),
		cmocka_unit_test_setup(test_host_range_outside_guest_ram_releases_nothing, setup),
		cmocka_unit_test_setup(test_released_memory_is_usable_again, setup),
	};

	return cmocka_run_group_tests_name("mem_release", tests, NULL, NULL);
}
