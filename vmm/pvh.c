// SPDX-License-Identifier: MIT
/*
 * PVH boot of an uncompressed vmlinux: its PT_LOAD segments go to their
 * physical addresses, and the boot CPU starts, in flat 32-bit protected
 * mode with paging off, at the address in the kernel's
 * XEN_ELFNOTE_PHYS32_ENTRY note, with ebx pointing at an hvm_start_info
 * (Xen's public arch-x86/hvm/start_info.h, version 1) that carries the
 * command line, the initrd as module 0 and the memory map.  No
 * decompression, no real-mode setup: the quickest way into Linux.
 */
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "vmm.h"

#define XEN_ELFNOTE_PHYS32_ENTRY	18
#define HVM_START_MAGIC			0x336ec578
#define HVM_START_VERSION		1	/* with the memory map */
#define LINUX_COMMAND_LINE_SIZE		2048	/* x86's COMMAND_LINE_SIZE */

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Looks through one PT_NOTE segment for the PVH entry note. */
static bool pvh_find_entry(Elf *e, const GElf_Phdr *ph, uint64_t *entry)
{
	Elf_Data *notes = elf_getdata_rawchunk(e, ph->p_offset, ph->p_filesz, ELF_T_NHDR);
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!notes)
		return false;
	while ((next = gelf_getnote(notes, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)notes->d_buf + name_off;

		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(name, "Xen", 4) && nh.n_descsz >= 4) {
			uint32_t v;

			memcpy(&v, (const char *)notes->d_buf + desc_off, 4);
			*entry = v;
			return true;
		}
		off = next;
	}
	return false;
}

const char *pvh_parse(struct kernel_image *k)
{
	static char err[200];
	const char *msg = NULL, *segment_err = NULL;
	bool have_entry = false;
	GElf_Ehdr eh;
	size_t nph, i;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_memory((char *)k->data, k->size);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		snprintf(err, sizeof(err), "an ELF file libelf cannot read: %s", elf_errmsg(-1));
		msg = err;
		goto out;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		msg = "an ELF file, but not an x86-64 one";
		goto out;
	}
	if (elf_getphdrnum(e, &nph) < 0) {
		snprintf(err, sizeof(err), "truncated or corrupt ELF program headers: %s",
			 elf_errmsg(-1));
		msg = err;
		goto out;
	}
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph)) {
			msg = "truncated: an ELF program header lies past the end of the file";
			goto out;
		}
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > k->size || ph.p_filesz > k->size - ph.p_offset) {
			snprintf(err, sizeof(err),
				 "truncated: a segment ends at byte %llu, the file has %zu",
				 (unsigned long long)(ph.p_offset + ph.p_filesz), k->size);
			msg = err;
			goto out;
		}
		if (ph.p_type == PT_NOTE) {
			have_entry = have_entry || pvh_find_entry(e, &ph, &k->entry);
			continue;
		}
		/* Reported after the entry note: an ELF without one is no kernel at all. */
		if (ph.p_filesz > ph.p_memsz || ph.p_paddr < LAYOUT_HIGH_RAM ||
		    ph.p_paddr + ph.p_memsz > LAYOUT_MMIO_HOLE) {
			segment_err = "a segment does not fit in guest RAM between 1 MiB and the MMIO hole";
			continue;
		}
		if (k->nsegments == KERNEL_MAX_SEGMENTS) {
			segment_err = "too many loadable segments for a Linux kernel";
			continue;
		}
		k->segments[k->nsegments++] = (struct kernel_segment){
			.gpa = ph.p_paddr, .file_offset = ph.p_offset,
			.file_size = ph.p_filesz, .mem_size = ph.p_memsz,
		};
		if (ph.p_paddr + ph.p_memsz > k->end)
			k->end = ph.p_paddr + ph.p_memsz;
	}
	if (!have_entry) {
		msg = "an ELF kernel without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
		      "build it with CONFIG_PVH=y, or boot its bzImage";
		goto out;
	}
	if (segment_err) {
		msg = segment_err;
		goto out;
	}
	if (!k->nsegments) {
		msg = "an ELF kernel without loadable segments";
		goto out;
	}
	k->cmdline_max = LINUX_COMMAND_LINE_SIZE - 1;
	k->initrd_max = LAYOUT_MMIO_HOLE;
out:
	if (e)
		elf_end(e);
	return msg;
}

void pvh_write_start_info(struct vm *vm, const struct kernel_image *k,
			  const struct initrd_image *initrd, struct boot_entry *entry)
{
	uint64_t modlist_gpa = LAYOUT_PVH_START_INFO + sizeof(struct hvm_start_info);
	uint64_t memmap_gpa = modlist_gpa + sizeof(struct hvm_modlist_entry);
	struct hvm_start_info *si;
	struct hvm_modlist_entry *mod;
	struct hvm_memmap_table_entry *mm;
	struct boot_e820_entry map[BOOT_MAX_E820];
	unsigned int n, i;

	_Static_assert(LAYOUT_PVH_START_INFO + sizeof(struct hvm_start_info) +
		       sizeof(struct hvm_modlist_entry) +
		       BOOT_MAX_E820 * sizeof(struct hvm_memmap_table_entry) <= LAYOUT_PVH_INFO_END,
		       "the PVH start info fits its page");
	si = gpa_to_host(&vm->mem, LAYOUT_PVH_START_INFO, LAYOUT_PVH_INFO_END - LAYOUT_PVH_START_INFO);
	memset(si, 0, LAYOUT_PVH_INFO_END - LAYOUT_PVH_START_INFO);
	mod = (struct hvm_modlist_entry *)(si + 1);
	mm = (struct hvm_memmap_table_entry *)(mod + 1);

	si->magic = HVM_START_MAGIC;
	si->version = HVM_START_VERSION;
	si->cmdline_paddr = LAYOUT_CMDLINE;
	si->rsdp_paddr = LAYOUT_ACPI_TABLES;
	if (initrd) {
		mod->paddr = initrd->gpa;
		mod->size = initrd->size;
		si->nr_modules = 1;
		si->modlist_paddr = modlist_gpa;
	}
	n = boot_e820_map(vm, map);
	for (i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){
			.addr = map[i].addr, .size = map[i].size, .type = map[i].type,
		};
	si->memmap_paddr = memmap_gpa;
	si->memmap_entries = n;

	*entry = (struct boot_entry){
		.protected_mode32 = true,
		.rip = k->entry,
		.rbx = LAYOUT_PVH_START_INFO,
	};
}
