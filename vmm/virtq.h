/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue walker: the only code that reads or writes the
 * descriptor table and the available and used rings.  Everything it hands
 * a device has been checked to lie inside guest RAM.
 */
#ifndef WSLVM_VIRTQ_H
#define WSLVM_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;
struct vring_desc;
struct vring_avail;
struct vring_used;

#define VIRTQ_MAX_SIZE	256	/* queue size we offer, and longest chain */

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;

	/* Ours. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;
	uint16_t used_idx;
};

/* One request: readable segments first, then writable ones. */
struct virtq_chain {
	uint16_t head;
	unsigned int nout, nin;
	size_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];	/* out[0..nout), then in[0..nin) */
};

static inline struct iovec *virtq_chain_in(struct virtq_chain *c)
{
	return c->iov + c->nout;
}

enum virtq_pop_result {
	VIRTQ_EMPTY,
	VIRTQ_CHAIN,
	VIRTQ_BROKEN,	/* the driver broke the ring; see *why */
};

/*
 * Checks the ring addresses the driver gave and maps them; returns an
 * error message or NULL.
 */
const char *virtq_enable(struct virtq *vq, const struct guest_mem *mem);
void virtq_reset(struct virtq *vq);

enum virtq_pop_result virtq_pop(struct virtq *vq, const struct guest_mem *mem,
				struct virtq_chain *chain, const char **why);

/* Puts the last popped chain back, unused, for the next virtq_pop(). */
void virtq_unpop(struct virtq *vq);

/* Hands a chain back: len bytes were written into its writable part. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* False when the driver asked not to be interrupted. */
bool virtq_wants_interrupt(const struct virtq *vq);

/* Copying between a buffer and a list of segments, starting offset bytes in. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t offset, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t offset, const void *buf,
		    size_t len);

#endif
