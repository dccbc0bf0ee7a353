// SPDX-License-Identifier: MIT
/*
 * What every boot path shares: the memory map, the GDT, and the identity
 * page tables the 64-bit entry needs.
 */
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "vmm.h"

static void e820_add(struct boot_e820_entry *map, unsigned int *n, uint64_t addr,
		     uint64_t size, uint32_t type)
{
	map[(*n)++] = (struct boot_e820_entry){ .addr = addr, .size = size, .type = type };
}

unsigned int boot_e820_map(const struct vm *vm, struct boot_e820_entry *map)
{
	unsigned int n = 0;

	e820_add(map, &n, 0, LAYOUT_LOW_RAM_END, E820_TYPE_RAM);
	/* EBDA, VGA hole, ROMs and our ACPI tables: the legacy first MiB. */
	e820_add(map, &n, LAYOUT_LOW_RAM_END, LAYOUT_HIGH_RAM - LAYOUT_LOW_RAM_END,
		 E820_TYPE_RESERVED);
	e820_add(map, &n, LAYOUT_HIGH_RAM, vm->mem.low_size - LAYOUT_HIGH_RAM, E820_TYPE_RAM);
	if (vm->mem.size > vm->mem.low_size)
		e820_add(map, &n, LAYOUT_RAM_ABOVE_4G, vm->mem.size - vm->mem.low_size,
			 E820_TYPE_RAM);
	return n;
}

/* A GDT descriptor: base, limit (in 4 KiB units here) and access/flags. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (limit & 0x0000ffff);
}

void boot_write_gdt(struct vm *vm)
{
	uint64_t *gdt = gpa_to_host(&vm->mem, LAYOUT_GDT, 6 * sizeof(uint64_t));

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_GDT_CODE64 / 8] = gdt_entry(0xa09b, 0, 0xfffff);	/* 64-bit code */
	gdt[BOOT_GDT_DATA / 8] = gdt_entry(0xc093, 0, 0xfffff);		/* flat data */
	gdt[BOOT_GDT_CODE32 / 8] = gdt_entry(0xc09b, 0, 0xfffff);	/* 32-bit code */
	gdt[BOOT_GDT_TSS / 8] = gdt_entry(0x008b, 0, 0x67);		/* busy TSS */
}

void boot_write_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gpa_to_host(&vm->mem, LAYOUT_PML4, 4096);
	uint64_t *pdpt = gpa_to_host(&vm->mem, LAYOUT_PDPT, 4096);
	uint64_t *pd = gpa_to_host(&vm->mem, LAYOUT_PD, 4 * 4096);
	unsigned int i;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | 0x3;			/* present, writable */
	for (i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* 2 MiB page */
}
