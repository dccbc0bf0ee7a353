// SPDX-License-Identifier: MIT
/*
 * virtio-balloon (virtio 1.x, section 5.5): how guest memory the guest does
 * not use goes back to the host.
 *
 *   - Free page reporting: the guest hands over blocks of its free memory
 *     (Linux: 2 MiB ones, a couple of seconds after they were freed); we
 *     release them (guest_mem_release()) and hand the buffers back.  This
 *     is what makes wslvm shrink when the guest's programs free memory.
 *   - Inflate and deflate: the host sets a target balloon size in the
 *     config space ("balloon set MIB" on the control socket); the guest
 *     takes that many pages out of use and lists them on the inflate queue,
 *     and we release them too.  Deflated pages need nothing: the guest's
 *     next touch of a released page finds a zero page.  We offer
 *     DEFLATE_ON_OOM, so a guest short of memory takes pages back.
 *   - Statistics: the guest's memory figures, which "balloon" answers.
 *
 * Queues are numbered in order of the features the driver accepted (as
 * Linux and QEMU number them): inflate, deflate, then stats and reporting
 * when negotiated.  Whatever the guest puts in them, outside guest RAM,
 * odd sizes, too few bytes, nothing here trusts it: an address that is not
 * guest RAM is skipped, never released.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "layout.h"
#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

#define BALLOON_PAGE_SIZE	(1ULL << VIRTIO_BALLOON_PFN_SHIFT)
#define BALLOON_QUEUES		4
#define BALLOON_STATS_MAX	32	/* figures kept from one stats buffer */
#define BALLOON_PFN_BATCH	256	/* PFNs read from a buffer at a time */
/*
 * Most PFNs taken from one buffer (Linux sends up to 256): a buffer as big
 * as guest RAM would otherwise keep the event loop, and with it the
 * other devices and the control socket, busy for minutes.
 */
#define BALLOON_PFNS_MAX	4096

enum balloon_queue_role { ROLE_NONE, ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORTING };

struct balloon_stat {
	uint16_t tag;
	uint64_t val;
};

struct balloon {
	struct virtio_dev *dev;
	struct virtio_balloon_config config;	/* the device's config space */
	enum balloon_queue_role role[BALLOON_QUEUES];

	/*
	 * The driver leaves one buffer in the stats queue; we fill nothing
	 * in, but handing it back is how we ask for fresh figures.
	 */
	bool stats_held;
	uint16_t stats_head;
	unsigned int stats_queue;
	struct balloon_stat stats[BALLOON_STATS_MAX];
	unsigned int nstats;
	bool have_stats;
	double stats_ms;			/* when they came (vm_elapsed_ms) */

	/* Counters for "stats". */
	uint64_t reported_ranges, reported_bytes;
	uint64_t inflated_pages, deflated_pages;
	uint64_t released_bytes;		/* given back to the host, both ways */
	uint64_t unreleased_bytes;		/* asked for, but not RAM or not whole pages */
	bool warned_bad_pfn, warned_bad_stats;
};

/* The driver's answers to our config fields: actual and poison_val. */
static uint32_t balloon_actual_pages(const struct balloon *b)
{
	return le32toh(b->config.actual);
}

static bool balloon_keeps_reported_pages(const struct balloon *b)
{
	/*
	 * A guest that poisons free pages checks the poison when it takes
	 * them again; a released page would read as zeroes instead.
	 */
	return (b->dev->driver_features & (1ULL << VIRTIO_BALLOON_F_PAGE_POISON)) &&
	       b->config.poison_val != 0;
}

/* Releases guest-physical [gpa, gpa + len), counting what went and what not. */
static void balloon_release_gpa(struct balloon *b, uint64_t gpa, uint64_t len)
{
	const struct guest_mem *mem = &b->dev->vm->mem;
	uint64_t done, page;

	/* A run that is not all RAM (it crosses a hole) goes page by page. */
	if (len > BALLOON_PAGE_SIZE && !gpa_to_host(mem, gpa, len)) {
		for (page = 0; page < len; page += BALLOON_PAGE_SIZE)
			balloon_release_gpa(b, gpa + page, BALLOON_PAGE_SIZE);
		return;
	}
	done = guest_mem_release_gpa(mem, gpa, len);
	b->released_bytes += done;
	b->unreleased_bytes += len - done;
}

