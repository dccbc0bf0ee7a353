// SPDX-License-Identifier: MIT
/*
 * vCPUs.  Each runs KVM_RUN on its own thread; port and MMIO exits go to
 * the buses right there, on the vCPU's thread.  The boot CPU starts at the
 * kernel's entry point in the mode its boot path wants; the others wait in
 * the in-kernel local APIC for the guest's INIT/SIPI, as on real hardware.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "boot.h"
#include "layout.h"
#include "loop.h"
#include "vcpu.h"
#include "vmm.h"

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_EFER_LME	(1ULL << 8)
#define X86_EFER_LMA	(1ULL << 10)

#define APIC_LVT_LINT0	0x350
#define APIC_LVT_LINT1	0x360
#define APIC_MODE_NMI	0x4
#define APIC_MODE_EXTINT 0x7

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define SIG_VCPU_KICK	SIGUSR1

#define X86_RFLAGS_IF	(1ULL << 9)
#define HALT_CHECK_NS	(500 * 1000 * 1000)

static atomic_bool vcpus_stopping;
static atomic_uint vcpus_halted;	/* how many are stopped for good */

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = !code64, .s = 1, .l = code64, .g = 1,
	};
}

static void vcpu_set_boot_sregs(struct vcpu *vcpu, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_segment data = flat_segment(BOOT_GDT_DATA, 0x3, false);

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		die_errno("reading the segment registers of vCPU %u", vcpu->id);
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = 6 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = (struct kvm_segment){
		.base = 0, .limit = 0x67, .selector = BOOT_GDT_TSS, .type = 0xb, .present = 1,
	};
	if (entry->protected_mode32) {
		sregs.cs = flat_segment(BOOT_GDT_CODE32, 0xb, false);
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
	} else {
		sregs.cs = flat_segment(BOOT_GDT_CODE64, 0xb, true);
		sregs.cr3 = LAYOUT_PML4;
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		die_errno("setting the boot segment registers of vCPU %u", vcpu->id);
}

static void vcpu_set_boot_regs(struct vcpu *vcpu, const struct boot_entry *entry)
{
	struct kvm_regs regs = {
		.rflags = 0x2,		/* bit 1 is reserved and always set */
		.rip = entry->rip,
		.rsp = LAYOUT_BOOT_STACK,
		.rbp = LAYOUT_BOOT_STACK,
		.rsi = entry->rsi,
		.rbx = entry->rbx,
	};

	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		die_errno("setting the boot registers of vCPU %u", vcpu->id);
}

static void vcpu_set_fpu(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = {
		.fcw = 0x37f,		/* the x87 control word after FNINIT */
		.mxcsr = 0x1f80,	/* SSE exceptions masked */
	};

	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		die_errno("setting the FPU state of vCPU %u", vcpu->id);
}

/*
 * LINT0 delivers the 8259's interrupts, LINT1 NMIs, as a BIOS would leave
 * them; Linux relies on that until it has set up the I/O APIC.
 */
static void vcpu_set_lapic_lints(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t lvt;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		die_errno("reading the local APIC of vCPU %u", vcpu->id);
	memcpy(&lvt, &lapic.regs[APIC_LVT_LINT0], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(&lapic.regs[APIC_LVT_LINT0], &lvt, 4);
	memcpy(&lvt, &lapic.regs[APIC_LVT_LINT1], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(&lapic.regs[APIC_LVT_LINT1], &lvt, 4);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		die_errno("setting the local APIC of vCPU %u", vcpu->id);
}

void vcpus_create(struct vm *vm, const struct boot_entry *entry)
{
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	unsigned int i;

	if (run_size < (int)sizeof(struct kvm_run))
		die_errno("reading the size of KVM's vCPU run area");
	vm->vcpus = xcalloc(vm->ncpus, sizeof(*vm->vcpus));
	for (i = 0; i < vm->ncpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		vcpu->vm = vm;
		vcpu->id = i;
		vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (vcpu->fd < 0)
			die_errno("creating vCPU %u", i);
		vcpu->run_size = run_size;
		vcpu->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
		if (vcpu->run == MAP_FAILED)
			die_errno("mapping the run area of vCPU %u", i);
		cpuid_init(vm, vcpu);
		vcpu_set_fpu(vcpu);
		vcpu_set_lapic_lints(vcpu);
		if (i == 0) {
			vcpu_set_boot_sregs(vcpu, entry);
			vcpu_set_boot_regs(vcpu, entry);
		}
	}
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&vcpu->vm->pio, run->io.port, data, run->io.size);
		else
			bus_read(&vcpu->vm->pio, run->io.port, data, run->io.size);
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	bool found;

	if (run->mmio.len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		found = bus_write(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
				  run->mmio.len);
	else
		found = bus_read(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
				 run->mmio.len);
	if (!found)
		pr_warn("vCPU %u: %s of %u bytes at 0x%llx, where there is no device", vcpu->id,
			run->mmio.is_write ? "write" : "read", run->mmio.len,
			(unsigned long long)run->mmio.phys_addr);
}

/* The vCPU's instruction, stack and page-fault address and page table, for a report. */
static void vcpu_where(struct vcpu *vcpu, char *buf, size_t size)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs)) {
		buf[0] = 0;
		return;
	}
	snprintf(buf, size, " at rip 0x%llx, rsp 0x%llx, cr2 0x%llx, cr3 0x%llx",
		 (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
		 (unsigned long long)sregs.cr2, (unsigned long long)sregs.cr3);
}

static void vcpu_report_crash(struct vcpu *vcpu, const char *what)
{
	char why[360], where[120];

	vcpu_where(vcpu, where, sizeof(where));
	snprintf(why, sizeof(why), "vCPU %u: %s%s", vcpu->id, what, where);
	vm_stop(vcpu->vm, EXIT_GUEST_CRASH, why);
}

/* Returns false when the vCPU is done. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[160];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: on a PC that resets the machine (KVM has reset the vCPU too). */
		vm_stop(vcpu->vm, EXIT_GUEST_RESET, "the guest triple-faulted (a reset)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_stop(vcpu->vm, EXIT_GUEST_POWER_OFF, NULL);
		} else {
			snprintf(why, sizeof(why), "the guest asked for system event %u (a reset)",
				 run->system_event.type);
			vm_stop(vcpu->vm, EXIT_GUEST_RESET, why);
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "KVM could not enter the guest (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_report_crash(vcpu, why);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM internal error, suberror %u",
			 run->internal.suberror);
		vcpu_report_crash(vcpu, why);
		return false;
	default:
		snprintf(why, sizeof(why), "unexpected KVM exit reason %u", run->exit_reason);
		vcpu_report_crash(vcpu, why);
		return false;
	}
}

