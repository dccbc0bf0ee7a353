// SPDX-License-Identifier: MIT
/*
 * The split virtqueue walker (virtio 1.x, section 2.7).  The driver is not
 * trusted: every index is checked against the queue size, every buffer
 * against guest RAM, and a chain may not be longer than the queue (which
 * also ends loops).  We offer neither indirect descriptors nor event
 * indexes, so a driver using them is breaking the ring.
 */
#include <linux/virtio_ring.h>
#include <string.h>

#include "virtq.h"
#include "vmm.h"

const char *virtq_enable(struct virtq *vq, const struct guest_mem *mem)
{
	if (!vq->num || vq->num > VIRTQ_MAX_SIZE || (vq->num & (vq->num - 1)))
		return "queue size is not a power of two up to the maximum";
	vq->desc = gpa_to_host(mem, vq->desc_gpa, (uint64_t)vq->num * sizeof(struct vring_desc));
	vq->avail = gpa_to_host(mem, vq->avail_gpa,
				sizeof(struct vring_avail) + (uint64_t)vq->num * 2 + 2);
	vq->used = gpa_to_host(mem, vq->used_gpa,
			       sizeof(struct vring_used) +
			       (uint64_t)vq->num * sizeof(struct vring_used_elem) + 2);
	if (!vq->desc || !vq->avail || !vq->used)
		return "a ring lies outside guest RAM";
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return "a ring is misaligned";
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->ready = true;
	return NULL;
}

void virtq_reset(struct virtq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

enum virtq_pop_result virtq_pop(struct virtq *vq, const struct guest_mem *mem,
				struct virtq_chain *chain, const char **why)
{
	uint16_t avail_idx, head, i;
	unsigned int count = 0;
	bool seen_writable = false;

	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return VIRTQ_EMPTY;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num) {
		*why = "the available index ran more than a queue ahead";
		return VIRTQ_BROKEN;
	}
	head = vq->avail->ring[vq->last_avail % vq->num];
	if (head >= vq->num) {
		*why = "an available entry names a descriptor past the queue's end";
		return VIRTQ_BROKEN;
	}
	vq->last_avail++;

	memset(chain, 0, offsetof(struct virtq_chain, iov));
	chain->head = head;
	i = head;
	for (;;) {
		struct vring_desc d = vq->desc[i];
		struct iovec *iov;
		void *host;

		if (++count > vq->num) {
			*why = "a descriptor chain loops or is longer than the queue";
			return VIRTQ_BROKEN;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			*why = "an indirect descriptor, which was not offered";
			return VIRTQ_BROKEN;
		}
		host = gpa_to_host(mem, d.addr, d.len);
		if (!host) {
			*why = "a descriptor points outside guest RAM";
			return VIRTQ_BROKEN;
		}
		iov = &chain->iov[chain->nout + chain->nin];
		iov->iov_base = host;
		iov->iov_len = d.len;
		if (d.flags & VRING_DESC_F_WRITE) {
			seen_writable = true;
			chain->nin++;
			chain->in_len += d.len;
		} else {
			if (seen_writable) {
				*why = "a readable descriptor follows a writable one";
				return VIRTQ_BROKEN;
			}
			chain->nout++;
			chain->out_len += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->num) {
			*why = "a descriptor's next index is past the queue's end";
			return VIRTQ_BROKEN;
		}
		i = d.next;
	}
	return VIRTQ_CHAIN;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->num];

	e->id = head;
	e->len = len;
	vq->used_idx++;
	/* The entry must be visible before the index that publishes it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_wants_interrupt(const struct virtq *vq)
{
	/* Our used index store must be ordered before reading the flag. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t offset, void *buf, size_t len)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - offset;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t offset, const void *buf,
		    size_t len)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - offset;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)iov[i].iov_base + offset, (const uint8_t *)buf + done, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}
