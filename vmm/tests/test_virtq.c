// SPDX-License-Identifier: MIT
/*
 * The virtqueue walker against a misbehaving driver: chains that point
 * outside guest RAM, loop, run past the queue, mix the order of readable
 * and writable buffers, or use features never offered must be refused
 * without touching anything outside guest memory; good chains come out
 * whole, and what is pushed back lands in the used ring.
 */
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../layout.h"
#include "../virtq.h"
#include "../vmm.h"

#define QSIZE		8
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x10000
#define MEM_SIZE	(LAYOUT_MIN_MEMORY)

struct fixture {
	struct guest_mem mem;
	struct virtq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

static int setup(void **state)
{
	static struct fixture f;

	if (!f.mem.host)
		guest_mem_init(&f.mem, MEM_SIZE, false);
	memset(f.mem.host, 0, 0x20000);
	memset(&f.vq, 0, sizeof(f.vq));
	f.vq.num = QSIZE;
	f.vq.desc_gpa = DESC_GPA;
	f.vq.avail_gpa = AVAIL_GPA;
	f.vq.used_gpa = USED_GPA;
	assert_null(virtq_enable(&f.vq, &f.mem));
	f.desc = (struct vring_desc *)(f.mem.host + DESC_GPA);
	f.avail = (struct vring_avail *)(f.mem.host + AVAIL_GPA);
	f.used = (struct vring_used *)(f.mem.host + USED_GPA);
	*state = &f;
	return 0;
}

static void set_desc(struct fixture *f, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	f->desc[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static void offer(struct fixture *f, uint16_t head)
{
	f->avail->ring[f->avail->idx % QSIZE] = head;
	f->avail->idx++;
}

static enum virtq_pop_result pop(struct fixture *f, struct virtq_chain *c, const char **why)
{
	*why = NULL;
	return virtq_pop(&f->vq, &f->mem, c, why);
}

static void test_empty_queue(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain c;
	const char *why;

	assert_int_equal(pop(f, &c, &why), VIRTQ_EMPTY);
}

static void test_good_chain_readable_then_writable(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain c;
	const char *why;

	set_desc(f, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 3);
	set_desc(f, 3, BUF_GPA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
	set_desc(f, 5, BUF_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f, &c, &why), VIRTQ_CHAIN);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.nout, 1);
	assert_int_equal(c.nin, 2);
	assert_int_equal(c.out_len, 16);
	assert_int_equal(c.in_len, 513);
	assert_ptr_equal(c.iov[0].iov_base, f->mem.host + BUF_GPA);
	assert_ptr_equal(virtq_chain_in(&c)[1].iov_base, f->mem.host + BUF_GPA + 0x400);
	assert_int_equal(pop(f, &c, &why), VIRTQ_EMPTY);

	virtq_push(&f->vq, c.head, 513);
	assert_int_equal(f->used->idx, 1);
	assert_int_equal(f->used->ring[0].id, 0);
	assert_int_equal(f->used->ring[0].len, 513);
}

static void expect_broken(struct fixture *f, const char *needle)
{
	struct virtq_chain c;
	const char *why;

	assert_int_equal(pop(f, &c, &why), VIRTQ_BROKEN);
	assert_non_null(why);
	assert_non_null(strstr(why, needle));
}

static void test_buffer_outside_guest_ram(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, MEM_SIZE - 8, 16, 0, 0);	/* straddles the end of RAM */
	offer(f, 0);
	expect_broken(f, "outside guest RAM");
}

static void test_buffer_in_the_mmio_hole(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, LAYOUT_VIRTIO_MMIO, 4, 0, 0);
	offer(f, 0);
	expect_broken(f, "outside guest RAM");
}

static void test_huge_length_wraps_nothing(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, BUF_GPA, UINT32_MAX, 0, 0);
	offer(f, 0);
	expect_broken(f, "outside guest RAM");
}

static void test_address_that_overflows(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, UINT64_MAX - 4, 16, 0, 0);
	offer(f, 0);
	expect_broken(f, "outside guest RAM");
}

static void test_loop_in_chain(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_broken(f, "loops");
}

static void test_next_past_the_queue(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, QSIZE);
	offer(f, 0);
	expect_broken(f, "past the queue's end");
}

static void test_head_past_the_queue(void **state)
{
	struct fixture *f = *state;

	offer(f, QSIZE + 3);
	expect_broken(f, "past the queue's end");
}

static void test_available_index_runs_ahead(void **state)
{
	struct fixture *f = *state;

	f->avail->idx = QSIZE + 1;
	expect_broken(f, "more than a queue ahead");
}

static void test_readable_after_writable(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, BUF_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(f, 1, BUF_GPA, 16, 0, 0);
	offer(f, 0);
	expect_broken(f, "readable descriptor follows a writable");
}

static void test_indirect_not_offered(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, BUF_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f, "indirect");
}

static void test_rings_outside_ram_refused(void **state)
{
	struct fixture *f = *state;
	struct virtq vq = { .num = QSIZE, .desc_gpa = MEM_SIZE - 16, .avail_gpa = AVAIL_GPA,
			    .used_gpa = USED_GPA };

	assert_non_null(virtq_enable(&vq, &f->mem));
	vq = (struct virtq){ .num = 3, .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA,
			     .used_gpa = USED_GPA };
	assert_non_null(virtq_enable(&vq, &f->mem));
	vq.num = VIRTQ_MAX_SIZE * 2;
	assert_non_null(virtq_enable(&vq, &f->mem));
}

static void test_unpop_gives_the_chain_again(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain c;
	const char *why;

	set_desc(f, 2, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	offer(f, 2);
	assert_int_equal(pop(f, &c, &why), VIRTQ_CHAIN);
	virtq_unpop(&f->vq);
	assert_int_equal(pop(f, &c, &why), VIRTQ_CHAIN);
	assert_int_equal(c.head, 2);
}

static void test_iov_copies_across_segments(void **state)
{
	uint8_t a[3], b[5], out[8];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

	assert_int_equal(iov_from_buf(iov, 2, 1, "abcdefg", 7), 7);
	assert_int_equal(iov_to_buf(iov, 2, 1, out, 8), 7);
	assert_memory_equal(out, "abcdefg", 7);
	assert_int_equal(iov_to_buf(iov, 2, 8, out, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_empty_queue, setup),
		cmocka_unit_test_setup(test_good_chain_readable_then_writable, setup),
		cmocka_unit_test_setup(test_buffer_outside_guest_ram, setup),
		cmocka_unit_test_setup(test_buffer_in_the_mmio_hole, setup),
		cmocka_unit_test_setup(test_huge_length_wraps_nothing, setup),
		cmocka_unit_test_setup(test_address_that_overflows, setup),
		cmocka_unit_test_setup(test_loop_in_chain, setup),
		cmocka_unit_test_setup(test_next_past_the_queue, setup),
		cmocka_unit_test_setup(test_head_past_the_queue, setup),
		cmocka_unit_test_setup(test_available_index_runs_ahead, setup),
		cmocka_unit_test_setup(test_readable_after_writable, setup),
		cmocka_unit_test_setup(test_indirect_not_offered, setup),
		cmocka_unit_test_setup(test_rings_outside_ram_refused, setup),
		cmocka_unit_test_setup(test_unpop_gives_the_chain_again, setup),
		cmocka_unit_test(test_iov_copies_across_segments),
	};

	return cmocka_run_group_tests_name("virtq", tests, NULL, NULL);
}
