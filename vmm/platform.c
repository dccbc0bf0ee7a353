// SPDX-License-Identifier: MIT
/*
 * The ports that end a run or time it:
 *
 *  - the i8042's command port, whose command 0xfe pulses the CPU reset
 *    line: Linux uses it to reboot (reboot=k) and, with panic=-1, right
 *    after a panic.  wslvm never reboots a guest: a reset ends the run
 *    with EXIT_GUEST_RESET.  The FADT tells Linux there is no i8042, so
 *    nothing else is emulated.
 *  - the ACPI PM1a control register: sleep type S5 with SLP_EN is a clean
 *    power-off, EXIT_GUEST_POWER_OFF.  It reads back SCI_EN, "in ACPI
 *    mode", and the PM1a event block beside it reads as all clear.
 *  - the ready port: the guest init writes any byte to it once it is up;
 *    the first write (or the guest's first vsock connection to the host,
 *    whichever comes first: see vm_guest_ready()) is the boot figure that
 *    --boot-time prints.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "layout.h"
#include "vmm.h"

#define I8042_CMD_RESET_CPU	0xfe

static void i8042_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	/* Status: input and output buffers empty; data: nothing. */
	memset(data, 0, len);
}

static void i8042_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct vm *vm = opaque;

	if (*(const uint8_t *)data == I8042_CMD_RESET_CPU)
		vm_stop(vm, EXIT_GUEST_RESET,
			"the guest reset the machine (a reboot, or a panic with panic=-1)");
}

static const struct bus_device_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

/*
 * PM1 event block: status (never set: no events happen) and enable, which
 * must read back what the guest wrote, or ACPI thinks its events are broken.
 */
static _Atomic uint16_t pm1_enable;

static void acpi_pm1_evt_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	uint8_t regs[4] = { 0 };
	uint16_t en = atomic_load(&pm1_enable);

	memcpy(regs + 2, &en, 2);
	memset(data, 0, len);
	if (offset < sizeof(regs))
		memcpy(data, regs + offset, len < sizeof(regs) - offset ? len : sizeof(regs) - offset);
}

static void acpi_pm1_evt_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	uint16_t en = atomic_load(&pm1_enable);

	if (offset == 2 && len >= 2)
		memcpy(&en, data, 2);
	else if (offset == 2)
		en = (en & 0xff00) | *(const uint8_t *)data;
	else if (offset == 3)
		en = (en & 0x00ff) | *(const uint8_t *)data << 8;
	atomic_store(&pm1_enable, en);
}

static const struct bus_device_ops acpi_pm1_evt_ops = {
	.read = acpi_pm1_evt_read,
	.write = acpi_pm1_evt_write,
};

static void acpi_pm1_cnt_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	uint16_t v = ACPI_PM1_SCI_EN;

	memset(data, 0, len);
	memcpy(data, (uint8_t *)&v + offset, len < 2 - offset ? len : 2 - offset);
}

static void acpi_pm1_cnt_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct vm *vm = opaque;
	uint16_t v = 0;
	unsigned int type;

	/* SLP_EN and SLP_TYP live in the high byte. */
	if (offset == 0 && len >= 2)
		memcpy(&v, data, 2);
	else if (offset == 1)
		v = *(const uint8_t *)data << 8;
	if (!(v & ACPI_PM1_SLP_EN))
		return;
	type = (v & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
	if (type == ACPI_SLEEP_TYPE_S5)
		vm_stop(vm, EXIT_GUEST_POWER_OFF, NULL);
	else
		pr_warn("the guest asked for ACPI sleep type %u; only S5 (power-off) exists", type);
}

static const struct bus_device_ops acpi_pm1_cnt_ops = {
	.read = acpi_pm1_cnt_read,
	.write = acpi_pm1_cnt_write,
};

void vm_guest_ready(struct vm *vm, const char *how)
{
	double ms = vm_elapsed_ms(vm);
	long long none = 0;

	/* The first signal is the figure; 1 us at the least, so never "not yet". */
	if (!atomic_compare_exchange_strong(&vm->ready_us, &none, (long long)(ms * 1000) + 1))
		return;
	if (vm->print_boot_time)
		pr_info("boot time: %.1f ms from start to the guest's ready signal (%s)", ms, how);
}

static void ready_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	vm_guest_ready(opaque, "port 0x604");
}

static const struct bus_device_ops ready_ops = {
	.write = ready_write,
};

void platform_init(struct vm *vm)
{
	bus_register(&vm->pio, PORT_I8042_DATA, 1, &i8042_ops, vm);
	bus_register(&vm->pio, PORT_I8042_CMD, 1, &i8042_ops, vm);
	bus_register(&vm->pio, PORT_ACPI_PM1A_EVT, PORT_ACPI_PM1A_EVT_LEN, &acpi_pm1_evt_ops, vm);
	bus_register(&vm->pio, PORT_ACPI_PM1A_CNT, PORT_ACPI_PM1A_CNT_LEN, &acpi_pm1_cnt_ops, vm);
	bus_register(&vm->pio, PORT_READY, 1, &ready_ops, vm);
	/* How the guest should end: reset through the i8042, at once on panic. */
	vm_cmdline_append(vm, "reboot=k panic=-1");
}
