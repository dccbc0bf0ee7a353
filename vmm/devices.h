/* SPDX-License-Identifier: MIT */
/* The legacy PC devices: the console UART, the reset line, power-off, ready. */
#ifndef WSLVM_DEVICES_H
#define WSLVM_DEVICES_H

struct vm;

/* ACPI PM1 control register: SCI_EN, SLP_TYPx and SLP_EN. */
#define ACPI_PM1_SCI_EN		0x0001
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP_MASK	0x1c00
#define ACPI_PM1_SLP_EN		0x2000
#define ACPI_SLEEP_TYPE_S5	5
#define ACPI_SCI_IRQ		9

/*
 * An 8250/16550A UART on COM1 as the guest's console.  Bytes the guest
 * sends go to out_fd; bytes read from in_fd (when it is >= 0) reach the
 * guest.  A terminal on in_fd is put in raw mode until wslvm exits.
 */
void serial_init(struct vm *vm, int in_fd, int out_fd);

/* The i8042's reset line, the ACPI power-off registers and the ready port. */
void platform_init(struct vm *vm);

#endif
