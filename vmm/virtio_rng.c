// SPDX-License-Identifier: MIT
/* virtio-rng: fills the guest's buffers from the host's getrandom(). */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <sys/random.h>

#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

static size_t rng_fill(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		ssize_t got = getrandom(iov[i].iov_base, iov[i].iov_len, GRND_NONBLOCK);

		if (got < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pr_warn_errno("virtio-rng: reading the host's random numbers");
			break;
		}
		total += got;
		if ((size_t)got < iov[i].iov_len)
			break;
	}
	return total;
}

static void rng_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct virtq_chain chain;
	bool used = false;

	while (virtio_pop(dev, q, &chain)) {
		size_t n = rng_fill(virtq_chain_in(&chain), chain.nin);

		virtq_push(&dev->queues[q], chain.head, n);
		used = true;
	}
	if (used)
		virtio_notify_used(dev, q);
}

static const struct virtio_device_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_notify = rng_queue_notify,
};

void virtio_rng_init(struct vm *vm)
{
	virtio_mmio_register(vm, &rng_ops, NULL, NULL);
}
