/* SPDX-License-Identifier: MIT */
/*
 * Direct kernel boot: a bzImage entered in 64-bit mode through the Linux
 * boot protocol, or an uncompressed vmlinux entered through its PVH note.
 *
 * Loading happens in two steps so that every mistake in the inputs is
 * reported before /dev/kvm is even opened: kernel_open() reads and checks
 * the kernel, kernel_check_fit() checks it against the guest's memory, the
 * initrd and the command line, and kernel_load() writes everything into
 * guest memory once it exists.
 */
#ifndef WSLVM_BOOT_H
#define WSLVM_BOOT_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

enum kernel_format {
	KERNEL_BZIMAGE,
	KERNEL_PVH_ELF,
};

/* A loadable piece of the kernel: bytes from the file and where they go. */
struct kernel_segment {
	uint64_t gpa;
	uint64_t file_offset;
	uint64_t file_size;
	uint64_t mem_size;	/* the rest up to mem_size is zeroed */
};

#define KERNEL_MAX_SEGMENTS 8

struct kernel_image {
	const char *path;
	enum kernel_format format;
	uint8_t *data;		/* the whole file */
	size_t size;
	unsigned int nsegments;
	struct kernel_segment segments[KERNEL_MAX_SEGMENTS];
	uint64_t entry;		/* guest-physical entry point */
	uint64_t end;		/* highest guest address the kernel needs, plus one */

	/* bzImage only */
	struct setup_header setup;
	uint64_t cmdline_max;	/* without the NUL */
	uint64_t initrd_max;	/* highest address the initrd may end at */
};

struct initrd_image {
	const char *path;
	int fd;
	uint64_t size;
	uint64_t gpa;		/* chosen by kernel_check_fit() */
};

/* Where the boot CPU starts. */
struct boot_entry {
	bool protected_mode32;	/* PVH: flat 32-bit, paging off */
	uint64_t rip;
	uint64_t rsi;		/* bzImage: the zero page */
	uint64_t rbx;		/* PVH: hvm_start_info */
};

void kernel_open(struct kernel_image *k, const char *path);
void kernel_close(struct kernel_image *k);
void initrd_open(struct initrd_image *initrd, const char *path);

/* Dies with a clear message when the kernel, initrd or command line cannot fit. */
void kernel_check_fit(struct kernel_image *k, struct initrd_image *initrd,
		      uint64_t mem_low_size, const char *cmdline);

void kernel_load(struct vm *vm, const struct kernel_image *k,
		 const struct initrd_image *initrd, struct boot_entry *entry);

/* The format checkers behind kernel_open(); they return an error or NULL. */
const char *bzimage_parse(struct kernel_image *k);
const char *pvh_parse(struct kernel_image *k);

void bzimage_write_zero_page(struct vm *vm, const struct kernel_image *k,
			     const struct initrd_image *initrd, struct boot_entry *entry);
void pvh_write_start_info(struct vm *vm, const struct kernel_image *k,
			  const struct initrd_image *initrd, struct boot_entry *entry);

/* The guest's memory map, in e820 terms (types E820_RAM 1, E820_RESERVED 2). */
#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2
#define BOOT_MAX_E820		8
unsigned int boot_e820_map(const struct vm *vm, struct boot_e820_entry *map);

/* Page tables and GDT for the boot CPU; the ACPI tables. */
void boot_write_page_tables(struct vm *vm);
void boot_write_gdt(struct vm *vm);
void acpi_write_tables(struct vm *vm);

/* GDT selectors, the boot protocol's __BOOT_CS and __BOOT_DS. */
#define BOOT_GDT_CODE64		0x10
#define BOOT_GDT_DATA		0x18
#define BOOT_GDT_CODE32		0x20
#define BOOT_GDT_TSS		0x28

#endif
