/* SPDX-License-Identifier: MIT */
/*
 * Virtio devices over the virtio-mmio transport (version 2).
 *
 * A device is one ops table and one call:
 *
 *	dev = virtio_mmio_register(vm, &rng_ops, rng, NULL);
 *
 * The transport gives it a 4 KiB slot in the MMIO hole and an interrupt,
 * announces it on the kernel command line
 * ("virtio_mmio.device=4K@0xd0000000:5") or, with --acpi-devices, in the
 * DSDT (for kernels without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, such as
 * distributions' own), runs feature negotiation and queue
 * set-up, and calls the device back on the event loop's thread, with the
 * device's lock held, whenever the driver notifies one of its queues.
 */
#ifndef WSLVM_VIRTIO_H
#define WSLVM_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

struct vm;
struct virtio_dev;
struct loop_handler;
struct virtio_notify_ctx;

struct virtio_device_ops {
	const char *name;
	uint32_t device_id;		/* VIRTIO_ID_* */
	uint64_t features;		/* device features; VERSION_1 is added */
	unsigned int num_queues;
	size_t config_size;		/* bytes of the config space */

	/* The driver notified queue q (event loop thread, lock held). */
	void (*queue_notify)(struct virtio_dev *dev, unsigned int q);
	/* DRIVER_OK was set: the queues are live (vCPU thread, lock held). */
	void (*activate)(struct virtio_dev *dev);
	/* The driver reset the device (vCPU thread, lock held). */
	void (*reset)(struct virtio_dev *dev);
	/* The driver wrote the config space (optional; vCPU thread, lock held). */
	void (*write_config)(struct virtio_dev *dev, uint32_t offset, const void *data,
			     uint32_t len);
};

struct virtio_dev {
	struct vm *vm;
	const struct virtio_device_ops *ops;
	void *priv;
	void *config;			/* config_size bytes, the device's own */
	pthread_mutex_t lock;

	uint64_t base;
	unsigned int irq;
	int irqfd;
	int *notify_fds;		/* one ioeventfd per queue */
	struct loop_handler **notify_handlers;
	struct virtio_notify_ctx *notify_ctx;	/* what each handler is called with */

	uint32_t status;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	atomic_uint interrupt_status;
	uint32_t config_generation;
	struct virtq *queues;
};

struct virtio_dev *virtio_mmio_register(struct vm *vm, const struct virtio_device_ops *ops,
					void *priv, void *config);

/* The registered devices, in order (for the ACPI tables). */
unsigned int virtio_mmio_count(void);
const struct virtio_dev *virtio_mmio_device(unsigned int i);

/* Wires every registered device's ioeventfds and irqfd into KVM. */
void virtio_mmio_attach_all(struct vm *vm);

/* Tells the driver that queue q has used buffers (lock held). */
void virtio_notify_used(struct virtio_dev *dev, unsigned int q);

/* Pops the next chain of queue q; false when empty or broken (lock held). */
bool virtio_pop(struct virtio_dev *dev, unsigned int q, struct virtq_chain *chain);

/* Puts the chain virtio_pop() just gave back, unused. */
void virtio_unpop(struct virtio_dev *dev, unsigned int q);

/*
 * The device changed its config space: tells a live driver, with a config
 * change interrupt (lock held).
 */
void virtio_notify_config(struct virtio_dev *dev);

/* True once the driver has set DRIVER_OK and not reset since. */
bool virtio_is_live(const struct virtio_dev *dev);

/* Makes the event loop call queue_notify for q, as if the driver had. */
void virtio_kick(struct virtio_dev *dev, unsigned int q);

#endif
