// SPDX-License-Identifier: MIT
/*
 * CPUID: what KVM supports on this host (which includes its own
 * 0x4000000x leaves: the "KVMKVMKVM" signature and kvmclock and the other
 * paravirtual features), with the per-vCPU topology filled in and the
 * "running under a hypervisor" bit set.  KVM leaves the TSC-deadline timer
 * out of what it reports, because it is a property of the in-kernel local
 * APIC: we add it when KVM has it, or the guest programs its timer through
 * the APIC's initial-count register instead, and falls back to the PIT for
 * its broadcast tick (QEMU and Firecracker add it too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vcpu.h"
#include "vmm.h"

#define CPUID_1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_EDX_HTT		(1u << 28)

static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	unsigned int nent = 64;
	struct kvm_cpuid2 *cpuid;

	for (;;) {
		cpuid = xcalloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		cpuid->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return cpuid;
		free(cpuid);
		if (errno != E2BIG || nent >= 4096)
			die_errno("reading the CPUID leaves KVM supports");
		nent *= 2;
	}
}

/* Bits of an x2APIC ID that count the vCPUs, for the topology leaves. */
static unsigned int id_bits(unsigned int ncpus)
{
	unsigned int bits = 0;

	while ((1u << bits) < ncpus)
		bits++;
	return bits;
}

void cpuid_init(struct vm *vm, struct vcpu *vcpu)
{
	static struct kvm_cpuid2 *supported;
	static bool tsc_deadline;
	struct kvm_cpuid2 *cpuid;
	unsigned int i;
	size_t size;

	if (!supported) {
		supported = supported_cpuid(vm->kvm_fd);
		tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				     KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	}
	size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	cpuid = xcalloc(1, size);
	memcpy(cpuid, supported, size);

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC ID, logical processor count. */
			e->ebx = (e->ebx & 0xffff) | (vm->ncpus << 16) | (vcpu->id << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			if (vm->ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0xb:
		case 0x1f:
			/* Every vCPU a core of its own: level 0 SMT, level 1 core. */
			e->edx = vcpu->id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1 << 8;
			} else if (e->index == 1) {
				e->eax = id_bits(vm->ncpus);
				e->ebx = vm->ncpus;
				e->ecx = 1 | 2 << 8;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		}
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0)
		die_errno("setting the CPUID of vCPU %u", vcpu->id);
	free(cpuid);
}
