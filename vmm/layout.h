/* SPDX-License-Identifier: MIT */
/*
 * The guest's physical address space and I/O ports, named once.
 *
 * Low memory holds what the VMM writes before the first instruction runs;
 * RAM then runs from 1 MiB up to the MMIO hole below 4 GiB, and continues
 * above 4 GiB when the guest has more than fits below the hole.
 *
 *   0x0000_0500   GDT (boot code and data segments)
 *   0x0000_6000   PVH hvm_start_info, its module list and memory map
 *   0x0000_7000   zero page (struct boot_params) for the bzImage entry
 *   0x0000_8ff0   initial stack pointer
 *   0x0000_9000   page tables: PML4, PDPT, four PDs identity-mapping 4 GiB
 *   0x0002_0000   kernel command line
 *   0x0009_fc00   end of conventional RAM (reserved from here to 1 MiB)
 *   0x000e_0000   ACPI tables, RSDP first (where Linux scans for it)
 *   0x0010_0000   RAM: kernel, then free memory; the initrd sits at its top
 *   0xc000_0000   MMIO hole: virtio-mmio slots from 0xd000_0000
 *   0xfec0_0000   I/O APIC        0xfee0_0000   local APICs
 *   0xfffb_c000   KVM's identity-map page and TSS (Intel needs them)
 *   4 GiB         the rest of RAM, when there is more than 3 GiB
 */
#ifndef WSLVM_LAYOUT_H
#define WSLVM_LAYOUT_H

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define LAYOUT_GDT		0x500ULL
#define LAYOUT_PVH_START_INFO	0x6000ULL
#define LAYOUT_PVH_INFO_END	0x7000ULL
#define LAYOUT_ZERO_PAGE	0x7000ULL
#define LAYOUT_BOOT_STACK	0x8ff0ULL
#define LAYOUT_PML4		0x9000ULL
#define LAYOUT_PDPT		0xa000ULL
#define LAYOUT_PD		0xb000ULL	/* four pages, one per GiB */
#define LAYOUT_CMDLINE		0x20000ULL
#define LAYOUT_CMDLINE_MAX	0x10000ULL	/* bytes, with the NUL */
#define LAYOUT_LOW_RAM_END	0x9fc00ULL
#define LAYOUT_ACPI_TABLES	0xe0000ULL
#define LAYOUT_ACPI_END		0x100000ULL
#define LAYOUT_HIGH_RAM		0x100000ULL	/* 1 MiB */
#define LAYOUT_MMIO_HOLE	0xc0000000ULL	/* 3 GiB */
#define LAYOUT_MMIO_HOLE_END	0x100000000ULL	/* 4 GiB */
#define LAYOUT_VIRTIO_MMIO	0xd0000000ULL
#define LAYOUT_VIRTIO_MMIO_SLOT	0x1000ULL
#define LAYOUT_IOAPIC		0xfec00000ULL
#define LAYOUT_LAPIC		0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP	0xfffbc000ULL
#define LAYOUT_KVM_TSS		0xfffbd000ULL
#define LAYOUT_RAM_ABOVE_4G	0x100000000ULL

/* Smallest guest that can hold a kernel and an initramfs at all. */
#define LAYOUT_MIN_MEMORY	(64 * MiB)

/* I/O ports. */
#define PORT_I8042_DATA		0x60
#define PORT_I8042_CMD		0x64
#define PORT_COM1		0x3f8	/* eight registers */
#define PORT_READY		0x604	/* the guest init's "ready" byte */
#define PORT_ACPI_PM1A_EVT	0x620	/* ACPI PM1a event block: status, enable */
#define PORT_ACPI_PM1A_EVT_LEN	4
#define PORT_ACPI_PM1A_CNT	0x624	/* ACPI PM1a control block: power-off */
#define PORT_ACPI_PM1A_CNT_LEN	2

/* Interrupt lines (ISA numbering, the same on the PIC and the I/O APIC). */
#define IRQ_COM1		4
#define IOAPIC_PINS		24

#endif
