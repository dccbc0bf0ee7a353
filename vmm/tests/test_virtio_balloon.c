// SPDX-License-Identifier: MIT
/*
 * virtio-balloon against a driver played through its MMIO registers and
 * rings: reported blocks and inflated pages leave the process and read as
 * zeroes, nothing else does; PFNs outside guest RAM, buffers of odd sizes
 * and rings the driver broke are survived, and the device hands back every
 * buffer but the stats one, which it keeps to ask for figures later.  The
 * driver's config writes reach only its own fields.  Then thousands of
 * random requests, wild addresses and lengths among them, on every queue:
 * nothing outside the window they name is released (and, built with
 * SANITIZE=1, nothing outside guest RAM is touched).
 */
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "../layout.h"
#include "../loop.h"
#include "../virtio.h"
#include "../virtio_devices.h"
#include "../vmm.h"

#define MEM_SIZE	(LAYOUT_MIN_MEMORY)
#define PAGE		4096ULL
#define QSIZE		16
#define RINGS_GPA	0x100000ULL	/* queue q's rings at RINGS_GPA + q * RING_STRIDE */
#define RING_STRIDE	0x4000ULL
#define BUF_GPA		0x200000ULL	/* PFN lists and stats */
#define Q_INFLATE	0
#define Q_DEFLATE	1
#define Q_STATS		2
#define Q_REPORTING	3

static struct vm vm;
static struct virtio_dev *dev;

static void reg_write(uint64_t offset, uint32_t v)
{
	assert_true(bus_write(&vm.mmio, LAYOUT_VIRTIO_MMIO + offset, &v, 4));
}

static uint32_t reg_read(uint64_t offset)
{
	uint32_t v;

	assert_true(bus_read(&vm.mmio, LAYOUT_VIRTIO_MMIO + offset, &v, 4));
	return v;
}

static struct vring_desc *ring_desc(unsigned int q)
{
	return (struct vring_desc *)(vm.mem.host + RINGS_GPA + q * RING_STRIDE);
}

static struct vring_avail *ring_avail(unsigned int q)
{
	return (struct vring_avail *)(vm.mem.host + RINGS_GPA + q * RING_STRIDE + 0x1000);
}

static struct vring_used *ring_used(unsigned int q)
{
	return (struct vring_used *)(vm.mem.host + RINGS_GPA + q * RING_STRIDE + 0x2000);
}

/* What a driver does from reset to DRIVER_OK, accepting every feature offered. */
static void driver_start(void)
{
	uint32_t features;
	unsigned int q;

	reg_write(VIRTIO_MMIO_STATUS, 0);
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features = reg_read(VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(features & (1u << VIRTIO_BALLOON_F_REPORTING));
	assert_true(features & (1u << VIRTIO_BALLOON_F_STATS_VQ));
	assert_false(features & (1u << VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, features);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, 1);	/* VERSION_1 */
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	memset(vm.mem.host + RINGS_GPA, 0, 4 * RING_STRIDE);
	for (q = 0; q < 4; q++) {
		uint64_t base = RINGS_GPA + q * RING_STRIDE;

		reg_write(VIRTIO_MMIO_QUEUE_SEL, q);
		reg_write(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, base);
		reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, base + 0x1000);
		reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, base + 0x2000);
		reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
		/* No irqfd outside KVM: ask for no interrupts. */
		ring_avail(q)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	}
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(virtio_is_live(dev));
}

static int setup(void **state)
{
	if (!dev) {
		vm.loop = loop_create();
		guest_mem_init(&vm.mem, MEM_SIZE, false);
		virtio_balloon_init(&vm);
		dev = (struct virtio_dev *)virtio_mmio_device(0);
	}
	/* Every page resident, each marked with its own number. */
	for (uint64_t off = 0; off < MEM_SIZE; off += PAGE)
		memset(vm.mem.host + off, (int)(off / PAGE % 255) + 1, PAGE);
	driver_start();
	return 0;
}