/*
 * An inflate or deflate buffer: little-endian 32-bit PFNs of 4 KiB pages.
 * Runs of consecutive PFNs are released in one call.
 */
static void balloon_take_pfns(struct balloon *b, struct virtq_chain *chain, bool inflate)
{
	uint32_t pfns[BALLOON_PFN_BATCH];
	uint64_t run_start = 0, run_pages = 0;
	size_t offset, total = chain->out_len + chain->in_len;
	unsigned int nseg = chain->nout + chain->nin;

	if ((total % sizeof(uint32_t) || total > BALLOON_PFNS_MAX * sizeof(uint32_t)) &&
	    !b->warned_bad_pfn) {
		pr_warn("virtio-balloon: %s queue: a buffer of %zu bytes, not whole PFNs or more "
			"than %d; the rest is ignored", inflate ? "inflate" : "deflate", total,
			BALLOON_PFNS_MAX);
		b->warned_bad_pfn = true;
	}
	if (total > BALLOON_PFNS_MAX * sizeof(uint32_t))
		total = BALLOON_PFNS_MAX * sizeof(uint32_t);
	for (offset = 0; offset + sizeof(uint32_t) <= total;) {
		size_t want = (total - offset) / sizeof(uint32_t);
		size_t got, i;

		if (want > BALLOON_PFN_BATCH)
			want = BALLOON_PFN_BATCH;
		got = iov_to_buf(chain->iov, nseg, offset, pfns, want * sizeof(uint32_t));
		got /= sizeof(uint32_t);
		offset += got * sizeof(uint32_t);
		if (!got)
			break;
		if (!inflate) {
			b->deflated_pages += got;
			continue;
		}
		b->inflated_pages += got;
		for (i = 0; i < got; i++) {
			uint64_t pfn = le32toh(pfns[i]);

			if (run_pages && pfn == run_start + run_pages) {
				run_pages++;
				continue;
			}
			if (run_pages)
				balloon_release_gpa(b, run_start * BALLOON_PAGE_SIZE,
						    run_pages * BALLOON_PAGE_SIZE);
			run_start = pfn;
			run_pages = 1;
		}
	}
	if (run_pages)
		balloon_release_gpa(b, run_start * BALLOON_PAGE_SIZE,
				    run_pages * BALLOON_PAGE_SIZE);
}

/* A reporting buffer: each segment is a block of free guest memory. */
static void balloon_take_report(struct balloon *b, struct virtq_chain *chain)
{
	const struct guest_mem *mem = &b->dev->vm->mem;
	bool keep = balloon_keeps_reported_pages(b);
	unsigned int i;

	for (i = 0; i < chain->nout + chain->nin; i++) {
		const struct iovec *seg = &chain->iov[i];
		uint64_t done = 0;

		/* The walker has checked that every segment lies in guest RAM. */
		if (!keep)
			done = guest_mem_release(mem, seg->iov_base, seg->iov_len);
		b->reported_ranges++;
		b->reported_bytes += seg->iov_len;
		b->released_bytes += done;
		b->unreleased_bytes += seg->iov_len - done;
	}
}

/* A stats buffer: packed (le16 tag, le64 value) pairs, 10 bytes each. */
static void balloon_take_stats(struct balloon *b, struct virtq_chain *chain)
{
	const size_t entry = sizeof(struct virtio_balloon_stat);
	size_t offset;

	if (chain->out_len % entry && !b->warned_bad_stats) {
		pr_warn("virtio-balloon: stats queue: a buffer of %zu bytes, not whole entries; "
			"the odd bytes are ignored", chain->out_len);
		b->warned_bad_stats = true;
	}
	b->nstats = 0;
	for (offset = 0; offset + entry <= chain->out_len && b->nstats < BALLOON_STATS_MAX;
	     offset += entry) {
		struct virtio_balloon_stat s;

		iov_to_buf(chain->iov, chain->nout, offset, &s, entry);
		b->stats[b->nstats].tag = le16toh(s.tag);
		b->stats[b->nstats].val = le64toh(s.val);
		b->nstats++;
	}
	b->have_stats = true;
	b->stats_ms = vm_elapsed_ms(b->dev->vm);
}

/* Hands the stats buffer back, which asks the guest for new figures. */
static void balloon_request_stats(struct balloon *b)
{
	struct virtio_dev *dev = b->dev;

	if (!b->stats_held || !virtio_is_live(dev) || !dev->queues[b->stats_queue].ready)
		return;
	virtq_push(&dev->queues[b->stats_queue], b->stats_head, 0);
	b->stats_held = false;
	virtio_notify_used(dev, b->stats_queue);
}

