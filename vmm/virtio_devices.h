/* SPDX-License-Identifier: MIT */
/* The virtio devices wslvm offers, each set up by one call from main(). */
#ifndef WSLVM_VIRTIO_DEVICES_H
#define WSLVM_VIRTIO_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "net_slirp.h"

struct vm;

void virtio_rng_init(struct vm *vm);

/* A block device on a disk image; serial is what the guest reads as its ID. */
struct blk_options {
	const char *path;
	bool read_only;
	const char *serial;
};
void virtio_blk_init(struct vm *vm, const struct blk_options *opts);

/*
 * virtio-9p: the host directory path, mounted in the guest by tag (at most
 * VIRTIO_9P_MAX_TAG bytes); read_only refuses every change with EROFS.
 * total_shares is how many there will be, to split descriptors among them.
 */
#define VIRTIO_9P_MAX_SHARES	8
#define VIRTIO_9P_MAX_TAG	64
struct share_options {
	const char *tag;
	const char *path;
	bool read_only;
};
void virtio_9p_init(struct vm *vm, const struct share_options *opts, unsigned int total_shares);

/* virtio-console: the guest's /dev/hvc0, written to out_path. */
void virtio_console_init(struct vm *vm, const char *out_path);

/* virtio-vsock with Firecracker's hybrid Unix socket protocol at uds_path. */
void virtio_vsock_init(struct vm *vm, uint64_t guest_cid, const char *uds_path);

/*
 * virtio-balloon with free page reporting: memory the guest frees or
 * gives up goes back to the host; "balloon" on the control socket.
 */
void virtio_balloon_init(struct vm *vm);
/* virtio-net on libslirp's NAT, with forwards from host ports set up at start. */
#define NET_START_FORWARDS_MAX	16
struct net_options {
	uint8_t mac[6];
	unsigned int nforwards;
	struct net_forward_spec forwards[NET_START_FORWARDS_MAX];
};
void virtio_net_init(struct vm *vm, const struct net_options *opts);

#endif
