// SPDX-License-Identifier: MIT
/*
 * virtio-9p: a host directory the guest mounts with
 *
 *	mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576 TAG /mnt
 *
 * served by lib/'s 9P2000.L server (lib/include/p9.h), which confines
 * every request to the directory and answers anything malformed with
 * Rlerror.  Each request is one descriptor chain: the message in the
 * readable part, room for the reply in the writable part.  The chains go
 * to the server as they lie in guest memory (p9_server_handlev: file data
 * moves straight between the file and the guest's pages).
 *
 * The event loop only pops chains and queues them; a small pool of worker
 * threads per share serves them, so a slow host file system call stalls
 * neither a vCPU nor the loop, and then hands each chain back under the
 * device lock.  A driver reset bumps a generation count: requests queued
 * or in flight from before it are dropped instead of reaching the new
 * queue.
 *
 * Served in parallel, replies can overtake each other, which 9P allows
 * for every message but one: the reply to a Tflush must come after the
 * flushed request's, because the client takes Rflush to mean that the
 * request's buffers are its own again.  A Tflush therefore waits until no
 * worker holds its oldtag.
 */
#include <errno.h>
#include <linux/virtio_9p.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <p9.h>

#include "control.h"
#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

#define P9_WORKERS	4	/* threads serving one share */
#define P9_FD_RESERVE	1024	/* descriptors the rest of wslvm may need */
#define P9_MIN_FIDS	64

/* One popped chain waiting for, or in the hands of, a worker. */
struct p9_request {
	struct p9_request *next;	/* in the queue, then among those in flight */
	unsigned int generation;	/* the device's, when popped */
	uint16_t tag;			/* the message's, or P9_NOTAG if too short */
	struct virtq_chain chain;
};

struct p9dev {
	struct virtio_dev *dev;
	struct virtio_device_ops ops;	/* config_size follows the tag */
	struct p9_server *server;
	const char *tag, *path;
	bool read_only;
	struct virtio_9p_config *config;

	/* Guarded by dev->lock. */
	struct p9_request *queue_head, *queue_tail;	/* popped, not yet taken */
	struct p9_request *in_flight;			/* taken by a worker */
	struct p9_request *free_list;
	unsigned int generation;
	pthread_cond_t work, served;
	pthread_t workers[P9_WORKERS];

	atomic_ullong requests, bytes_read, bytes_written;
};

static struct p9dev *shares[VIRTIO_9P_MAX_SHARES];
static unsigned int nshares;

static struct p9_request *p9_request_get(struct p9dev *p)
{
	struct p9_request *r = p->free_list;

	if (r) {
		p->free_list = r->next;
		return r;
	}
	return xcalloc(1, sizeof(*r));
}

static void p9_request_put(struct p9dev *p, struct p9_request *r)
{
	r->next = p->free_list;
	p->free_list = r;
}

/* Counts the file data of an Rread or Rwrite reply. */
static void p9_count(struct p9dev *p, struct virtq_chain *c, size_t reply_len)
{
	uint8_t hdr[P9_RREAD_HEADER];
	struct p9_peek reply;

	atomic_fetch_add(&p->requests, 1);
	if (reply_len < sizeof(hdr) ||
	    p9_peek(hdr, iov_to_buf(virtq_chain_in(c), c->nin, 0, hdr, sizeof(hdr)), &reply))
		return;
	if (reply.type == P9_RREAD)
		atomic_fetch_add(&p->bytes_read, reply.first);
	else if (reply.type == P9_RWRITE)
		atomic_fetch_add(&p->bytes_written, reply.first);
}

/* The tag of the chain's message, and for a Tflush the tag it flushes. */
static void p9_peek_tags(struct p9_request *r, int *flushes)
{
	uint8_t hdr[P9_HEADER_SIZE + 2];
	size_t n = iov_to_buf(r->chain.iov, r->chain.nout, 0, hdr, sizeof(hdr));
	struct p9_peek req;

	r->tag = P9_NOTAG;
	*flushes = -1;
	if (p9_peek(hdr, n, &req))
		return;
	r->tag = req.tag;
	if (req.type == P9_TFLUSH && n == sizeof(hdr))
		*flushes = req.first;
}

/* Lock held: whether another worker is still serving the request tagged TAG. */
static bool p9_tag_in_flight(struct p9dev *p, struct p9_request *self, uint16_t tag)
{
	for (struct p9_request *r = p->in_flight; r; r = r->next)
		if (r != self && r->tag == tag && r->generation == p->generation)
			return true;
	return false;
}

