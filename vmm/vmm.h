/* SPDX-License-Identifier: MIT */
/*
 * wslvm's core: the VM, its guest memory, its exit status, and the error
 * helpers every file uses.
 */
#ifndef WSLVM_VMM_H
#define WSLVM_VMM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bus.h"

/* wslvm's own exit status; the guest's verdict becomes one of these. */
enum wslvm_exit {
	EXIT_GUEST_POWER_OFF = 0,	/* the guest powered off cleanly */
	EXIT_VMM_ERROR = 1,		/* wslvm could not run the VM */
	EXIT_USAGE = 2,			/* bad command line */
	EXIT_GUEST_RESET = 3,		/* reset: a panic (panic=-1), a reboot */
	EXIT_GUEST_CRASH = 4,		/* triple fault or an unusable vCPU */
	EXIT_SIGNAL = 5,		/* stopped by SIGINT/SIGTERM */
};

__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
__attribute__((format(printf, 1, 2), noreturn)) void die_errno(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void pr_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void pr_warn_errno(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void pr_info(const char *fmt, ...);

void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
/* pthread_create with our stack size; dies saying it was starting WHAT. */
void xthread_create(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what);

/* Guest RAM: one host mapping, shown to the guest in one or two slots. */
struct guest_mem {
	uint8_t *host;
	uint64_t size;		/* all of it */
	uint64_t low_size;	/* how much sits below the MMIO hole */
	uint64_t page_size;	/* of the host mapping: the unit it can be freed in */
	bool hugepages;
};

void guest_mem_init(struct guest_mem *mem, uint64_t size, bool hugepages);

/*
 * The host address of guest-physical [gpa, gpa + len), or NULL when any of
 * it is not RAM.  Every access to guest memory on the guest's say-so goes
 * through here.
 */
void *gpa_to_host(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/*
 * Gives the host back the memory behind [host, host + len), a range inside
 * guest RAM, which the guest will next read as zeroes: the whole pages of
 * the mapping in it, whose bytes are returned (0 for a range outside guest
 * RAM or too small to hold one).  The _gpa form takes a guest address.
 */
uint64_t guest_mem_release(const struct guest_mem *mem, void *host, uint64_t len);
uint64_t guest_mem_release_gpa(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* The highest guest-physical address of RAM below the MMIO hole, plus one. */
static inline uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->low_size;
}

struct vcpu;
struct event_loop;

struct vm {
	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	unsigned int ncpus;
	struct vcpu *vcpus;
	struct bus pio;
	struct bus mmio;
	struct event_loop *loop;
	struct timespec start;		/* when wslvm started */
	bool print_boot_time;
	/* Announce virtio-mmio devices in the ACPI DSDT, not on the command line. */
	bool virtio_in_acpi;

	/* The kernel command line, as the devices add to it. */
	char *cmdline;
	size_t cmdline_len;

	/* The first verdict wins; the event loop then stops the VM. */
	pthread_mutex_t verdict_lock;
	bool has_verdict;
	int exit_code;
	int stop_fd;			/* eventfd the loop watches */
	int halt_timer_fd;		/* vcpus_watch_halt()'s timer */
	atomic_llong ready_us;		/* when the guest said it is up; 0: not yet */
};

void vm_create(struct vm *vm, uint64_t mem_size, unsigned int ncpus, bool hugepages);
void vm_cmdline_append(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Raise or lower an interrupt line of the in-kernel PIC and I/O APIC. */
void vm_irq_line(struct vm *vm, unsigned int irq, int level);

/* Ends the VM with an exit status; callable from any thread. */
void vm_stop(struct vm *vm, int exit_code, const char *why);

/*
 * The guest says it is up: the first call is the boot figure.  A write to
 * PORT_READY, or the guest's first vsock connection to the host, which a
 * kernel without CONFIG_X86_IOPL_IOPERM (no ioperm()) can still make.
 */
void vm_guest_ready(struct vm *vm, const char *how);

/* Milliseconds since wslvm started. */
double vm_elapsed_ms(const struct vm *vm);

#endif
