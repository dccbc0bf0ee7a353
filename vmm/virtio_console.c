// SPDX-License-Identifier: MIT
/*
 * virtio-console, a single port without multiport: the guest's /dev/hvc0.
 * What the guest writes goes to a file; nothing is sent to the guest, so
 * its receive buffers simply wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ids.h>
#include <unistd.h>

#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

#define CONSOLE_RX_QUEUE 0
#define CONSOLE_TX_QUEUE 1

struct console {
	const char *path;
	int out_fd;
};

static void console_write_out(struct console *con, const struct iovec *iov, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			ssize_t w = write(con->out_fd, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				pr_warn_errno("virtio-console: writing to %s", con->path);
				return;
			}
			p += w;
			left -= w;
		}
	}
}

static void console_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct console *con = dev->priv;
	struct virtq_chain chain;
	bool used = false;

	if (q != CONSOLE_TX_QUEUE)
		return;
	while (virtio_pop(dev, q, &chain)) {
		console_write_out(con, chain.iov, chain.nout);
		virtq_push(&dev->queues[q], chain.head, 0);
		used = true;
	}
	if (used)
		virtio_notify_used(dev, q);
}

static const struct virtio_device_ops console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 2,
	.queue_notify = console_queue_notify,
};

void virtio_console_init(struct vm *vm, const char *out_path)
{
	struct console *con = xcalloc(1, sizeof(*con));

	con->path = out_path;
	con->out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (con->out_fd < 0)
		die_errno("--hvc: opening %s for the virtio console's output", out_path);
	virtio_mmio_register(vm, &console_ops, con, NULL);
}
