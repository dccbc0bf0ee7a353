// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio transport, version 2 (virtio 1.x, section 4.2).  Register
 * accesses arrive on vCPU threads; queue notifications arrive through
 * ioeventfds on the event loop's thread, and interrupts leave through an
 * irqfd, so neither costs an exit to this process on the fast path.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "layout.h"
#include "loop.h"
#include "virtio.h"
#include "vmm.h"

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION_2	2
#define VIRTIO_VENDOR_ID	0x4c53574f	/* "OWSL" */
#define VIRTIO_INT_USED		1
#define VIRTIO_INT_CONFIG	2

/*
 * ISA interrupt lines free on our machine: 4 is COM1, 8 the (absent) RTC,
 * 9 the ACPI SCI.  Linux maps ISA lines without needing anything from ACPI.
 */
static const unsigned int virtio_irqs[] = { 5, 6, 7, 10, 11, 12, 13, 14, 15, 3 };
#define VIRTIO_MAX_DEVICES (sizeof(virtio_irqs) / sizeof(virtio_irqs[0]))

static struct virtio_dev *devices[VIRTIO_MAX_DEVICES];
static unsigned int ndevices;

static void virtio_raise_config_interrupt(struct virtio_dev *dev)
{
	uint64_t one = 1;

	atomic_fetch_or(&dev->interrupt_status, VIRTIO_INT_CONFIG);
	if (dev->irqfd >= 0 && write(dev->irqfd, &one, sizeof(one)) < 0)
		pr_warn_errno("%s: raising its interrupt", dev->ops->name);
}

static void virtio_set_needs_reset(struct virtio_dev *dev, unsigned int q, const char *why)
{
	pr_warn("%s: queue %u: %s; the device stops until the driver resets it",
		dev->ops->name, q, why);
	dev->queues[q].ready = false;
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	virtio_raise_config_interrupt(dev);
}

void virtio_notify_config(struct virtio_dev *dev)
{
	/* A driver reading the config space twice sees whether it changed between. */
	dev->config_generation++;
	if (virtio_is_live(dev))
		virtio_raise_config_interrupt(dev);
}

bool virtio_is_live(const struct virtio_dev *dev)
{
	return (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

bool virtio_pop(struct virtio_dev *dev, unsigned int q, struct virtq_chain *chain)
{
	struct virtq *vq = &dev->queues[q];
	const char *why = NULL;

	if (!vq->ready || !virtio_is_live(dev))
		return false;
	switch (virtq_pop(vq, &dev->vm->mem, chain, &why)) {
	case VIRTQ_CHAIN:
		return true;
	case VIRTQ_BROKEN:
		virtio_set_needs_reset(dev, q, why);
		return false;
	case VIRTQ_EMPTY:
	default:
		return false;
	}
}

void virtio_unpop(struct virtio_dev *dev, unsigned int q)
{
	virtq_unpop(&dev->queues[q]);
}

void virtio_notify_used(struct virtio_dev *dev, unsigned int q)
{
	uint64_t one = 1;

	if (!virtq_wants_interrupt(&dev->queues[q]))
		return;
	atomic_fetch_or(&dev->interrupt_status, VIRTIO_INT_USED);
	if (write(dev->irqfd, &one, sizeof(one)) < 0)
		pr_warn_errno("%s: raising its interrupt", dev->ops->name);
}

void virtio_kick(struct virtio_dev *dev, unsigned int q)
{
	uint64_t one = 1;

	if (write(dev->notify_fds[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_errno("%s: queueing a notification of queue %u", dev->ops->name, q);
}

static void virtio_reset(struct virtio_dev *dev)
{
	unsigned int q;

	for (q = 0; q < dev->ops->num_queues; q++)
		virtq_reset(&dev->queues[q]);
	dev->status = 0;
	dev->driver_features = 0;
	dev->device_features_sel = dev->driver_features_sel = dev->queue_sel = 0;
	atomic_store(&dev->interrupt_status, 0);
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

static uint64_t virtio_device_features(const struct virtio_dev *dev)
{
	return dev->ops->features | (1ULL << VIRTIO_F_VERSION_1);
}

static struct virtq *virtio_selected_queue(struct virtio_dev *dev)
{
	if (dev->queue_sel >= dev->ops->num_queues)
		return NULL;
	return &dev->queues[dev->queue_sel];
}

static uint32_t virtio_mmio_read_reg(struct virtio_dev *dev, uint64_t offset)
{
	struct virtq *vq = virtio_selected_queue(dev);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->device_features_sel > 1)
			return 0;
		return virtio_device_features(dev) >> (32 * dev->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&dev->interrupt_status);
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return 0;
	}
}

static void virtio_mmio_set_queue_ready(struct virtio_dev *dev, struct virtq *vq, uint32_t v)
{
	const char *err;

	if (!v) {
		vq->ready = false;
		return;
	}
	err = virtq_enable(vq, &dev->vm->mem);
	if (err)
		virtio_set_needs_reset(dev, dev->queue_sel, err);
}

static void virtio_mmio_set_status(struct virtio_dev *dev, uint32_t v)
{
	if (!v) {
		virtio_reset(dev);
		return;
	}
	/* FEATURES_OK only sticks when we can honour every feature asked for. */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    (dev->driver_features & ~virtio_device_features(dev)))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(dev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		dev->status = v;
		if (dev->ops->activate)
			dev->ops->activate(dev);
		return;
	}
	dev->status = v;
}

static void set_half(uint64_t *v, unsigned int high, uint32_t half)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)half << 32);
	else
		*v = (*v & ~0xffffffffULL) | half;
}