static void balloon_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct balloon *b = dev->priv;
	enum balloon_queue_role role = q < BALLOON_QUEUES ? b->role[q] : ROLE_NONE;
	struct virtq_chain chain;
	bool used = false;

	if (role == ROLE_NONE)
		return;
	while (virtio_pop(dev, q, &chain)) {
		switch (role) {
		case ROLE_INFLATE:
		case ROLE_DEFLATE:
			balloon_take_pfns(b, &chain, role == ROLE_INFLATE);
			break;
		case ROLE_REPORTING:
			balloon_take_report(b, &chain);
			break;
		case ROLE_STATS:
			/* A driver should keep one buffer here; an earlier one goes back. */
			if (b->stats_held) {
				virtq_push(&dev->queues[q], b->stats_head, 0);
				used = true;
			}
			balloon_take_stats(b, &chain);
			b->stats_held = true;
			b->stats_head = chain.head;
			continue;	/* kept until we want new figures */
		case ROLE_NONE:
			break;
		}
		virtq_push(&dev->queues[q], chain.head, 0);
		used = true;
	}
	if (used)
		virtio_notify_used(dev, q);
}

static bool balloon_negotiated(const struct virtio_dev *dev, unsigned int feature)
{
	return dev->driver_features & (1ULL << feature);
}

static void balloon_activate(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;
	unsigned int q = 0;

	memset(b->role, 0, sizeof(b->role));
	b->role[q++] = ROLE_INFLATE;
	b->role[q++] = ROLE_DEFLATE;
	if (balloon_negotiated(dev, VIRTIO_BALLOON_F_STATS_VQ)) {
		b->stats_queue = q;
		b->role[q++] = ROLE_STATS;
	}
	if (balloon_negotiated(dev, VIRTIO_BALLOON_F_REPORTING))
		b->role[q++] = ROLE_REPORTING;
	/*
	 * Linux fills the stats queue and notifies before it sets DRIVER_OK,
	 * when the transport still ignores notifications: look at every queue
	 * once now.
	 */
	for (q = 0; q < BALLOON_QUEUES; q++)
		if (b->role[q] != ROLE_NONE)
			virtio_kick(dev, q);
}

static void balloon_reset(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;

	/* The host's target outlives the driver; what the driver said does not. */
	b->config.actual = 0;
	b->config.poison_val = 0;
	memset(b->role, 0, sizeof(b->role));
	b->stats_held = false;
}

static void balloon_write_config(struct virtio_dev *dev, uint32_t offset, const void *data,
				 uint32_t len)
{
	struct balloon *b = dev->priv;
	const uint32_t actual = offsetof(struct virtio_balloon_config, actual);
	const uint32_t poison = offsetof(struct virtio_balloon_config, poison_val);

	/* The driver writes only actual and poison_val; num_pages is ours. */
	if ((offset >= actual && offset + len <= actual + 4) ||
	    (offset >= poison && offset + len <= poison + 4))
		memcpy((uint8_t *)&b->config + offset, data, len);
}

static const struct virtio_device_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.features = (1ULL << VIRTIO_BALLOON_F_STATS_VQ) |
		    (1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
		    (1ULL << VIRTIO_BALLOON_F_PAGE_POISON) |
		    (1ULL << VIRTIO_BALLOON_F_REPORTING),
	.num_queues = BALLOON_QUEUES,
	.config_size = sizeof(struct virtio_balloon_config),
	.queue_notify = balloon_queue_notify,
	.activate = balloon_activate,
	.reset = balloon_reset,
	.write_config = balloon_write_config,
};

/* The guest's figures by tag (VIRTIO_BALLOON_S_*), as "balloon" names them. */
static const char *const balloon_stat_names[VIRTIO_BALLOON_S_NR] = {
	[VIRTIO_BALLOON_S_SWAP_IN] = "guest_swap_in_bytes",
	[VIRTIO_BALLOON_S_SWAP_OUT] = "guest_swap_out_bytes",
	[VIRTIO_BALLOON_S_MAJFLT] = "guest_major_faults",
	[VIRTIO_BALLOON_S_MINFLT] = "guest_minor_faults",
	[VIRTIO_BALLOON_S_MEMFREE] = "guest_free_bytes",
	[VIRTIO_BALLOON_S_MEMTOT] = "guest_total_bytes",
	[VIRTIO_BALLOON_S_AVAIL] = "guest_available_bytes",
	[VIRTIO_BALLOON_S_CACHES] = "guest_disk_caches_bytes",
	[VIRTIO_BALLOON_S_HTLB_PGALLOC] = "guest_hugetlb_allocations",
	[VIRTIO_BALLOON_S_HTLB_PGFAIL] = "guest_hugetlb_failures",
};

