// SPDX-License-Identifier: MIT
/*
 * virtio-9p against a hostile driver, without KVM: the device is set up
 * through its MMIO registers like a guest would, its queue lives in a
 * plain guest_mem, and requests are chains written here by hand.  Bad
 * sizes, bad fids, huge counts, climbing names, chains with no room for
 * a reply, a queue full of requests and a reset with requests in flight
 * must each give a 9P error or a used chain, never a crash nor a reply
 * past the buffer the driver gave.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_9p.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <p9.h>

#include "../layout.h"
#include "../loop.h"
#include "../virtio.h"
#include "../virtio_devices.h"
#include "../vmm.h"

#define QSIZE		VIRTQ_MAX_SIZE
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x3000
#define USED_GPA	0x4000
#define SLOT_GPA	0x100000	/* request i at + i * SLOT_SIZE, its reply half-way */
#define SLOT_SIZE	0x4000
#define REPLY_OFF	0x2000
#define POISON		0xa5

static struct vm vm;
static struct virtio_dev *dev;
static char share[] = "/tmp/test_virtio_9p.XXXXXX";
static uint16_t avail_idx;
static struct vring_desc *desc;
static struct vring_avail *avail;
static struct vring_used *used;

static void mmio_write(uint32_t offset, uint32_t v)
{
	assert_true(bus_write(&vm.mmio, LAYOUT_VIRTIO_MMIO + offset, &v, 4));
}

static uint32_t mmio_read(uint32_t offset)
{
	uint32_t v = 0;

	assert_true(bus_read(&vm.mmio, LAYOUT_VIRTIO_MMIO + offset, &v, 4));
	return v;
}

