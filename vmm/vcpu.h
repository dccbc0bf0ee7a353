/* SPDX-License-Identifier: MIT */
/* vCPUs: one thread each, running KVM_RUN and dispatching exits to the buses. */
#ifndef WSLVM_VCPU_H
#define WSLVM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
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
};

/* Creates every vCPU with its CPUID; the first one starts at the kernel's entry. */
void vcpus_create(struct vm *vm, const struct boot_entry *entry);
void vcpus_start(struct vm *vm);
/* Kicks every vCPU out of the guest and waits for its thread to end. */
void vcpus_stop(struct vm *vm);

/* CPUID for one vCPU, from what KVM supports (cpuid.c). */
void cpuid_init(struct vm *vm, struct vcpu *vcpu);

#endif