static void balloon_show(struct balloon *b, struct control_reply *r)
{
	struct virtio_dev *dev = b->dev;
	uint64_t target = le32toh(b->config.num_pages) * BALLOON_PAGE_SIZE;
	uint64_t actual = balloon_actual_pages(b) * BALLOON_PAGE_SIZE;
	unsigned int i;

	control_printf(r, "driver_ready %d", virtio_is_live(dev));
	control_printf(r, "target_mib %llu", (unsigned long long)(target / MiB));
	control_printf(r, "actual_mib %llu", (unsigned long long)(actual / MiB));
	if (b->have_stats) {
		control_printf(r, "stats_age_ms %.0f", vm_elapsed_ms(dev->vm) - b->stats_ms);
		for (i = 0; i < b->nstats; i++) {
			const struct balloon_stat *s = &b->stats[i];

			if (s->tag < VIRTIO_BALLOON_S_NR && balloon_stat_names[s->tag])
				control_printf(r, "%s %llu", balloon_stat_names[s->tag],
					       (unsigned long long)s->val);
			else
				control_printf(r, "guest_stat_%u %llu", s->tag,
					       (unsigned long long)s->val);
		}
	}
	/* The next answer has fresh figures, if the guest sends them by then. */
	balloon_request_stats(b);
}

static int balloon_set(struct balloon *b, const char *arg, struct control_reply *r)
{
	uint64_t ram_mib = b->dev->vm->mem.size / MiB;
	unsigned long long mib;
	char *end;

	errno = 0;
	mib = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || *arg == '+')
		return control_error(r, "balloon set: '%s' is not a number of MiB", arg);
	if (mib >= ram_mib)
		return control_error(r, "balloon set: %llu MiB is not less than the guest's "
				     "%llu MiB of memory", mib, (unsigned long long)ram_mib);
	b->config.num_pages = htole32(mib * MiB / BALLOON_PAGE_SIZE);
	virtio_notify_config(b->dev);
	return 0;
}

static int balloon_cmd(void *opaque, int argc, char **argv, struct control_reply *r)
{
	struct balloon *b = opaque;
	int ret = 0;

	pthread_mutex_lock(&b->dev->lock);
	if (argc == 1)
		balloon_show(b, r);
	else if (argc == 3 && !strcmp(argv[1], "set"))
		ret = balloon_set(b, argv[2], r);
	else
		ret = control_error(r, "usage: balloon [set MIB]");
	pthread_mutex_unlock(&b->dev->lock);
	return ret;
}

static void balloon_stats(void *opaque, struct control_reply *r)
{
	struct balloon *b = opaque;

	pthread_mutex_lock(&b->dev->lock);
	control_printf(r, "balloon_actual_bytes %llu",
		       (unsigned long long)(balloon_actual_pages(b) * BALLOON_PAGE_SIZE));
	control_printf(r, "balloon_reported_ranges %llu", (unsigned long long)b->reported_ranges);
	control_printf(r, "balloon_reported_bytes %llu", (unsigned long long)b->reported_bytes);
	control_printf(r, "balloon_inflated_pages %llu", (unsigned long long)b->inflated_pages);
	control_printf(r, "balloon_deflated_pages %llu", (unsigned long long)b->deflated_pages);
	control_printf(r, "balloon_released_bytes %llu", (unsigned long long)b->released_bytes);
	control_printf(r, "balloon_unreleased_bytes %llu",
		       (unsigned long long)b->unreleased_bytes);
	pthread_mutex_unlock(&b->dev->lock);
}

void virtio_balloon_init(struct vm *vm)
{
	struct balloon *b = xcalloc(1, sizeof(*b));

	b->dev = virtio_mmio_register(vm, &balloon_ops, b, &b->config);
	control_command("balloon", "[set MIB]", balloon_cmd, b);
	control_stats(balloon_stats, b);
}