static bool resident(uint64_t gpa)
{
	unsigned char vec;

	assert_int_equal(mincore(vm.mem.host + gpa, PAGE, &vec), 0);
	return vec & 1;
}

static bool holds_its_mark(uint64_t gpa)
{
	return vm.mem.host[gpa] == (uint8_t)(gpa / PAGE % 255 + 1);
}

/* Offers a chain of (gpa, len, flags) descriptors on q and notifies it. */
static void offer(unsigned int q, unsigned int n, const struct vring_desc *descs)
{
	struct vring_desc *desc = ring_desc(q);
	struct vring_avail *avail = ring_avail(q);
	unsigned int i;

	for (i = 0; i < n; i++) {
		desc[i] = descs[i];
		if (i + 1 < n) {
			desc[i].flags |= VRING_DESC_F_NEXT;
			desc[i].next = i + 1;
		}
	}
	avail->ring[avail->idx % QSIZE] = 0;
	__atomic_store_n(&avail->idx, avail->idx + 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&dev->lock);
	dev->ops->queue_notify(dev, q);
	pthread_mutex_unlock(&dev->lock);
}

static void offer_pfns(unsigned int q, const uint32_t *pfns, size_t bytes)
{
	struct vring_desc d = { .addr = BUF_GPA, .len = bytes };

	memcpy(vm.mem.host + BUF_GPA, pfns, bytes);
	offer(q, 1, &d);
}

static void test_reported_blocks_leave(void **state)
{
	const struct vring_desc report[] = {
		{ .addr = 8 * MiB, .len = 2 * MiB, .flags = VRING_DESC_F_WRITE },
		/* An odd size: only its whole pages go. */
		{ .addr = 12 * MiB + 100, .len = 2 * PAGE, .flags = VRING_DESC_F_WRITE },
	};
	uint64_t off;

	offer(Q_REPORTING, 2, report);
	assert_int_equal(ring_used(Q_REPORTING)->idx, 1);
	for (off = 0; off < 2 * MiB; off += PAGE)
		assert_false(resident(8 * MiB + off));
	assert_true(holds_its_mark(8 * MiB - PAGE));
	assert_true(holds_its_mark(10 * MiB));
	assert_true(holds_its_mark(12 * MiB));
	assert_int_equal(vm.mem.host[12 * MiB + PAGE], 0);
	assert_true(holds_its_mark(12 * MiB + 2 * PAGE));
}

static void test_inflated_pages_leave_bad_pfns_are_skipped(void **state)
{
	const uint32_t pfns[] = { 0x1000, 0x1001, 0x1002, 0xffffffff, MEM_SIZE / PAGE, 0x1800,
				  0x3ff0 };
	const uint32_t odd[] = { 0x1900, 0x1901 };

	offer_pfns(Q_INFLATE, pfns, sizeof(pfns));
	assert_int_equal(ring_used(Q_INFLATE)->idx, 1);
	assert_false(resident(0x1000 * PAGE));
	assert_false(resident(0x1002 * PAGE));
	assert_true(holds_its_mark(0x1003 * PAGE));
	assert_false(resident(0x1800 * PAGE));
	assert_false(resident(0x3ff0 * PAGE));
	assert_true(holds_its_mark(MEM_SIZE - PAGE));

	/* Seven bytes: one whole PFN and three odd bytes, which are ignored. */
	offer_pfns(Q_INFLATE, odd, 7);
	assert_int_equal(ring_used(Q_INFLATE)->idx, 2);
	assert_false(resident(0x1900 * PAGE));
	assert_true(holds_its_mark(0x1901 * PAGE));

	/* Fewer bytes than one PFN, and none at all. */
	offer_pfns(Q_INFLATE, odd, 3);
	offer_pfns(Q_INFLATE, odd, 0);
	assert_int_equal(ring_used(Q_INFLATE)->idx, 4);
	assert_true(holds_its_mark(0x1901 * PAGE));
}

