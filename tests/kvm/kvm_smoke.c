// SPDX-License-Identifier: MIT
/*
 * KVM smoke test: proves /dev/kvm works where the suite runs (directly, or
 * inside the nested-KVM rig).  It builds the smallest possible VM by hand
 * with the raw KVM API: one page of guest memory holding a few real-mode
 * instructions that write two bytes to I/O ports and halt, and checks that
 * the host sees exactly those exits, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#define GUEST_CODE_ADDR 0x1000
#define GUEST_MEM_SIZE	0x2000
#define PORT_HELLO	0x10
#define PORT_ANSWER	0x11

/*
 * Real-mode guest:
 *	mov al, 'K'	; b0 4b
 *	out 0x10, al	; e6 10
 *	mov al, 42	; b0 2a
 *	out 0x11, al	; e6 11
 *	hlt		; f4
 */
static const uint8_t guest_code[] = {
	0xb0, 'K', 0xe6, PORT_HELLO, 0xb0, 42, 0xe6, PORT_ANSWER, 0xf4,
};

struct tiny_vm {
	int kvm, vm, vcpu;
	void *mem;
	struct kvm_run *run;
	size_t run_size;
};

static int vm_setup(void **state)
{
	static struct tiny_vm t;

	t.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (t.kvm < 0) {
		print_error("cannot open /dev/kvm: %s\n", strerror(errno));
		return -1;
	}
	*state = &t;
	return 0;
}

static int vm_teardown(void **state)
{
	struct tiny_vm *t = *state;

	if (t->run)
		munmap(t->run, t->run_size);
	if (t->mem)
		munmap(t->mem, GUEST_MEM_SIZE);
	if (t->vcpu > 0)
		close(t->vcpu);
	if (t->vm > 0)
		close(t->vm);
	close(t->kvm);
	return 0;
}

static void test_api_version(void **state)
{
	struct tiny_vm *t = *state;

	assert_int_equal(ioctl(t->kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	assert_true(ioctl(t->kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0);
}

static void create_vm(struct tiny_vm *t)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM_SIZE,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = GUEST_CODE_ADDR,
		.rflags = 0x2, /* bit 1 is reserved and must be set */
	};
	int run_size;

	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	assert_true(t->vm >= 0);

	t->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(t->mem != MAP_FAILED);
	memcpy((char *)t->mem + GUEST_CODE_ADDR, guest_code, sizeof(guest_code));
	region.userspace_addr = (uintptr_t)t->mem;
	assert_int_equal(ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &region), 0);

	t->vcpu = ioctl(t->vm, KVM_CREATE_VCPU, 0);
	assert_true(t->vcpu >= 0);
	run_size = ioctl(t->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	assert_true(run_size >= (int)sizeof(struct kvm_run));
	t->run_size = run_size;
	t->run = mmap(NULL, t->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, t->vcpu, 0);
	assert_true(t->run != MAP_FAILED);

	/* Flat real mode: CS base 0, so rip is the physical address. */
	assert_int_equal(ioctl(t->vcpu, KVM_GET_SREGS, &sregs), 0);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	assert_int_equal(ioctl(t->vcpu, KVM_SET_SREGS, &sregs), 0);
	assert_int_equal(ioctl(t->vcpu, KVM_SET_REGS, &regs), 0);
}

static void expect_port_write(struct tiny_vm *t, uint16_t port, uint8_t value)
{
	const uint8_t *data;

	assert_int_equal(ioctl(t->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(t->run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(t->run->io.direction, KVM_EXIT_IO_OUT);
	assert_int_equal(t->run->io.port, port);
	assert_int_equal(t->run->io.size, 1);
	assert_int_equal(t->run->io.count, 1);
	data = (const uint8_t *)t->run + t->run->io.data_offset;
	assert_int_equal(*data, value);
}

static void test_guest_writes_ports_then_halts(void **state)
{
	struct tiny_vm *t = *state;
	struct kvm_regs regs;

	create_vm(t);
	expect_port_write(t, PORT_HELLO, 'K');
	expect_port_write(t, PORT_ANSWER, 42);

	assert_int_equal(ioctl(t->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(t->run->exit_reason, KVM_EXIT_HLT);

	/* The vCPU stopped right after the hlt, with al still holding 42. */
	assert_int_equal(ioctl(t->vcpu, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rip, GUEST_CODE_ADDR + sizeof(guest_code));
	assert_int_equal(regs.rax & 0xff, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_version),
		cmocka_unit_test(test_guest_writes_ports_then_halts),
	};

	return cmocka_run_group_tests_name("kvm_smoke", tests, vm_setup, vm_teardown);
}
