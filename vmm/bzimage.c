// SPDX-License-Identifier: MIT
/*
 * bzImage: the Linux x86 boot protocol (Documentation/x86/boot.rst).  We
 * skip the real-mode setup code entirely and enter the protected-mode
 * kernel's 64-bit entry point, 0x200 past where it is loaded, with rsi
 * pointing at a zero page we fill in ourselves.
 */
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "vmm.h"

#define SETUP_HEADER_OFFSET	0x1f1
#define BOOT_FLAG_OFFSET	0x1fe
#define BOOT_FLAG		0xaa55
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define MIN_PROTOCOL		0x020c		/* 2.12: xloadflags, 64-bit entry */
#define ENTRY64_OFFSET		0x200
#define LOADER_TYPE_UNDEFINED	0xff

const char *bzimage_parse(struct kernel_image *k)
{
	static char err[200];
	struct setup_header *h = &k->setup;
	uint64_t setup_size, payload_size, load_addr, footprint;
	size_t header_len;

	if (k->size < SETUP_HEADER_OFFSET + sizeof(*h))
		return "not a Linux kernel: too short for a bzImage setup header, and not an ELF file";
	memcpy(h, k->data + SETUP_HEADER_OFFSET, sizeof(*h));
	if (h->boot_flag != BOOT_FLAG || h->header != HDRS_MAGIC)
		return "not a Linux kernel: no bzImage setup header (\"HdrS\" at 0x202), "
		       "and not an ELF file";
	if (h->version < MIN_PROTOCOL) {
		snprintf(err, sizeof(err),
			 "boot protocol %u.%02u is too old: wslvm needs 2.12 or later "
			 "(a 64-bit entry point)", h->version >> 8, h->version & 0xff);
		return err;
	}
	if (!(h->xloadflags & XLF_KERNEL_64))
		return "this kernel has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64)";
	if (!(h->loadflags & LOADED_HIGH))
		return "this kernel does not load at 1 MiB (loadflags lacks LOADED_HIGH)";

	/*
	 * The header's length is in its jump instruction; what follows it in
	 * older kernels is setup code, not fields we should pass on.
	 */
	header_len = 0x202 + k->data[0x201] - SETUP_HEADER_OFFSET;
	if (header_len < sizeof(*h))
		memset((uint8_t *)h + header_len, 0, sizeof(*h) - header_len);

	setup_size = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	payload_size = (uint64_t)h->syssize * 16;
	if (setup_size + payload_size > k->size || setup_size >= k->size) {
		snprintf(err, sizeof(err),
			 "truncated: the setup header promises %llu bytes, the file has %zu",
			 (unsigned long long)(setup_size + payload_size), k->size);
		return err;
	}

	load_addr = LAYOUT_HIGH_RAM;
	if (h->pref_address >= LAYOUT_HIGH_RAM && h->pref_address < LAYOUT_MMIO_HOLE)
		load_addr = h->pref_address;
	footprint = k->size - setup_size;
	if (h->init_size > footprint)
		footprint = h->init_size;

	k->segments[0] = (struct kernel_segment){
		.gpa = load_addr,
		.file_offset = setup_size,
		.file_size = k->size - setup_size,
		.mem_size = k->size - setup_size,
	};
	k->nsegments = 1;
	k->entry = load_addr + ENTRY64_OFFSET;
	k->end = load_addr + footprint;
	k->cmdline_max = h->cmdline_size;
	k->initrd_max = (uint64_t)h->initrd_addr_max + 1;
	return NULL;
}

void bzimage_write_zero_page(struct vm *vm, const struct kernel_image *k,
			     const struct initrd_image *initrd, struct boot_entry *entry)
{
	struct boot_params *zp = gpa_to_host(&vm->mem, LAYOUT_ZERO_PAGE, sizeof(*zp));
	unsigned int n, i;
	struct boot_e820_entry map[BOOT_MAX_E820];

	memset(zp, 0, sizeof(*zp));
	zp->hdr = k->setup;
	zp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	zp->hdr.cmd_line_ptr = LAYOUT_CMDLINE;
	zp->hdr.code32_start = k->segments[0].gpa;
	if (initrd) {
		zp->hdr.ramdisk_image = initrd->gpa;
		zp->hdr.ramdisk_size = initrd->size;
	}
	zp->acpi_rsdp_addr = LAYOUT_ACPI_TABLES;
	n = boot_e820_map(vm, map);
	for (i = 0; i < n; i++)
		zp->e820_table[i] = map[i];
	zp->e820_entries = n;

	*entry = (struct boot_entry){
		.rip = k->entry,
		.rsi = LAYOUT_ZERO_PAGE,
	};
}
