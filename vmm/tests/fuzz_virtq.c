// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtqueue walker: the input becomes the
 * descriptor table and available ring a driver would write, and every
 * chain the walker accepts is touched end to end, so AddressSanitizer
 * catches any buffer it let through that is not inside guest memory.
 */
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../virtq.h"
#include "../vmm.h"

#define MEM_SIZE	(64ULL << 20)
#define DESC_GPA	0x0
#define AVAIL_GPA	0x1000
#define USED_GPA	0x2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static struct virtq_chain chain;
	struct virtq vq = { .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA };
	const char *why;
	unsigned int i, rounds = 0;

	if (!mem.host)
		guest_mem_init(&mem, MEM_SIZE, false);
	if (size < 1)
		return 0;
	/* First byte: the queue size (any value: the walker must refuse bad ones). */
	vq.num = (uint16_t)1 << (data[0] % 10);
	if (data[0] & 0x80)
		vq.num += 1;
	data++;
	size--;
	memset(mem.host, 0, 0x3000);
	memcpy(mem.host + DESC_GPA, data, size < 0x1000 ? size : 0x1000);
	if (size > 0x1000)
		memcpy(mem.host + AVAIL_GPA, data + 0x1000, size - 0x1000 < 0x1000 ? size - 0x1000 : 0x1000);
	if (virtq_enable(&vq, &mem))
		return 0;
	while (rounds++ < 2 * VIRTQ_MAX_SIZE &&
	       virtq_pop(&vq, &mem, &chain, &why) == VIRTQ_CHAIN) {
		for (i = 0; i < chain.nout + chain.nin; i++)
			memset(chain.iov[i].iov_base, 0xa5, chain.iov[i].iov_len);
		virtq_push(&vq, chain.head, chain.in_len);
	}
	return 0;
}
