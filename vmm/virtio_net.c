// SPDX-License-Identifier: MIT
/*
 * virtio-net on libslirp's user-mode NAT (net_slirp.c).
 *
 * One receive and one transmit queue, no offloads: the guest checksums
 * and segments everything itself, so every frame is at most the MTU we
 * give it plus the Ethernet header, and every buffer starts with a
 * 12-byte virtio_net_hdr_v1 that carries nothing.  We offer the MAC, the
 * link status (always up) and the MTU (slirp's 1500).  Without mergeable
 * receive buffers each frame takes one receive buffer.
 *
 * Frames from slirp wait in a bounded queue until the guest posts receive
 * buffers; past the bound they are dropped, which TCP recovers from.  What
 * the guest sends that is not an Ethernet frame of a sane size is dropped
 * and counted; none of it reaches slirp.
 */
#include <endian.h>
#include <linux/if_ether.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "net_slirp.h"
#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

#define NET_RX_QUEUE		0
#define NET_TX_QUEUE		1
#define NET_MTU			1500
#define NET_MAX_FRAME		(ETH_HLEN + NET_MTU)
#define NET_HDR_LEN		sizeof(struct virtio_net_hdr_v1)
#define NET_RX_QUEUED_MAX	256	/* frames waiting for the guest's buffers */

struct net_frame {
	struct net_frame *next;
	size_t len;
	uint8_t data[];
};

struct net_counters {
	uint64_t rx_packets, rx_bytes, rx_dropped;	/* to the guest */
	uint64_t tx_packets, tx_bytes, tx_dropped;	/* from the guest */
};

struct vnet {
	struct vm *vm;
	struct virtio_dev *dev;
	struct net_slirp *slirp;
	struct virtio_net_config config;
	struct net_frame *rx_head, *rx_tail;
	unsigned int rx_queued;
	struct net_counters count;
	uint8_t tx_frame[NET_MAX_FRAME];
};

static void vnet_drop_queued(struct vnet *n)
{
	while (n->rx_head) {
		struct net_frame *f = n->rx_head;

		n->rx_head = f->next;
		free(f);
		n->count.rx_dropped++;
	}
	n->rx_tail = NULL;
	n->rx_queued = 0;
}

/* Moves waiting frames into the guest's receive buffers, one frame each. */
static void vnet_flush_rx(struct vnet *n)
{
	struct virtio_dev *dev = n->dev;
	struct virtq_chain chain;
	bool used = false;

	while (n->rx_head && virtio_pop(dev, NET_RX_QUEUE, &chain)) {
		struct net_frame *f = n->rx_head;
		struct virtio_net_hdr_v1 hdr = { .num_buffers = htole16(1) };
		struct iovec *in = virtq_chain_in(&chain);
		uint32_t len = 0;

		n->rx_head = f->next;
		if (!n->rx_head)
			n->rx_tail = NULL;
		n->rx_queued--;
		if (chain.in_len < NET_HDR_LEN + f->len) {
			/* A buffer too small: it goes back empty, the frame is lost. */
			n->count.rx_dropped++;
		} else {
			iov_from_buf(in, chain.nin, 0, &hdr, NET_HDR_LEN);
			iov_from_buf(in, chain.nin, NET_HDR_LEN, f->data, f->len);
			len = NET_HDR_LEN + f->len;
			n->count.rx_packets++;
			n->count.rx_bytes += f->len;
		}
		free(f);
		virtq_push(&dev->queues[NET_RX_QUEUE], chain.head, len);
		used = true;
	}
	if (used)
		virtio_notify_used(dev, NET_RX_QUEUE);
}

/* slirp has a frame for the guest (event loop thread, lock held). */
static void vnet_deliver(void *opaque, const uint8_t *data, size_t len)
{
	struct vnet *n = opaque;
	struct net_frame *f;

	if (len > NET_MAX_FRAME || n->rx_queued == NET_RX_QUEUED_MAX) {
		n->count.rx_dropped++;
		return;
	}
	f = xcalloc(1, sizeof(*f) + len);
	f->len = len;
	memcpy(f->data, data, len);
	if (n->rx_tail)
		n->rx_tail->next = f;
	else
		n->rx_head = f;
	n->rx_tail = f;
	n->rx_queued++;
	vnet_flush_rx(n);
}

static void vnet_transmit(struct vnet *n)
{
	struct virtio_dev *dev = n->dev;
	struct virtq_chain chain;
	bool used = false;

	while (virtio_pop(dev, NET_TX_QUEUE, &chain)) {
		size_t len = chain.out_len > NET_HDR_LEN ? chain.out_len - NET_HDR_LEN : 0;
		bool sane = len >= ETH_HLEN && len <= NET_MAX_FRAME;

		if (sane)
			iov_to_buf(chain.iov, chain.nout, NET_HDR_LEN, n->tx_frame, len);
		virtq_push(&dev->queues[NET_TX_QUEUE], chain.head, 0);
		used = true;
		if (!sane) {
			n->count.tx_dropped++;
			continue;
		}
		n->count.tx_packets++;
		n->count.tx_bytes += len;
		net_slirp_input(n->slirp, n->tx_frame, len);
	}
	if (used) {
		virtio_notify_used(dev, NET_TX_QUEUE);
		net_slirp_kick(n->slirp);
	}
}

static void vnet_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct vnet *n = dev->priv;

	if (q == NET_TX_QUEUE)
		vnet_transmit(n);
	/* New receive buffers, or replies to what was just sent. */
	vnet_flush_rx(n);
}

/* Frames queued for a driver that is gone would be stale for the next. */
static void vnet_reset(struct virtio_dev *dev)
{
	vnet_drop_queued(dev->priv);
}

static void vnet_stats(void *opaque, struct control_reply *r)
{
	struct vnet *n = opaque;
	struct net_counters c;

	pthread_mutex_lock(&n->dev->lock);
	c = n->count;
	pthread_mutex_unlock(&n->dev->lock);
	control_printf(r, "net_rx_packets %llu", (unsigned long long)c.rx_packets);
	control_printf(r, "net_rx_bytes %llu", (unsigned long long)c.rx_bytes);
	control_printf(r, "net_rx_dropped %llu", (unsigned long long)c.rx_dropped);
	control_printf(r, "net_tx_packets %llu", (unsigned long long)c.tx_packets);
	control_printf(r, "net_tx_bytes %llu", (unsigned long long)c.tx_bytes);
	control_printf(r, "net_tx_dropped %llu", (unsigned long long)c.tx_dropped);
}

static const struct virtio_device_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
		    (1ULL << VIRTIO_NET_F_MTU),
	.num_queues = 2,
	.config_size = offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t),
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
};

void virtio_net_init(struct vm *vm, const struct net_options *opts)
{
	struct vnet *n = xcalloc(1, sizeof(*n));
	char why[160];
	unsigned int i;

	n->vm = vm;
	memcpy(n->config.mac, opts->mac, ETH_ALEN);
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->config.max_virtqueue_pairs = htole16(1);
	n->config.mtu = htole16(NET_MTU);
	n->dev = virtio_mmio_register(vm, &vnet_ops, n, &n->config);
	n->slirp = net_slirp_create(vm, &n->dev->lock, vnet_deliver, n);
	for (i = 0; i < opts->nforwards; i++)
		if (!net_slirp_forward_add(n->slirp, &opts->forwards[i], why, sizeof(why)))
			die("--net forward=%s:%u:%u: %s", opts->forwards[i].udp ? "udp" : "tcp",
			    opts->forwards[i].host_port, opts->forwards[i].guest_port, why);
	control_stats(vnet_stats, n);
}