static void test_inflate_takes_at_most_4096_pfns_of_a_buffer(void **state)
{
	/* 2 MiB of PFNs, 512 Ki of them: every other page from 16 MiB on. */
	uint32_t *pfns = (uint32_t *)(vm.mem.host + BUF_GPA);
	struct vring_desc d = { .addr = BUF_GPA, .len = 2 * MiB };
	uint32_t i;

	for (i = 0; i < d.len / 4; i++)
		pfns[i] = 16 * MiB / PAGE + 2 * (i % 8192);
	offer(Q_INFLATE, 1, &d);
	assert_int_equal(ring_used(Q_INFLATE)->idx, 1);
	assert_false(resident(16 * MiB + 2 * PAGE * 4095));
	assert_true(holds_its_mark(16 * MiB + 2 * PAGE * 4096));
}

static void test_deflate_releases_nothing(void **state)
{
	const uint32_t pfns[] = { 0x2000, 0x2001, 0xffffffff };

	offer_pfns(Q_DEFLATE, pfns, sizeof(pfns));
	assert_int_equal(ring_used(Q_DEFLATE)->idx, 1);
	assert_true(holds_its_mark(0x2000 * PAGE));
	assert_true(holds_its_mark(0x2001 * PAGE));
}

static void test_broken_ring_stops_the_device(void **state)
{
	struct vring_desc outside = { .addr = MEM_SIZE - PAGE, .len = 2 * PAGE };

	offer(Q_REPORTING, 1, &outside);
	assert_int_equal(ring_used(Q_REPORTING)->idx, 0);
	assert_true(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(holds_its_mark(MEM_SIZE - PAGE));
	/* The driver resets, and the device works again. */
	driver_start();
	offer_pfns(Q_INFLATE, (const uint32_t[]){ 0x2100 }, 4);
	assert_int_equal(ring_used(Q_INFLATE)->idx, 1);
	assert_false(resident(0x2100 * PAGE));
}

static void test_stats_buffer_is_kept(void **state)
{
	struct virtio_balloon_stat stats[2] = {
		{ .tag = VIRTIO_BALLOON_S_MEMFREE, .val = 12345 },
		{ .tag = 999, .val = 7 },
	};
	struct vring_desc d = { .addr = BUF_GPA, .len = sizeof(stats) + 3 };

	memcpy(vm.mem.host + BUF_GPA, stats, sizeof(stats));
	offer(Q_STATS, 1, &d);
	assert_int_equal(ring_used(Q_STATS)->idx, 0);
	/* A second buffer: the first goes back, the second is kept. */
	offer(Q_STATS, 1, &d);
	assert_int_equal(ring_used(Q_STATS)->idx, 1);
}

static void test_driver_writes_only_its_config_fields(void **state)
{
	const uint64_t config = LAYOUT_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG;
	uint32_t v = 1234, got;

	assert_true(bus_write(&vm.mmio, config + offsetof(struct virtio_balloon_config, num_pages),
			      &v, 4));
	assert_true(bus_read(&vm.mmio, config + offsetof(struct virtio_balloon_config, num_pages),
			     &got, 4));
	assert_int_equal(got, 0);
	assert_true(bus_write(&vm.mmio, config + offsetof(struct virtio_balloon_config, actual),
			      &v, 4));
	assert_true(bus_read(&vm.mmio, config + offsetof(struct virtio_balloon_config, actual),
			     &got, 4));
	assert_int_equal(got, 1234);
	/* A write across two fields, and one past the end, change nothing. */
	assert_true(bus_write(&vm.mmio, config + 2, &v, 4));
	assert_true(bus_write(&vm.mmio, config + sizeof(struct virtio_balloon_config) - 2, &v, 4));
	assert_true(bus_read(&vm.mmio, config, &got, 4));
	assert_int_equal(got, 0);
}

/* xorshift64: the same "random" requests every run. */
static uint64_t rnd(void)
{
	static uint64_t x = 0x5157534c62616c6cULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* Random requests name guest RAM in [WINDOW_START, WINDOW_END) only, or no RAM. */
#define WINDOW_START	(16 * MiB)
#define WINDOW_END	(48 * MiB)

static uint64_t random_gpa(void)
{
	switch (rnd() % 4) {
	case 0:
		return rnd();					/* anywhere at all */
	case 1:
		return MEM_SIZE + rnd() % (4 * GiB);		/* past RAM, or the hole */
	default:
		return WINDOW_START + rnd() % (WINDOW_END - WINDOW_START);
	}
}

static void random_request(void)
{
	unsigned int q = rnd() % 4, n = 1 + rnd() % 4, i;
	struct vring_desc d[4];

	if (q == Q_INFLATE || q == Q_DEFLATE || q == Q_STATS) {
		uint32_t words[64];
		unsigned int nwords = rnd() % 64;

		for (i = 0; i < nwords; i++) {
			uint64_t page;

			words[i] = rnd() % 8 ? (uint32_t)(random_gpa() / PAGE) : (uint32_t)rnd();
			/* A random PFN of RAM outside the window moves into it. */
			page = (uint64_t)words[i] * PAGE;
			if (page < MEM_SIZE && (page < WINDOW_START || page >= WINDOW_END))
				words[i] = WINDOW_START / PAGE;
		}
		memcpy(vm.mem.host + BUF_GPA, words, sizeof(words));
		d[0] = (struct vring_desc){ .addr = BUF_GPA, .len = nwords * 4 + rnd() % 4,
					    .flags = rnd() % 2 ? VRING_DESC_F_WRITE : 0 };
		offer(q, 1, d);
	} else {
		for (i = 0; i < n; i++) {
			uint64_t gpa = random_gpa();
			uint64_t len = rnd() % (4 * MiB);

			/* A range of RAM outside the window is no test of anything. */
			if (gpa >= WINDOW_START && gpa < WINDOW_END && len > WINDOW_END - gpa)
				len = WINDOW_END - gpa;
			d[i] = (struct vring_desc){ .addr = gpa, .len = len,
						    .flags = rnd() % 4 ? VRING_DESC_F_WRITE : 0 };
		}
		offer(q, n, d);
	}
	if (reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET)
		driver_start();
}

static void test_random_requests_release_only_what_they_name(void **state)
{
	uint64_t gpa, released = 0;
	unsigned int i;

	for (i = 0; i < 5000; i++)
		random_request();
	for (gpa = WINDOW_START; gpa < WINDOW_END; gpa += PAGE)
		released += !resident(gpa);
	print_message("# %llu of the window's %llu pages released\n", (unsigned long long)released,
		      (unsigned long long)((WINDOW_END - WINDOW_START) / PAGE));
	assert_true(released > 0);
	for (gpa = 4 * MiB; gpa < WINDOW_START; gpa += PAGE)
		assert_true(holds_its_mark(gpa));
	for (gpa = WINDOW_END; gpa < MEM_SIZE; gpa += PAGE)
		assert_true(holds_its_mark(gpa));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reported_blocks_leave, setup),
		cmocka_unit_test_setup(test_inflated_pages_leave_bad_pfns_are_skipped, setup),
		cmocka_unit_test_setup(test_inflate_takes_at_most_4096_pfns_of_a_buffer, setup),
		cmocka_unit_test_setup(test_deflate_releases_nothing, setup),
		cmocka_unit_test_setup(test_broken_ring_stops_the_device, setup),
		cmocka_unit_test_setup(test_stats_buffer_is_kept, setup),
		cmocka_unit_test_setup(test_driver_writes_only_its_config_fields, setup),
		cmocka_unit_test_setup(test_random_requests_release_only_what_they_name, setup),
	};

	return cmocka_run_group_tests_name("virtio_balloon", tests, NULL, NULL);
}
