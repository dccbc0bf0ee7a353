// SPDX-License-Identifier: MIT
/*
 * virtio-net against a driver that misbehaves, with slirp's ARP replies
 * as the oracle for what reached the NAT: frames past the MTU or shorter
 * than an Ethernet header never get to slirp, a receive buffer too small
 * for a frame comes back empty, and frames for a guest that posts no
 * receive buffers wait in a queue of bounded length, the rest dropped.
 * No KVM: the queues are set up by hand in guest memory.
 */
#include <linux/if_ether.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../layout.h"
#include "../loop.h"
#include "../virtio.h"
#include "../virtio_devices.h"
#include "../vmm.h"

#define QSIZE		VIRTQ_MAX_SIZE
#define RX		0
#define TX		1
#define HDR_LEN		sizeof(struct virtio_net_hdr_v1)
#define RX_BUF_GPA	0x100000ULL	/* receive buffers, 2 KiB apart */
#define RX_BUF_SIZE	0x800
#define TX_BUF_GPA	0x300000ULL
#define QUEUED_MAX	256		/* virtio_net.c's bound */

static const uint64_t ring_gpa[2] = { 0x10000, 0x20000 };	/* desc, then avail, used */
static const uint8_t guest_mac[6] = { 0x02, 0x57, 0x53, 0x4c, 0x56, 0x4d };

static struct vm vm;
static struct virtio_dev *dev;
static uint16_t rx_next_desc, tx_next_desc;

static struct vring_desc *ring_desc(unsigned int q)
{
	return (struct vring_desc *)(vm.mem.host + ring_gpa[q]);
}

static struct vring_avail *ring_avail(unsigned int q)
{
	return (struct vring_avail *)(vm.mem.host + ring_gpa[q] + 0x1000);
}

static struct vring_used *ring_used(unsigned int q)
{
	return (struct vring_used *)(vm.mem.host + ring_gpa[q] + 0x2000);
}

static int group_setup(void **state)
{
	struct net_options o = { 0 };

	memcpy(o.mac, guest_mac, sizeof(o.mac));
	vm.loop = loop_create();
	guest_mem_init(&vm.mem, LAYOUT_MIN_MEMORY, false);
	virtio_net_init(&vm, &o);
	dev = (struct virtio_dev *)virtio_mmio_device(0);
	return dev ? 0 : -1;
}

/* A driver that has just set DRIVER_OK, its queues empty, interrupts off. */
static int setup(void **state)
{
	unsigned int q;

	pthread_mutex_lock(&dev->lock);
	dev->ops->reset(dev);
	for (q = 0; q < 2; q++) {
		struct virtq *vq = &dev->queues[q];

		memset(vm.mem.host + ring_gpa[q], 0, 0x3000);
		memset(vq, 0, sizeof(*vq));
		vq->num = QSIZE;
		vq->desc_gpa = ring_gpa[q];
		vq->avail_gpa = ring_gpa[q] + 0x1000;
		vq->used_gpa = ring_gpa[q] + 0x2000;
		assert_null(virtq_enable(vq, &vm.mem));
		/* No irqfd here: the device must not try to interrupt. */
		ring_avail(q)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	}
	dev->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	pthread_mutex_unlock(&dev->lock);
	rx_next_desc = tx_next_desc = 0;
	return 0;
}

static void notify(unsigned int q)
{
	pthread_mutex_lock(&dev->lock);
	dev->ops->queue_notify(dev, q);
	pthread_mutex_unlock(&dev->lock);
}

static void offer(unsigned int q, uint16_t head)
{
	struct vring_avail *avail = ring_avail(q);

	avail->ring[avail->idx % QSIZE] = head;
	__atomic_store_n(&avail->idx, avail->idx + 1, __ATOMIC_RELEASE);
}

/* Posts n receive buffers of len bytes each. */
static void post_rx(unsigned int n, uint32_t len)
{
	while (n--) {
		uint16_t d = rx_next_desc++ % QSIZE;

		ring_desc(RX)[d] = (struct vring_desc){
			.addr = RX_BUF_GPA + d * RX_BUF_SIZE, .len = len, .flags = VRING_DESC_F_WRITE,
		};
		offer(RX, d);
	}
	notify(RX);
}

/* Queues one transmit chain of a zero header then frame[0..len), without notifying. */
static void queue_tx(const uint8_t *frame, size_t len)
{
	uint16_t d = tx_next_desc++ % QSIZE;
	uint64_t gpa = TX_BUF_GPA + d * 0x1000ULL;

	memset(vm.mem.host + gpa, 0, HDR_LEN);
	memcpy(vm.mem.host + gpa + HDR_LEN, frame, len);
	ring_desc(TX)[d] = (struct vring_desc){ .addr = gpa, .len = HDR_LEN + len };
	offer(TX, d);
}

static void send_frame(const uint8_t *frame, size_t len)
{
	queue_tx(frame, len);
	notify(TX);
}

/* Who has 10.0.2.2 (slirp's gateway)?  Padded with zeroes to len bytes. */
static size_t arp_request(uint8_t *f, size_t len)
{
	static const uint8_t arp[28] = {
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,		/* Ethernet/IPv4, request */
		0x02, 0x57, 0x53, 0x4c, 0x56, 0x4d, 10, 0, 2, 15,	/* from the guest */
		0, 0, 0, 0, 0, 0, 10, 0, 2, 2,				/* for the gateway */
	};

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + ETH_HLEN, arp, sizeof(arp));
	return len;
}