/* What a driver does to bring the device up, with one queue of QSIZE. */
static void driver_init(void)
{
	/* Reset first: the old rings are the device's until then. */
	mmio_write(VIRTIO_MMIO_STATUS, 0);
	memset(vm.mem.host, 0, SLOT_GPA);
	desc = (struct vring_desc *)(vm.mem.host + DESC_GPA);
	avail = (struct vring_avail *)(vm.mem.host + AVAIL_GPA);
	used = (struct vring_used *)(vm.mem.host + USED_GPA);
	/* No irqfd without KVM: ask for no interrupts. */
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	avail_idx = 0;
	mmio_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_9P_MOUNT_TAG);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	mmio_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(mmio_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	mmio_write(VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_write(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	mmio_write(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	mmio_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA);
	mmio_write(VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA);
	mmio_write(VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static uint8_t *slot(unsigned int i)
{
	return vm.mem.host + SLOT_GPA + (uint64_t)i * SLOT_SIZE;
}

/* Offers request i: LEN bytes already in its slot, a reply buffer of CAP (0: none). */
static void offer(unsigned int i, size_t len, uint32_t cap)
{
	uint64_t gpa = SLOT_GPA + (uint64_t)i * SLOT_SIZE;

	memset(slot(i) + REPLY_OFF, POISON, SLOT_SIZE - REPLY_OFF);
	desc[2 * i] = (struct vring_desc){ .addr = gpa, .len = len };
	if (cap) {
		desc[2 * i].flags = VRING_DESC_F_NEXT;
		desc[2 * i].next = 2 * i + 1;
		desc[2 * i + 1] = (struct vring_desc){
			.addr = gpa + REPLY_OFF, .len = cap, .flags = VRING_DESC_F_WRITE };
	}
	avail->ring[avail_idx % QSIZE] = 2 * i;
	__atomic_store_n(&avail->idx, ++avail_idx, __ATOMIC_RELEASE);
}

/* The driver's notification, as the event loop delivers it. */
static void notify(void)
{
	pthread_mutex_lock(&dev->lock);
	dev->ops->queue_notify(dev, 0);
	pthread_mutex_unlock(&dev->lock);
}

static uint16_t used_idx(void)
{
	uint16_t idx;

	pthread_mutex_lock(&dev->lock);
	idx = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&dev->lock);
	return idx;
}

/* Until N chains are used (the workers answer in their own time). */
static void wait_used(uint16_t n)
{
	int i;

	for (i = 0; i < 10000 && used_idx() != n; i++)
		usleep(1000);
	assert_int_equal(used_idx(), n);
}

/* The used length of the chain with head HEAD. */
static uint32_t used_len(uint16_t head)
{
	unsigned int k;

	/* The newest first: a slot is used again and again. */
	for (k = used->idx; k-- > 0 && k + QSIZE > used->idx;)
		if (used->ring[k % QSIZE].id == head)
			return used->ring[k % QSIZE].len;
	fail_msg("chain %u was never used", head);
	return 0;
}

/* Sends F as request i and returns the decoded reply in *R; the reply's length. */
static uint32_t rpc_cap(unsigned int i, const struct p9_fcall *f, uint32_t cap,
			struct p9_fcall *r)
{
	size_t len = p9_encode(f, slot(i), REPLY_OFF);
	uint16_t start = avail_idx;
	uint32_t got;

	assert_true(len > 0);
	offer(i, len, cap);
	notify();
	wait_used(start + 1);
	got = used_len(2 * i);
	assert_true(got <= cap);
	/* Nothing past what the device says it wrote, nor past the buffer. */
	if (cap < SLOT_SIZE - REPLY_OFF)
		assert_int_equal(slot(i)[REPLY_OFF + cap], POISON);
	if (got) {
		assert_int_equal(p9_msg_size(slot(i) + REPLY_OFF), got);
		assert_int_equal(p9_decode(slot(i) + REPLY_OFF, got, r), 0);
		assert_int_equal(r->tag, f->tag);
	}
	return got;
}

static uint32_t rpc(unsigned int i, const struct p9_fcall *f, struct p9_fcall *r)
{
	return rpc_cap(i, f, SLOT_SIZE - REPLY_OFF, r);
}

static void expect_error(const struct p9_fcall *f, uint32_t ecode)
{
	struct p9_fcall r;

	assert_true(rpc(0, f, &r));
	assert_int_equal(r.type, P9_RLERROR);
	assert_int_equal(r.u.rlerror.ecode, ecode);
}

#define STR(s) ((struct p9_str){ s, sizeof(s) - 1 })

/* Tversion and Tattach of fid 0 at the share's root. */
static void session(void)
{
	struct p9_fcall v = { .type = P9_TVERSION, .tag = P9_NOTAG,
			      .u.version = { P9_DEFAULT_MSIZE, STR(P9_PROTO_L) } };
	struct p9_fcall a = { .type = P9_TATTACH, .tag = 1,
			      .u.tattach = { 0, P9_NOFID, STR("root"), STR(""), 0 } };
	struct p9_fcall r;

	assert_true(rpc(0, &v, &r));
	assert_int_equal(r.type, P9_RVERSION);
	assert_int_equal(r.u.version.msize, P9_DEFAULT_MSIZE);
	assert_true(rpc(0, &a, &r));
	assert_int_equal(r.type, P9_RATTACH);
	assert_int_equal(r.u.qid.type, P9_QTDIR);
}

static int setup(void **state)
{
	driver_init();
	session();
	return 0;
}

static void test_config_space(void **state)
{
	uint8_t cfg[2 + 5];

	assert_int_equal(mmio_read(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_9P);
	mmio_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(mmio_read(VIRTIO_MMIO_DEVICE_FEATURES), 1u << VIRTIO_9P_MOUNT_TAG);
	assert_true(bus_read(&vm.mmio, LAYOUT_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG, cfg, 2));
	assert_true(bus_read(&vm.mmio, LAYOUT_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG + 2, cfg + 2, 4));
	assert_true(bus_read(&vm.mmio, LAYOUT_VIRTIO_MMIO + VIRTIO_MMIO_CONFIG + 6, cfg + 6, 1));
	assert_int_equal(cfg[0] | cfg[1] << 8, 5);
	assert_memory_equal(cfg + 2, "tag-1", 5);
}

static void test_climbing_names(void **state)
{
	struct p9_fcall f = { .type = P9_TWALK, .tag = 2,
			      .u.twalk = { .fid = 0, .newfid = 1, .nwname = 1 } };

	f.u.twalk.wname[0] = STR("..");
	expect_error(&f, EINVAL);
	f.u.twalk.wname[0] = STR("../outside");
	expect_error(&f, EINVAL);
	f.u.twalk.wname[0] = STR("/etc");
	expect_error(&f, EINVAL);
}

static void test_bad_fids(void **state)
{
	struct p9_fcall f = { .type = P9_TREAD, .tag = 3, .u.tread = { 77, 0, 4096 } };
	struct p9_fcall g = { .type = P9_TGETATTR, .tag = 4,
			      .u.tgetattr = { P9_NOFID, P9_GETATTR_BASIC } };
	struct p9_fcall w = { .type = P9_TWALK, .tag = 5,
			      .u.twalk = { .fid = 0, .newfid = 0xdead, .nwname = 0 } };
	struct p9_fcall c = { .type = P9_TCLUNK, .tag = 6, .u.tfid = { 0xdead } };
	struct p9_fcall r;

	expect_error(&f, EBADF);
	expect_error(&g, EBADF);
	/* A fid is taken once; clunked twice is EBADF the second time. */
	assert_true(rpc(0, &w, &r));
	assert_int_equal(r.type, P9_RWALK);
	expect_error(&w, EBADF);
	assert_true(rpc(0, &c, &r));
	assert_int_equal(r.type, P9_RCLUNK);
	expect_error(&c, EBADF);
}

/* A Tread asking for 4 GiB into a buffer of 20 bytes gets what fits. */
static void test_huge_count(void **state)
{
	struct p9_fcall w = { .type = P9_TWALK, .tag = 7,
			      .u.twalk = { .fid = 0, .newfid = 2, .nwname = 1 } };
	struct p9_fcall o = { .type = P9_TLOPEN, .tag = 8, .u.tlopen = { 2, P9_DOTL_RDONLY } };
	struct p9_fcall rd = { .type = P9_TREAD, .tag = 9, .u.tread = { 2, 1, 0xffffffffu } };
	struct p9_fcall c = { .type = P9_TCLUNK, .tag = 10, .u.tfid = { 2 } };
	struct p9_fcall r;

	w.u.twalk.wname[0] = STR("file");
	assert_true(rpc(0, &w, &r));
	assert_int_equal(r.type, P9_RWALK);
	assert_true(rpc(0, &o, &r));
	assert_int_equal(r.type, P9_RLOPEN);
	assert_int_equal(rpc_cap(0, &rd, P9_RREAD_HEADER + 9, &r), P9_RREAD_HEADER + 9);
	assert_int_equal(r.type, P9_RREAD);
	assert_int_equal(r.u.rread.count, 9);
	assert_memory_equal(r.u.rread.data, "123456789", 9);
	assert_true(rpc(0, &c, &r));
}

/* Size fields that disagree with the chain, and garbage, get Rlerror. */
static void test_bad_sizes(void **state)
{
	static const uint8_t lies[][12] = {
		{ 0xe8, 0x03, 0, 0, P9_TGETATTR, 0x0b, 0 },	/* says 1000 bytes */
		{ 7, 0, 0, 0, P9_TCLUNK, 0x0b, 0 },		/* no fid */
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0x0b, 0 },
		{ 12, 0, 0, 0, P9_RREAD, 0x0b, 0, 1, 0, 0, 0, 0 }, /* a reply as a request */
	};
	unsigned int i;

	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		uint16_t start = avail_idx;
		uint32_t len;

		memcpy(slot(0), lies[i], sizeof(lies[i]));
		offer(0, i == 3 ? 12 : 7, 64);
		notify();
		wait_used(start + 1);
		len = used_len(0);
		assert_int_equal(len, P9_RLERROR_SIZE);
		assert_int_equal(slot(0)[REPLY_OFF + 4], P9_RLERROR);
		assert_int_equal(slot(0)[REPLY_OFF + 5], 0x0b);
		assert_int_equal(slot(0)[REPLY_OFF + len], POISON);
	}
}

/* Chains with no room for an answer are handed back empty; the device goes on. */
static void test_no_room_for_reply(void **state)
{
	struct p9_fcall g = { .type = P9_TGETATTR, .tag = 11,
			      .u.tgetattr = { 0, P9_GETATTR_BASIC } };
	struct p9_fcall r;
	size_t len = p9_encode(&g, slot(0), REPLY_OFF);

	offer(0, len, 0);
	notify();
	wait_used(avail_idx);
	assert_int_equal(used_len(0), 0);
	offer(1, p9_encode(&g, slot(1), REPLY_OFF), P9_RLERROR_SIZE - 1);
	notify();
	wait_used(avail_idx);
	assert_int_equal(used_len(2), 0);
	assert_int_equal(slot(1)[REPLY_OFF], POISON);
	assert_true(rpc(2, &g, &r));
	assert_int_equal(r.type, P9_RGETATTR);
}

/* A full queue of requests at once: every one answered, each under its tag. */
static void test_full_queue(void **state)
{
	unsigned int i, n = QSIZE / 2;
	uint16_t start = avail_idx;

	for (i = 0; i < n; i++) {
		struct p9_fcall g = { .type = P9_TGETATTR, .tag = 100 + i,
				      .u.tgetattr = { 0, P9_GETATTR_BASIC } };

		offer(i, p9_encode(&g, slot(i), REPLY_OFF), 512);
	}
	notify();
	wait_used(start + n);
	for (i = 0; i < n; i++) {
		struct p9_fcall r;
		uint32_t len = used_len(2 * i);

		assert_int_equal(p9_decode(slot(i) + REPLY_OFF, len, &r), 0);
		assert_int_equal(r.type, P9_RGETATTR);
		assert_int_equal(r.tag, 100 + i);
	}
}

/* The used ring's position of the chain with head HEAD among the last N. */
static unsigned int used_pos(uint16_t head, uint16_t start, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		if (used->ring[(uint16_t)(start + k) % QSIZE].id == head)
			return k;
	fail_msg("chain %u was not among the %u used", head, n);
	return 0;
}

/*
 * Each request followed by a Tflush of it, many times: served by
 * different workers, the Rflush must still come after the flushed
 * request's reply (the client reuses the request's buffers on Rflush).
 */
static void test_flush_after_flushed(void **state)
{
	unsigned int i, round, n = 8;

	for (round = 0; round < 300; round++) {
		uint16_t start = avail_idx;

		for (i = 0; i < n; i += 2) {
			struct p9_fcall g = { .type = P9_TGETATTR, .tag = 200 + i,
					      .u.tgetattr = { 0, P9_GETATTR_BASIC } };
			struct p9_fcall f = { .type = P9_TFLUSH, .tag = 300 + i,
					      .u.tflush.oldtag = 200 + i };

			offer(i, p9_encode(&g, slot(i), REPLY_OFF), 512);
			offer(i + 1, p9_encode(&f, slot(i + 1), REPLY_OFF), 512);
		}
		notify();
		wait_used(start + n);
		for (i = 0; i < n; i += 2)
			if (used_pos(2 * i, start, n) > used_pos(2 * (i + 1), start, n))
				fail_msg("round %u: Rflush of tag %u before the reply it flushes",
					 round, 200 + i);
	}
}

/* Requests in flight at a reset never land in the rings set up after it. */
static void test_reset_in_flight(void **state)
{
	unsigned int i, round, n = QSIZE / 2;

	/* Many times over: the few requests in the workers' hands race the reset. */
	for (round = 0; round < 200; round++) {
		for (i = 0; i < n; i++) {
			struct p9_fcall g = { .type = P9_TGETATTR, .tag = 100 + i,
					      .u.tgetattr = { 0, P9_GETATTR_BASIC } };

			offer(i, p9_encode(&g, slot(i), REPLY_OFF), 512);
		}
		notify();
		driver_init();
		usleep(round % 2 ? 0 : 20);
		if (used_idx())
			fail_msg("round %u: %u chains from before the reset used after it", round,
				 used_idx());
	}
	usleep(100 * 1000);
	assert_int_equal(used_idx(), 0);
	session();
	assert_int_equal(used_idx(), 2);
	usleep(100 * 1000);
	assert_int_equal(used_idx(), 2);
}

static int group_setup(void **state)
{
	struct share_options opts = { .tag = "tag-1", .path = share };
	char path[64];
	int fd;

	assert_non_null(mkdtemp(share));
	snprintf(path, sizeof(path), "%s/file", share);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
	close(fd);
	vm.mmio.name = "mmio";
	vm.loop = loop_create();
	guest_mem_init(&vm.mem, LAYOUT_MIN_MEMORY, false);
	virtio_9p_init(&vm, &opts, 1);
	dev = (struct virtio_dev *)virtio_mmio_device(0);
	assert_non_null(dev);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", share);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_config_space, setup),
		cmocka_unit_test_setup(test_climbing_names, setup),
		cmocka_unit_test_setup(test_bad_fids, setup),
		cmocka_unit_test_setup(test_huge_count, setup),
		cmocka_unit_test_setup(test_bad_sizes, setup),
		cmocka_unit_test_setup(test_no_room_for_reply, setup),
		cmocka_unit_test_setup(test_full_queue, setup),
		cmocka_unit_test_setup(test_flush_after_flushed, setup),
		cmocka_unit_test_setup(test_reset_in_flight, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
