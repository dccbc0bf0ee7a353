// SPDX-License-Identifier: MIT
/*
 * Guest RAM: allocation, bounds-checked translation of guest addresses, and
 * giving memory the guest does not use back to the host.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"
#include "vmm.h"

/*
 * The host's transparent huge pages are 2 MiB, as are the blocks Linux
 * guests report free (pageblock order).  Guest RAM starts on such a
 * boundary so that a reported block is one whole host huge page, freed as
 * one, rather than a piece of two that each stay allocated until split.
 */
#define GUEST_MEM_ALIGN (2 * MiB)

/* The default huge page size, the one MAP_HUGETLB gives; 2 MiB if unknown. */
static uint64_t default_huge_page_size(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kib = 0;
	char line[128];

	if (!f)
		return 2 * MiB;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib ? kib * 1024 : 2 * MiB;
}

/* An anonymous mapping of size bytes starting on an align boundary. */
static void *mmap_aligned(uint64_t size, uint64_t align, int flags)
{
	uint8_t *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE, flags, -1, 0);
	uint8_t *start;

	if (p == MAP_FAILED)
		return p;
	start = (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (start > p)
		munmap(p, start - p);
	munmap(start + size, p + align - start);
	return start;
}

void guest_mem_init(struct guest_mem *mem, uint64_t size, bool hugepages)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *p;

	if (hugepages) {
		/* Huge page mappings are aligned to their page size already. */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags | MAP_HUGETLB, -1, 0);
		mem->page_size = default_huge_page_size();
	} else {
		p = mmap_aligned(size, GUEST_MEM_ALIGN, flags);
		mem->page_size = sysconf(_SC_PAGESIZE);
	}
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

/*
 * Guest RAM is a private anonymous mapping, of normal or of hugetlb pages,
 * so MADV_DONTNEED is what frees it, in both cases: the pages go back to
 * the host (a hugetlb page to its pool) and the guest's next touch finds
 * zeroes.  (MADV_REMOVE and fallocate(FALLOC_FL_PUNCH_HOLE) are for shared
 * or file-backed memory, which this is not.)  Only whole pages of the
 * mapping can go: a huge page that is partly in the range stays.
 */
uint64_t guest_mem_release(const struct guest_mem *mem, void *host, uint64_t len)
{
	uintptr_t ram = (uintptr_t)mem->host, start = (uintptr_t)host;
	uint64_t mask = mem->page_size - 1;
	uintptr_t first, end;

	if (start < ram || start - ram > mem->size || len > mem->size - (start - ram))
		return 0;
	first = (start + mask) & ~mask;
	end = (start + len) & ~mask;
	if (end <= first)
		return 0;
	if (madvise((void *)first, end - first, MADV_DONTNEED) < 0) {
		static bool warned;

		if (!warned)
			pr_warn_errno("giving %llu bytes of guest memory back to the host "
				      "(madvise MADV_DONTNEED)",
				      (unsigned long long)(end - first));
		warned = true;
		return 0;
	}
	return end - first;
}

uint64_t guest_mem_release_gpa(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	void *host = gpa_to_host(mem, gpa, len);

	return host ? guest_mem_release(mem, host, len) : 0;
}