static uint16_t rx_used_count(void)
{
	return __atomic_load_n(&ring_used(RX)->idx, __ATOMIC_ACQUIRE);
}

/* The i-th used receive buffer holds an ARP reply from 10.0.2.2, after a header saying one buffer. */
static void assert_arp_reply(unsigned int i)
{
	struct vring_used_elem *e = &ring_used(RX)->ring[i % QSIZE];
	const uint8_t *b = vm.mem.host + RX_BUF_GPA + e->id * RX_BUF_SIZE;
	const struct virtio_net_hdr_v1 *h = (const void *)b;
	static const uint8_t gateway[4] = { 10, 0, 2, 2 };

	assert_true(e->len >= HDR_LEN + ETH_HLEN + 28);
	assert_int_equal(h->num_buffers, 1);
	b += HDR_LEN;
	assert_memory_equal(b, guest_mac, 6);			/* to the guest */
	assert_int_equal(b[12] << 8 | b[13], ETH_P_ARP);
	assert_int_equal(b[ETH_HLEN + 6] << 8 | b[ETH_HLEN + 7], 2);	/* a reply */
	assert_memory_equal(b + ETH_HLEN + 14, gateway, 4);	/* from 10.0.2.2 */
}

static void test_arp_reply_reaches_the_guest(void **state)
{
	uint8_t f[64];

	post_rx(4, RX_BUF_SIZE);
	send_frame(f, arp_request(f, 42));
	assert_int_equal(ring_used(TX)->idx, 1);
	assert_int_equal(ring_used(TX)->ring[0].len, 0);
	assert_int_equal(rx_used_count(), 1);
	assert_arp_reply(0);
}

static void test_frame_of_exactly_the_mtu_goes_through(void **state)
{
	static uint8_t f[ETH_HLEN + 1500];

	post_rx(2, RX_BUF_SIZE);
	send_frame(f, arp_request(f, sizeof(f)));
	assert_int_equal(rx_used_count(), 1);
	assert_arp_reply(0);
}

static void test_frame_past_the_mtu_never_reaches_slirp(void **state)
{
	static uint8_t f[3000];

	post_rx(4, RX_BUF_SIZE);
	send_frame(f, arp_request(f, ETH_HLEN + 1501));
	send_frame(f, arp_request(f, sizeof(f)));
	/* The buffers go back to the driver all the same. */
	assert_int_equal(ring_used(TX)->idx, 2);
	assert_int_equal(rx_used_count(), 0);
}

static void test_runts_are_dropped(void **state)
{
	uint8_t f[64];
	uint16_t d = tx_next_desc++ % QSIZE;

	post_rx(4, RX_BUF_SIZE);
	send_frame(f, arp_request(f, ETH_HLEN - 1));
	send_frame(f, arp_request(f, 0));
	/* A chain shorter than the virtio-net header itself. */
	ring_desc(TX)[d] = (struct vring_desc){ .addr = TX_BUF_GPA + d * 0x1000ULL, .len = 5 };
	offer(TX, d);
	notify(TX);
	assert_int_equal(ring_used(TX)->idx, 3);
	assert_int_equal(rx_used_count(), 0);
}

static void test_receive_buffer_too_small_comes_back_empty(void **state)
{
	uint8_t f[64];

	post_rx(1, HDR_LEN + 20);
	send_frame(f, arp_request(f, 42));
	assert_int_equal(rx_used_count(), 1);
	assert_int_equal(ring_used(RX)->ring[0].len, 0);
	/* The next frame, with a buffer that fits, arrives whole. */
	post_rx(1, RX_BUF_SIZE);
	send_frame(f, arp_request(f, 42));
	assert_int_equal(rx_used_count(), 2);
	assert_arp_reply(1);
}

static void test_frames_wait_for_buffers_boundedly(void **state)
{
	uint8_t f[64];
	unsigned int i;

	arp_request(f, 42);
	/* More replies than the queue keeps, and no receive buffer yet. */
	for (i = 0; i < QUEUED_MAX + 44; i++) {
		queue_tx(f, 42);
		if (i % 64 == 63)
			notify(TX);
	}
	notify(TX);
	assert_int_equal(rx_used_count(), 0);
	post_rx(QSIZE, RX_BUF_SIZE);
	assert_int_equal(rx_used_count(), QUEUED_MAX);
	assert_arp_reply(0);
	assert_arp_reply(QUEUED_MAX - 1);
	/* The rest were dropped, not kept. */
	post_rx(QSIZE, RX_BUF_SIZE);
	assert_int_equal(rx_used_count(), QUEUED_MAX);
}

static void test_reset_drops_what_waits(void **state)
{
	uint8_t f[64];

	send_frame(f, arp_request(f, 42));
	setup(state);		/* the driver resets and starts again */
	post_rx(4, RX_BUF_SIZE);
	assert_int_equal(rx_used_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_arp_reply_reaches_the_guest, setup),
		cmocka_unit_test_setup(test_frame_of_exactly_the_mtu_goes_through, setup),
		cmocka_unit_test_setup(test_frame_past_the_mtu_never_reaches_slirp, setup),
		cmocka_unit_test_setup(test_runts_are_dropped, setup),
		cmocka_unit_test_setup(test_receive_buffer_too_small_comes_back_empty, setup),
		cmocka_unit_test_setup(test_frames_wait_for_buffers_boundedly, setup),
		cmocka_unit_test_setup(test_reset_drops_what_waits, setup),
	};

	return cmocka_run_group_tests_name("virtio_net", tests, group_setup, NULL);
}
