// SPDX-License-Identifier: MIT
/*
 * virtio-blk on a disk image through lib/'s disk layer (lib/include/disk.h:
 * VHDX or raw, told apart by content): read, write, flush, discard (VHDX
 * gives whole blocks back, raw punches holes, so the host file shrinks),
 * write-zeroes, read-only, and the serial ID string the guest init finds
 * each disk by.  Requests are served one by one on the event loop's thread,
 * the only thread that touches the disk.
 */
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <string.h>

#include <disk.h>

#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

#define SECTOR_SIZE		512
#define BLK_MAX_DISCARD_SEGS	32
/* Largest single discard or write-zeroes request we accept, in sectors. */
#define BLK_MAX_RANGE_SECTORS	(1u << 30)

struct blk {
	struct disk *disk;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;
};

/*
 * Reads into, or writes from, the bytes [offset, offset + len) of the
 * segments iov, at disk byte pos, in one disk call: a guest's 1 MiB request
 * arrives as some 256 page-sized segments, which a raw disk then moves with
 * one system call straight to or from guest memory.
 */
static int blk_transfer(struct blk *b, const struct iovec *iov, unsigned int n,
			size_t offset, size_t len, uint64_t pos, bool write)
{
	struct iovec data[VIRTQ_MAX_SIZE];
	unsigned int i;
	int nd = 0;

	for (i = 0; i < n && len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - offset;
		if (chunk > len)
			chunk = len;
		data[nd].iov_base = (uint8_t *)iov[i].iov_base + offset;
		data[nd++].iov_len = chunk;
		len -= chunk;
		offset = 0;
	}
	if (!nd)
		return 0;
	return write ? disk_writev(b->disk, data, nd, pos) : disk_readv(b->disk, data, nd, pos);
}

/* Zeroes without giving the space back, as write-zeroes without UNMAP asks. */
static int blk_write_zeroes(struct disk *d, uint64_t pos, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];
	int err;

	while (len) {
		size_t chunk = len < sizeof(zeroes) ? len : sizeof(zeroes);

		err = disk_write(d, zeroes, chunk, pos);
		if (err)
			return err;
		pos += chunk;
		len -= chunk;
	}
	return 0;
}

static bool blk_range_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t capacity = b->disk->size / SECTOR_SIZE;

	return sector <= capacity && bytes / SECTOR_SIZE <= capacity - sector &&
	       !(bytes % SECTOR_SIZE);
}

static uint8_t blk_error_status(struct blk *b)
{
	pr_warn("virtio-blk: %s", disk_error(b->disk));
	return VIRTIO_BLK_S_IOERR;
}

