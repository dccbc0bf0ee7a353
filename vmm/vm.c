// SPDX-License-Identifier: MIT
/*
 * The VM: /dev/kvm, guest memory slots, the in-kernel interrupt controllers
 * and PIT, the kernel command line, and the verdict that ends the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "layout.h"
#include "vmm.h"

static void vm_check_extension(struct vm *vm, int cap, const char *name)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0)
		die("/dev/kvm lacks %s, which wslvm needs", name);
}

static void vm_add_memory_slot(struct vm *vm, uint32_t slot, uint64_t gpa,
			       uint64_t size, void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("giving the guest %llu MiB of RAM at 0x%llx",
			  (unsigned long long)(size / MiB), (unsigned long long)gpa);
}

void vm_create(struct vm *vm, uint64_t mem_size, unsigned int ncpus, bool hugepages)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity_map = LAYOUT_KVM_IDENTITY_MAP;
	int max_cpus;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		die_errno("opening /dev/kvm");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("/dev/kvm speaks KVM API version %d, wslvm needs %d",
		    ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	vm_check_extension(vm, KVM_CAP_IRQCHIP, "an in-kernel irqchip (KVM_CAP_IRQCHIP)");
	vm_check_extension(vm, KVM_CAP_IOEVENTFD, "ioeventfd (KVM_CAP_IOEVENTFD)");
	vm_check_extension(vm, KVM_CAP_IRQFD, "irqfd (KVM_CAP_IRQFD)");
	vm_check_extension(vm, KVM_CAP_PIT2, "an in-kernel PIT (KVM_CAP_PIT2)");
	vm_check_extension(vm, KVM_CAP_USER_MEMORY, "user memory (KVM_CAP_USER_MEMORY)");

	max_cpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_cpus <= 0)
		max_cpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_cpus > 0 && ncpus > (unsigned int)max_cpus)
		die("--cpus %u: this host's KVM allows at most %d vCPUs", ncpus, max_cpus);

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		die_errno("creating the VM (KVM_CREATE_VM)");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, LAYOUT_KVM_TSS) < 0)
		die_errno("placing KVM's TSS at 0x%llx", LAYOUT_KVM_TSS);
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0)
		die_errno("placing KVM's identity map at 0x%llx", LAYOUT_KVM_IDENTITY_MAP);
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die_errno("creating the in-kernel PIC, I/O APIC and local APICs");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		die_errno("creating the in-kernel PIT");

	guest_mem_init(&vm->mem, mem_size, hugepages);
	vm_add_memory_slot(vm, 0, 0, vm->mem.low_size, vm->mem.host);
	if (vm->mem.size > vm->mem.low_size)
		vm_add_memory_slot(vm, 1, LAYOUT_RAM_ABOVE_4G, vm->mem.size - vm->mem.low_size,
				   vm->mem.host + vm->mem.low_size);

	vm->ncpus = ncpus;
	vm->pio.name = "I/O port";
	vm->mmio.name = "MMIO";
	pthread_mutex_init(&vm->verdict_lock, NULL);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0)
		die_errno("creating the VM's stop eventfd");
}

void vm_cmdline_append(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	char *piece, *joined;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&piece, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory building the kernel command line");
	if (asprintf(&joined, "%s%s%s", vm->cmdline ? vm->cmdline : "",
		     vm->cmdline && *vm->cmdline ? " " : "", piece) < 0)
		die("out of memory building the kernel command line");
	free(piece);
	free(vm->cmdline);
	vm->cmdline = joined;
	vm->cmdline_len = strlen(joined);
}

void vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level line = { .irq = irq, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &line) < 0)
		pr_warn_errno("setting interrupt line %u to %d", irq, level);
}

void vm_stop(struct vm *vm, int exit_code, const char *why)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->verdict_lock);
	if (!vm->has_verdict) {
		vm->has_verdict = true;
		vm->exit_code = exit_code;
		if (why && exit_code != EXIT_GUEST_POWER_OFF)
			pr_info("%s", why);
	}
	pthread_mutex_unlock(&vm->verdict_lock);
	if (write(vm->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_errno("waking the event loop to stop the VM");
}

double vm_elapsed_ms(const struct vm *vm)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - vm->start.tv_sec) * 1e3 +
	       (now.tv_nsec - vm->start.tv_nsec) / 1e6;
}
