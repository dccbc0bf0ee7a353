/* SPDX-License-Identifier: MIT */
/* vCPUs: one thread each, running KVM_RUN and dispatching exits to the buses. */
#ifndef WSLVM_VCPU_H
#define WSLVM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct vm;
struct boot_entry;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	atomic_bool check_halt;		/* look at the state after the next kick */
	bool halted;			/* stopped for good at the last look */
};

/* Creates every vCPU with its CPUID; the first one starts at the kernel's entry. */
void vcpus_create(struct vm *vm, const struct boot_entry *entry);
void vcpus_start(struct vm *vm);
/*
 * Ends the run when every vCPU has stopped for good (halted with
 * interrupts off, or never started): how Linux leaves the machine after a
 * power-off when it has no way to power off (no ACPI sleep support).  The
 * in-kernel APIC keeps HLT from ever reaching us, so the event loop kicks
 * the vCPUs twice a second to look.
 */
void vcpus_watch_halt(struct vm *vm);

/* Kicks every vCPU out of the guest and waits for its thread to end. */
void vcpus_stop(struct vm *vm);

/* CPUID for one vCPU, from what KVM supports (cpuid.c). */
void cpuid_init(struct vm *vm, struct vcpu *vcpu);

#endif