/* Discard and write-zeroes carry a list of ranges in the readable part. */
static uint8_t blk_ranges(struct blk *b, struct virtq_chain *c, uint32_t type)
{
	struct virtio_blk_discard_write_zeroes r;
	size_t off = sizeof(struct virtio_blk_outhdr);
	unsigned int nsegs = (c->out_len - off) / sizeof(r), i;
	int err;

	if (b->disk->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (!nsegs || nsegs > BLK_MAX_DISCARD_SEGS || (c->out_len - off) % sizeof(r))
		return VIRTIO_BLK_S_UNSUPP;
	for (i = 0; i < nsegs; i++, off += sizeof(r)) {
		uint64_t bytes;

		iov_to_buf(c->iov, c->nout, off, &r, sizeof(r));
		bytes = (uint64_t)r.num_sectors * SECTOR_SIZE;
		if (r.num_sectors > BLK_MAX_RANGE_SECTORS || !blk_range_ok(b, r.sector, bytes))
			return VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_DISCARD) {
			if (r.flags)
				return VIRTIO_BLK_S_UNSUPP;
			err = disk_discard(b->disk, r.sector * SECTOR_SIZE, bytes);
			/* Discard is a hint: a backend that cannot free space did no harm. */
			if (err && err != -EOPNOTSUPP)
				return blk_error_status(b);
		} else {
			if (r.flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
				return VIRTIO_BLK_S_UNSUPP;
			/* A discarded range reads as zeroes: UNMAP lets us use it. */
			if (r.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
				err = disk_discard(b->disk, r.sector * SECTOR_SIZE, bytes);
			else
				err = -EOPNOTSUPP;
			if (err == -EOPNOTSUPP)
				err = blk_write_zeroes(b->disk, r.sector * SECTOR_SIZE, bytes);
			if (err)
				return blk_error_status(b);
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Serves one request; returns its status and sets *written. */
static uint8_t blk_request(struct blk *b, struct virtq_chain *c, uint32_t *written)
{
	struct virtio_blk_outhdr hdr;
	size_t in_data = c->in_len - 1;		/* the last byte is the status */
	size_t out_data = c->out_len - sizeof(hdr);
	int err;

	*written = 0;
	iov_to_buf(c->iov, c->nout, 0, &hdr, sizeof(hdr));
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		if (!blk_range_ok(b, hdr.sector, in_data))
			return VIRTIO_BLK_S_IOERR;
		err = blk_transfer(b, virtq_chain_in(c), c->nin, 0, in_data,
				   hdr.sector * SECTOR_SIZE, false);
		if (err)
			return blk_error_status(b);
		*written = in_data;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		if (b->disk->read_only || !blk_range_ok(b, hdr.sector, out_data))
			return VIRTIO_BLK_S_IOERR;
		err = blk_transfer(b, c->iov, c->nout, sizeof(hdr), out_data,
				   hdr.sector * SECTOR_SIZE, true);
		if (err)
			return blk_error_status(b);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		if (disk_flush(b->disk))
			return blk_error_status(b);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		*written = iov_from_buf(virtq_chain_in(c), c->nin, 0, b->serial,
					in_data < sizeof(b->serial) ? in_data : sizeof(b->serial));
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_ranges(b, c, hdr.type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct blk *b = dev->priv;
	struct virtq_chain chain;
	bool used = false;

	while (virtio_pop(dev, q, &chain)) {
		uint32_t written = 0;
		uint8_t status;

		if (chain.out_len < sizeof(struct virtio_blk_outhdr) || chain.in_len < 1) {
			/* No room for a header or a status: nothing to answer with. */
			virtq_push(&dev->queues[q], chain.head, 0);
			used = true;
			continue;
		}
		status = blk_request(b, &chain, &written);
		iov_from_buf(virtq_chain_in(&chain), chain.nin, chain.in_len - 1, &status, 1);
		virtq_push(&dev->queues[q], chain.head, written + 1);
		used = true;
	}
	if (used)
		virtio_notify_used(dev, q);
}

static const struct virtio_device_ops blk_ops_rw = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_DISCARD) |
		    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES),
	.num_queues = 1,
	.config_size = sizeof(struct virtio_blk_config),
	.queue_notify = blk_queue_notify,
};

static const struct virtio_device_ops blk_ops_ro = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ULL << VIRTIO_BLK_F_RO),
	.num_queues = 1,
	.config_size = sizeof(struct virtio_blk_config),
	.queue_notify = blk_queue_notify,
};

void virtio_blk_init(struct vm *vm, const struct blk_options *opts)
{
	struct blk *b = xcalloc(1, sizeof(*b));
	struct virtio_blk_config *cfg = &b->config;
	char err[DISK_ERROR_MAX];

	if (disk_open(opts->path, opts->read_only ? DISK_OPEN_READ_ONLY : 0, &b->disk, err))
		die("--disk: %s", err);
	if (b->disk->size % SECTOR_SIZE)
		pr_warn("%s: %llu bytes is not a whole number of 512-byte sectors; "
			"the guest sees the disk without the last partial one",
			opts->path, (unsigned long long)b->disk->size);
	if (opts->serial) {
		if (strlen(opts->serial) > VIRTIO_BLK_ID_BYTES)
			die("--disk %s: serial '%s' is longer than the %d bytes virtio-blk carries",
			    opts->path, opts->serial, VIRTIO_BLK_ID_BYTES);
		strncpy(b->serial, opts->serial, sizeof(b->serial));
	}
	cfg->capacity = b->disk->size / SECTOR_SIZE;
	cfg->seg_max = VIRTQ_MAX_SIZE - 2;	/* room for the header and status */
	cfg->blk_size = b->disk->logical_sector_size;
	cfg->max_discard_sectors = BLK_MAX_RANGE_SECTORS;
	cfg->max_discard_seg = BLK_MAX_DISCARD_SEGS;
	cfg->discard_sector_alignment = 4096 / SECTOR_SIZE;
	cfg->max_write_zeroes_sectors = BLK_MAX_RANGE_SECTORS;
	cfg->max_write_zeroes_seg = BLK_MAX_DISCARD_SEGS;
	cfg->write_zeroes_may_unmap = 1;
	virtio_mmio_register(vm, opts->read_only ? &blk_ops_ro : &blk_ops_rw, b, cfg);
}