static void virtio_mmio_write_reg(struct virtio_dev *dev, uint64_t offset, uint32_t v)
{
	struct virtq *vq = virtio_selected_queue(dev);

	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (dev->driver_features_sel <= 1)
			set_half(&dev->driver_features, dev->driver_features_sel, v);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Only reached when the ioeventfd did not match: defer the same way. */
		if (v < dev->ops->num_queues)
			virtio_kick(dev, v);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&dev->interrupt_status, ~v);
		return;
	case VIRTIO_MMIO_STATUS:
		virtio_mmio_set_status(dev, v);
		return;
	}
	/* The rest configure the selected queue, and only while it is off. */
	if (!vq || vq->ready) {
		if (vq && offset == VIRTIO_MMIO_QUEUE_READY)
			vq->ready = v != 0;
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->num = v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_mmio_set_queue_ready(dev, vq, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&vq->desc_gpa, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&vq->avail_gpa, offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_half(&vq->used_gpa, offset == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	}
}

static void virtio_mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (off < dev->ops->config_size && len <= dev->ops->config_size - off)
			memcpy(data, (uint8_t *)dev->config + off, len);
	} else if (len == 4 && !(offset & 3)) {
		v = virtio_mmio_read_reg(dev, offset);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&dev->lock);
}

static void virtio_mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (dev->ops->write_config && off < dev->ops->config_size &&
		    len <= dev->ops->config_size - off)
			dev->ops->write_config(dev, off, data, len);
	} else if (len == 4 && !(offset & 3)) {
		memcpy(&v, data, 4);
		virtio_mmio_write_reg(dev, offset, v);
	}
	pthread_mutex_unlock(&dev->lock);
}

static const struct bus_device_ops virtio_mmio_ops = {
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
};

struct virtio_notify_ctx {
	struct virtio_dev *dev;
	unsigned int q;
};

static void virtio_mmio_notified(void *opaque, uint32_t events)
{
	struct virtio_notify_ctx *ctx = opaque;
	struct virtio_dev *dev = ctx->dev;
	uint64_t count;

	if (read(dev->notify_fds[ctx->q], &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&dev->lock);
	if (dev->queues[ctx->q].ready && virtio_is_live(dev))
		dev->ops->queue_notify(dev, ctx->q);
	pthread_mutex_unlock(&dev->lock);
}

struct virtio_dev *virtio_mmio_register(struct vm *vm, const struct virtio_device_ops *ops,
					void *priv, void *config)
{
	struct virtio_dev *dev;
	unsigned int q;

	if (ndevices == VIRTIO_MAX_DEVICES)
		die("adding a %s device: all %zu virtio-mmio slots are taken", ops->name,
		    VIRTIO_MAX_DEVICES);
	dev = xcalloc(1, sizeof(*dev));
	dev->vm = vm;
	dev->ops = ops;
	dev->priv = priv;
	dev->config = config;
	pthread_mutex_init(&dev->lock, NULL);
	dev->base = LAYOUT_VIRTIO_MMIO + ndevices * LAYOUT_VIRTIO_MMIO_SLOT;
	dev->irq = virtio_irqs[ndevices];
	dev->irqfd = -1;
	dev->queues = xcalloc(ops->num_queues, sizeof(*dev->queues));
	dev->notify_fds = xcalloc(ops->num_queues, sizeof(*dev->notify_fds));
	dev->notify_handlers = xcalloc(ops->num_queues, sizeof(*dev->notify_handlers));
	dev->notify_ctx = xcalloc(ops->num_queues, sizeof(*dev->notify_ctx));
	for (q = 0; q < ops->num_queues; q++) {
		struct virtio_notify_ctx *ctx = &dev->notify_ctx[q];

		dev->notify_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->notify_fds[q] < 0)
			die_errno("%s: creating the notification eventfd of queue %u",
				  ops->name, q);
		ctx->dev = dev;
		ctx->q = q;
		dev->notify_handlers[q] = loop_add(vm->loop, dev->notify_fds[q], EPOLLIN,
						   virtio_mmio_notified, ctx);
	}
	bus_register(&vm->mmio, dev->base, LAYOUT_VIRTIO_MMIO_SLOT, &virtio_mmio_ops, dev);
	if (!vm->virtio_in_acpi)
		vm_cmdline_append(vm, "virtio_mmio.device=4K@0x%llx:%u",
				  (unsigned long long)dev->base, dev->irq);
	devices[ndevices++] = dev;
	return dev;
}

unsigned int virtio_mmio_count(void)
{
	return ndevices;
}

const struct virtio_dev *virtio_mmio_device(unsigned int i)
{
	return i < ndevices ? devices[i] : NULL;
}

static void virtio_mmio_attach(struct virtio_dev *dev)
{
	struct vm *vm = dev->vm;
	struct kvm_irqfd irqfd = { .gsi = dev->irq };
	unsigned int q;

	for (q = 0; q < dev->ops->num_queues; q++) {
		struct kvm_ioeventfd ioev = {
			.datamatch = q,
			.addr = dev->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = dev->notify_fds[q],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			die_errno("%s: wiring queue %u's notifications to an ioeventfd",
				  dev->ops->name, q);
	}
	dev->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->irqfd < 0)
		die_errno("%s: creating its interrupt eventfd", dev->ops->name);
	irqfd.fd = dev->irqfd;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		die_errno("%s: wiring interrupt %u to an irqfd", dev->ops->name, dev->irq);
}

void virtio_mmio_attach_all(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < ndevices; i++)
		virtio_mmio_attach(devices[i]);
}
