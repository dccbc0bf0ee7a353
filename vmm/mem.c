// SPDX-License-Identifier: MIT
/* Guest RAM: allocation and bounds-checked translation of guest addresses. */
#include <sys/mman.h>

#include "layout.h"
#include "vmm.h"

void guest_mem_init(struct guest_mem *mem, uint64_t size, bool hugepages)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *p;

	if (hugepages)
		flags |= MAP_HUGETLB;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		if (hugepages)
			die_errno("allocating %llu MiB of guest memory in huge pages "
				  "(are enough reserved in /proc/sys/vm/nr_hugepages?)",
				  (unsigned long long)(size / MiB));
		die_errno("allocating %llu MiB of guest memory",
			  (unsigned long long)(size / MiB));
	}
	/* Guest RAM would only bloat a core dump of the VMM. */
	madvise(p, size, MADV_DONTDUMP);
	mem->host = p;
	mem->size = size;
	mem->low_size = size < LAYOUT_MMIO_HOLE ? size : LAYOUT_MMIO_HOLE;
	mem->hugepages = hugepages;
}

void *gpa_to_host(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t high_size = mem->size - mem->low_size;

	if (gpa < mem->low_size) {
		if (len > mem->low_size - gpa)
			return NULL;
		return mem->host + gpa;
	}
	if (gpa >= LAYOUT_RAM_ABOVE_4G && gpa - LAYOUT_RAM_ABOVE_4G < high_size) {
		if (len > high_size - (gpa - LAYOUT_RAM_ABOVE_4G))
			return NULL;
		return mem->host + mem->low_size + (gpa - LAYOUT_RAM_ABOVE_4G);
	}
	return NULL;
}
