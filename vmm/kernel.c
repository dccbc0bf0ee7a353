// SPDX-License-Identifier: MIT
/*
 * The kernel and initrd files: reading them, telling the formats apart,
 * checking that they fit the guest, and copying them into guest memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "layout.h"
#include "vmm.h"

static uint8_t *read_whole_file(const char *what, const char *path, size_t *size)
{
	struct stat st;
	uint8_t *data;
	size_t done = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("opening the %s %s", what, path);
	if (fstat(fd, &st) < 0)
		die_errno("reading the size of the %s %s", what, path);
	if (!S_ISREG(st.st_mode))
		die("%s: the %s is not a regular file", path, what);
	data = xcalloc(1, st.st_size ? st.st_size : 1);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("reading the %s %s", what, path);
		if (n == 0)
			die("%s: the %s shrank while being read", path, what);
		done += n;
	}
	close(fd);
	*size = done;
	return data;
}

void kernel_open(struct kernel_image *k, const char *path)
{
	static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
	const char *err;

	memset(k, 0, sizeof(*k));
	k->path = path;
	k->data = read_whole_file("kernel", path, &k->size);
	if (k->size >= sizeof(elf_magic) && !memcmp(k->data, elf_magic, sizeof(elf_magic))) {
		k->format = KERNEL_PVH_ELF;
		err = pvh_parse(k);
	} else {
		k->format = KERNEL_BZIMAGE;
		err = bzimage_parse(k);
	}
	if (err)
		die("%s: %s", path, err);
}

void kernel_close(struct kernel_image *k)
{
	free(k->data);
	k->data = NULL;
}

void initrd_open(struct initrd_image *initrd, const char *path)
{
	struct stat st;

	initrd->path = path;
	initrd->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (initrd->fd < 0)
		die_errno("opening the initrd %s", path);
	if (fstat(initrd->fd, &st) < 0)
		die_errno("reading the size of the initrd %s", path);
	if (!S_ISREG(st.st_mode))
		die("%s: the initrd is not a regular file", path);
	if (st.st_size == 0)
		die("%s: the initrd is empty", path);
	initrd->size = st.st_size;
}

static unsigned long long mib_up(uint64_t bytes)
{
	return (bytes + MiB - 1) / MiB;
}

void kernel_check_fit(struct kernel_image *k, struct initrd_image *initrd,
		      uint64_t mem_low_size, const char *cmdline)
{
	size_t cmdline_len = strlen(cmdline);
	uint64_t top;

	if (k->end > mem_low_size)
		die("%s: the kernel needs guest memory up to %llu MiB, but the guest has %llu MiB "
		    "below the MMIO hole (raise --memory)",
		    k->path, mib_up(k->end), (unsigned long long)(mem_low_size / MiB));
	if (cmdline_len > k->cmdline_max || cmdline_len >= LAYOUT_CMDLINE_MAX)
		die("%s: the kernel command line is %zu bytes, but this kernel takes at most %llu",
		    k->path, cmdline_len,
		    (unsigned long long)(k->cmdline_max < LAYOUT_CMDLINE_MAX - 1 ?
					 k->cmdline_max : LAYOUT_CMDLINE_MAX - 1));
	if (!initrd)
		return;

	/* The initrd goes as high as the kernel allows, page aligned. */
	top = mem_low_size;
	if (k->initrd_max && top > k->initrd_max)
		top = k->initrd_max;
	if (initrd->size > top || ((top - initrd->size) & ~0xfffULL) < k->end)
		die("%s: the initrd (%llu MiB) does not fit between the kernel's end at %llu MiB "
		    "and the highest address it may use, %llu MiB (raise --memory)",
		    initrd->path, mib_up(initrd->size), mib_up(k->end),
		    (unsigned long long)(top / MiB));
	initrd->gpa = (top - initrd->size) & ~0xfffULL;
}

static void load_initrd(struct vm *vm, const struct initrd_image *initrd)
{
	uint8_t *dst = gpa_to_host(&vm->mem, initrd->gpa, initrd->size);
	uint64_t done = 0;

	if (!dst)
		die("%s: the initrd's place at 0x%llx is not guest RAM", initrd->path,
		    (unsigned long long)initrd->gpa);
	while (done < initrd->size) {
		ssize_t n = pread(initrd->fd, dst + done, initrd->size - done, done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("reading the initrd %s", initrd->path);
		if (n == 0)
			die("%s: the initrd shrank while being read", initrd->path);
		done += n;
	}
}

void kernel_load(struct vm *vm, const struct kernel_image *k,
		 const struct initrd_image *initrd, struct boot_entry *entry)
{
	unsigned int i;
	char *cmdline_dst;

	for (i = 0; i < k->nsegments; i++) {
		const struct kernel_segment *s = &k->segments[i];
		uint8_t *dst = gpa_to_host(&vm->mem, s->gpa, s->mem_size);

		if (!dst)
			die("%s: segment at 0x%llx (%llu bytes) lies outside guest RAM", k->path,
			    (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
		memcpy(dst, k->data + s->file_offset, s->file_size);
		memset(dst + s->file_size, 0, s->mem_size - s->file_size);
	}
	if (initrd)
		load_initrd(vm, initrd);

	cmdline_dst = gpa_to_host(&vm->mem, LAYOUT_CMDLINE, vm->cmdline_len + 1);
	memcpy(cmdline_dst, vm->cmdline, vm->cmdline_len + 1);

	boot_write_gdt(vm);
	boot_write_page_tables(vm);
	acpi_write_tables(vm);
	if (k->format == KERNEL_BZIMAGE)
		bzimage_write_zero_page(vm, k, initrd, entry);
	else
		pvh_write_start_info(vm, k, initrd, entry);
}