static void p9_in_flight_remove(struct p9dev *p, struct p9_request *r)
{
	struct p9_request **pp;

	for (pp = &p->in_flight; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_cond_broadcast(&p->served);
}

static void *p9_worker(void *opaque)
{
	struct p9dev *p = opaque;
	struct virtio_dev *dev = p->dev;

	pthread_mutex_lock(&dev->lock);
	for (;;) {
		struct p9_request *r;
		struct virtq_chain *c;
		int flushes;
		size_t len;

		while (!p->queue_head)
			pthread_cond_wait(&p->work, &dev->lock);
		r = p->queue_head;
		p->queue_head = r->next;
		if (!p->queue_head)
			p->queue_tail = NULL;
		r->next = p->in_flight;
		p->in_flight = r;
		/* Requests are taken in order: one flushed is taken already. */
		p9_peek_tags(r, &flushes);
		while (flushes >= 0 && p9_tag_in_flight(p, r, flushes))
			pthread_cond_wait(&p->served, &dev->lock);
		pthread_mutex_unlock(&dev->lock);

		/*
		 * Without the lock: the server is thread-safe, and the chain
		 * points into guest RAM, which stays mapped for the VM's life.
		 */
		c = &r->chain;
		len = p9_server_handlev(p->server, c->iov, c->nout, virtq_chain_in(c), c->nin);
		p9_count(p, c, len);

		pthread_mutex_lock(&dev->lock);
		/* A reset came in between: this chain belongs to a ring that is gone. */
		if (r->generation == p->generation && virtio_is_live(dev) &&
		    dev->queues[0].ready) {
			virtq_push(&dev->queues[0], c->head, len);
			virtio_notify_used(dev, 0);
		}
		p9_in_flight_remove(p, r);
		p9_request_put(p, r);
	}
	return NULL;
}

/* Event loop, lock held: hand every new chain to the workers. */
static void p9_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct p9dev *p = dev->priv;
	struct p9_request *r = p9_request_get(p);

	while (virtio_pop(dev, q, &r->chain)) {
		r->generation = p->generation;
		r->next = NULL;
		if (p->queue_tail)
			p->queue_tail->next = r;
		else
			p->queue_head = r;
		p->queue_tail = r;
		pthread_cond_signal(&p->work);
		r = p9_request_get(p);
	}
	p9_request_put(p, r);
}

/* vCPU thread, lock held: forget what the old rings asked. */
static void p9_reset(struct virtio_dev *dev)
{
	struct p9dev *p = dev->priv;

	p->generation++;
	while (p->queue_head) {
		struct p9_request *r = p->queue_head;

		p->queue_head = r->next;
		p9_request_put(p, r);
	}
	p->queue_tail = NULL;
}

/* Event loop: one set of counters per share, named by its tag. */
static void p9_stats(void *opaque, struct control_reply *reply)
{
	unsigned int i;

	for (i = 0; i < nshares; i++) {
		struct p9dev *p = shares[i];

		control_printf(reply, "9p_%s_requests %llu", p->tag,
			       (unsigned long long)atomic_load(&p->requests));
		control_printf(reply, "9p_%s_read_bytes %llu", p->tag,
			       (unsigned long long)atomic_load(&p->bytes_read));
		control_printf(reply, "9p_%s_written_bytes %llu", p->tag,
			       (unsigned long long)atomic_load(&p->bytes_written));
	}
}

/*
 * Each fid may hold three descriptors: raise our limit as far as we may,
 * and split what it allows between the shares, keeping some back for the
 * other devices, so a guest that opens without end runs out of fids (an
 * Rlerror) before wslvm runs out of descriptors.
 */
static uint32_t p9_fid_budget(unsigned int total_shares)
{
	struct rlimit rl;
	uint64_t fids;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die_errno("virtio-9p: reading the descriptor limit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			pr_warn_errno("virtio-9p: raising the descriptor limit to %llu",
				      (unsigned long long)rl.rlim_max);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return P9_DEFAULT_FIDS;
	if (rl.rlim_cur <= P9_FD_RESERVE)
		fids = 0;
	else
		fids = (rl.rlim_cur - P9_FD_RESERVE) / (3 * (uint64_t)total_shares);
	if (fids < P9_MIN_FIDS) {
		pr_warn("virtio-9p: a descriptor limit of %llu leaves each share only %d fids",
			(unsigned long long)rl.rlim_cur, P9_MIN_FIDS);
		fids = P9_MIN_FIDS;
	}
	return fids > P9_DEFAULT_FIDS ? P9_DEFAULT_FIDS : fids;
}

static const struct virtio_device_ops p9_ops_template = {
	.name = "virtio-9p",
	.device_id = VIRTIO_ID_9P,
	.features = 1ULL << VIRTIO_9P_MOUNT_TAG,
	.num_queues = 1,
	.queue_notify = p9_queue_notify,
	.reset = p9_reset,
};

void virtio_9p_init(struct vm *vm, const struct share_options *opts, unsigned int total_shares)
{
	struct p9_server_config cfg = {
		.root = opts->path,
		.flags = opts->read_only ? P9_SERVER_READONLY : 0,
		.max_fids = p9_fid_budget(total_shares),
	};
	size_t tag_len = strlen(opts->tag);
	char what[VIRTIO_9P_MAX_TAG + 32];
	struct p9dev *p;
	unsigned int i;
	int err;

	if (nshares == VIRTIO_9P_MAX_SHARES)
		die("--share %s: more than %d shares", opts->tag, VIRTIO_9P_MAX_SHARES);
	for (i = 0; i < nshares; i++)
		if (!strcmp(shares[i]->tag, opts->tag))
			die("--share %s: the tag is already given to %s", opts->tag,
			    shares[i]->path);
	p = xcalloc(1, sizeof(*p));
	p->tag = opts->tag;
	p->path = opts->path;
	p->read_only = opts->read_only;
	err = p9_server_create(&cfg, &p->server);
	if (err)
		die("--share %s=%s: cannot share it: %s", opts->tag, opts->path, strerror(-err));
	p->config = xcalloc(1, sizeof(*p->config) + tag_len);
	p->config->tag_len = tag_len;
	memcpy(p->config->tag, opts->tag, tag_len);
	p->ops = p9_ops_template;
	p->ops.config_size = sizeof(*p->config) + tag_len;
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->served, NULL);
	p->dev = virtio_mmio_register(vm, &p->ops, p, p->config);
	snprintf(what, sizeof(what), "a worker thread of share %s", opts->tag);
	for (i = 0; i < P9_WORKERS; i++)
		xthread_create(&p->workers[i], p9_worker, p, what);
	if (!nshares)
		control_stats(p9_stats, NULL);
	shares[nshares++] = p;
}