/* On the vCPU's own thread, after a kick: has the guest stopped it for good? */
static void vcpu_check_halted(struct vcpu *vcpu)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	bool halted;

	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
		return;
	if (mp.mp_state == KVM_MP_STATE_HALTED)
		halted = ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0 && !(regs.rflags & X86_RFLAGS_IF);
	else
		halted = mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
			 mp.mp_state == KVM_MP_STATE_INIT_RECEIVED;
	if (halted != vcpu->halted) {
		vcpu->halted = halted;
		if (halted)
			atomic_fetch_add(&vcpus_halted, 1);
		else
			atomic_fetch_sub(&vcpus_halted, 1);
	}
	if (halted && atomic_load(&vcpus_halted) == vcpu->vm->ncpus)
		vm_stop(vcpu->vm, EXIT_GUEST_POWER_OFF, NULL);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load(&vcpus_stopping)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR && atomic_exchange(&vcpu->check_halt, false))
				vcpu_check_halted(vcpu);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pr_warn_errno("running vCPU %u", vcpu->id);
			vm_stop(vcpu->vm, EXIT_GUEST_CRASH, "a vCPU could not run");
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
}

void vcpus_start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	unsigned int i;

	/* No SA_RESTART: the kick must make KVM_RUN return. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_VCPU_KICK, &sa, NULL) < 0)
		die_errno("installing the vCPU kick signal handler");
	for (i = 0; i < vm->ncpus; i++) {
		char what[32];

		snprintf(what, sizeof(what), "the thread of vCPU %u", i);
		xthread_create(&vm->vcpus[i].thread, vcpu_thread, &vm->vcpus[i], what);
		vm->vcpus[i].started = true;
	}
}

static void vcpus_kick_to_check(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t expirations;
	unsigned int i;

	if (read(vm->halt_timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	for (i = 0; i < vm->ncpus; i++) {
		atomic_store(&vm->vcpus[i].check_halt, true);
		pthread_kill(vm->vcpus[i].thread, SIG_VCPU_KICK);
	}
}

void vcpus_watch_halt(struct vm *vm)
{
	struct itimerspec every = {
		.it_interval = { .tv_nsec = HALT_CHECK_NS },
		.it_value = { .tv_nsec = HALT_CHECK_NS },
	};

	vm->halt_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->halt_timer_fd < 0 || timerfd_settime(vm->halt_timer_fd, 0, &every, NULL) < 0)
		die_errno("creating the timer that watches for a halted guest");
	loop_add(vm->loop, vm->halt_timer_fd, EPOLLIN, vcpus_kick_to_check, vm);
}

void vcpus_stop(struct vm *vm)
{
	unsigned int i;

	atomic_store(&vcpus_stopping, true);
	for (i = 0; i < vm->ncpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		if (!vcpu->started)
			continue;
		/* immediate_exit covers a kick that lands just before KVM_RUN. */
		vcpu->run->immediate_exit = 1;
		pthread_kill(vcpu->thread, SIG_VCPU_KICK);
		pthread_join(vcpu->thread, NULL);
		vcpu->started = false;
	}
}
