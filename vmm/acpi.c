// SPDX-License-Identifier: MIT
/*
 * The smallest ACPI that gives the guest what it cannot get otherwise:
 *
 *  - MADT: the vCPUs' local APICs and the I/O APIC, so Linux brings up
 *    every vCPU and routes interrupts through the I/O APIC;
 *  - FADT: the PM1a event and control blocks, the least ACPI hardware
 *    there is (Linux writes the control block to power off), already in
 *    ACPI mode (no SMI command port), and no i8042 or CMOS clock announced
 *    (Linux then skips probing them).  Not "hardware-reduced": Linux then
 *    drops the legacy PIC and with it the ISA interrupt numbers that the
 *    UART and the virtio-mmio command line use;
 *  - DSDT holding \_S5, which is what makes Linux offer power-off, and
 *    with --acpi-devices a "LNRO0005" device (virtio-mmio) per slot;
 *  - FACS, where the global lock lives.
 *
 * The RSDP sits at the start of the BIOS area, where Linux scans for it
 * when the boot protocol does not hand it over.
 */
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "devices.h"
#include "layout.h"
#include "virtio.h"
#include "vmm.h"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* over all of it */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;		/* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;		/* 1: byte */
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT of ACPI 6 is 276 bytes");

#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* set: there is no power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* set: there is no sleep button */
#define FADT_BOOT_VGA_ABSENT	(1u << 2)
#define FADT_BOOT_NO_CMOS_RTC	(1u << 5)

/* Firmware ACPI Control Structure: holds the global lock; no checksum. */
struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_facs) == 64, "the FACS is 64 bytes");

struct madt_lapic {
	uint8_t type;			/* 0 */
	uint8_t length;			/* 8 */
	uint8_t processor_id;
	uint8_t apic_id;
	uint32_t flags;			/* 1: enabled */
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type;			/* 1 */
	uint8_t length;			/* 12 */
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

#define MADT_PCAT_COMPAT	1	/* there are also two 8259 PICs */

/*
 * In AML: Name (_S5, Package () { 5, 0 }).  Sleep type 5 is what the guest
 * writes to PM1a control's SLP_TYP field to power off.
 */
static const uint8_t aml_s5[] = {
	0x08, '_', 'S', '5', '_',	/* NameOp, "_S5_" */
	0x12, 0x05, 0x02,		/* PackageOp, length 5, 2 elements */
	0x0a, ACPI_SLEEP_TYPE_S5,	/* BytePrefix 5 */
	0x00,				/* ZeroOp */
};

#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_STRING_PREFIX	0x0d
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after the prefix */
#define DSDT_MAX_BODY		4096

/* AML being written into a fixed buffer. */
struct aml {
	uint8_t buf[DSDT_MAX_BODY];
	size_t len;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->len + n > sizeof(a->buf))
		die("the ACPI DSDT outgrew its %d bytes", DSDT_MAX_BODY);
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_u32(struct aml *a, uint32_t v)
{
	aml_bytes(a, &v, 4);
}

/*
 * Wraps everything written since start in a PkgLength, which counts its own
 * bytes: one byte up to 63, two (low nibble, then the rest) up to 4095.
 */
static void aml_close_pkg(struct aml *a, size_t start)
{
	size_t body = a->len - start;

	if (body + 1 < 64) {
		aml_byte(a, 0);
		memmove(a->buf + start + 1, a->buf + start, body);
		a->buf[start] = body + 1;
	} else {
		size_t len = body + 2;

		aml_byte(a, 0);
		aml_byte(a, 0);
		memmove(a->buf + start + 2, a->buf + start, body);
		a->buf[start] = 0x40 | (len & 0x0f);
		a->buf[start + 1] = len >> 4;
	}
}

/* Device (VRnn) { _HID "LNRO0005", _UID n, _CRS { Memory32Fixed, Interrupt } } */
static void aml_virtio_mmio_device(struct aml *a, unsigned int n, uint32_t base, uint32_t irq)
{
	static const uint8_t hid[] = "LNRO0005";
	size_t dev_start, crs_start;
	char name[5];

	snprintf(name, sizeof(name), "VR%02u", n % 100);
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	dev_start = a->len;
	aml_bytes(a, name, 4);

	aml_byte(a, AML_NAME_OP);
	aml_bytes(a, "_HID", 4);
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, hid, sizeof(hid));		/* with its NUL */

	aml_byte(a, AML_NAME_OP);
	aml_bytes(a, "_UID", 4);
	aml_byte(a, AML_BYTE_PREFIX);
	aml_byte(a, n);

	aml_byte(a, AML_NAME_OP);
	aml_bytes(a, "_CRS", 4);
	aml_byte(a, AML_BUFFER_OP);
	crs_start = a->len;
	aml_byte(a, AML_BYTE_PREFIX);
	aml_byte(a, 12 + 9 + 2);		/* the three descriptors below */
	/* Memory32Fixed, read-write */
	aml_byte(a, 0x86);
	aml_byte(a, 9);
	aml_byte(a, 0);
	aml_byte(a, 1);
	aml_u32(a, base);
	aml_u32(a, LAYOUT_VIRTIO_MMIO_SLOT);
	/* Extended Interrupt: consumer, edge, active high, one line */
	aml_byte(a, 0x89);
	aml_byte(a, 6);
	aml_byte(a, 0);
	aml_byte(a, 0x03);
	aml_byte(a, 1);
	aml_u32(a, irq);
	/* End tag, no checksum */
	aml_byte(a, 0x79);
	aml_byte(a, 0);
	aml_close_pkg(a, crs_start);

	aml_close_pkg(a, dev_start);
}

static void aml_build_dsdt(struct vm *vm, struct aml *a)
{
	unsigned int i, n = virtio_mmio_count();
	size_t scope_start;

	aml_bytes(a, aml_s5, sizeof(aml_s5));
	if (!vm->virtio_in_acpi || !n)
		return;
	aml_byte(a, AML_SCOPE_OP);
	scope_start = a->len;
	aml_bytes(a, "_SB_", 4);
	for (i = 0; i < n; i++) {
		const struct virtio_dev *dev = virtio_mmio_device(i);

		aml_virtio_mmio_device(a, i, dev->base, dev->irq);
	}
	aml_close_pkg(a, scope_start);
}

static uint8_t acpi_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static void acpi_header_init(struct acpi_header *h, const char *signature,
			     uint32_t length, uint8_t revision)
{
	memcpy(h->signature, signature, 4);
	h->length = length;
	h->revision = revision;
	memcpy(h->oem_id, "OPNWSL", 6);
	memcpy(h->oem_table_id, "WSLVM   ", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "WSLV", 4);
	h->creator_revision = 1;
}

static void acpi_finish(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

/* A bump allocator over the table area; the RSDP needs 16-byte alignment. */
struct acpi_area {
	struct vm *vm;
	uint64_t next;
};

static void *acpi_alloc_aligned(struct acpi_area *a, size_t len, uint64_t align, uint64_t *gpa)
{
	void *p;

	a->next = (a->next + align - 1) & ~(align - 1);
	*gpa = a->next;
	if (a->next + len > LAYOUT_ACPI_END)
		die("the ACPI tables do not fit below 1 MiB (%u vCPUs)", a->vm->ncpus);
	p = gpa_to_host(&a->vm->mem, a->next, len);
	memset(p, 0, len);
	a->next += len;
	return p;
}

static void *acpi_alloc(struct acpi_area *a, size_t len, uint64_t *gpa)
{
	return acpi_alloc_aligned(a, len, 16, gpa);
}

static uint64_t acpi_write_facs(struct acpi_area *a)
{
	uint64_t gpa;
	struct acpi_facs *facs = acpi_alloc_aligned(a, sizeof(*facs), 64, &gpa);

	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;
	return gpa;
}

static uint64_t acpi_write_madt(struct acpi_area *a)
{
	unsigned int ncpus = a->vm->ncpus, i;
	size_t len = sizeof(struct acpi_header) + 8 + ncpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic);
	uint64_t gpa;
	uint8_t *madt = acpi_alloc(a, len, &gpa);
	uint32_t lapic = LAYOUT_LAPIC, flags = MADT_PCAT_COMPAT;
	uint8_t *p = madt + sizeof(struct acpi_header);
	struct madt_ioapic *io;

	acpi_header_init((struct acpi_header *)madt, "APIC", len, 5);
	memcpy(p, &lapic, 4);
	memcpy(p + 4, &flags, 4);
	p += 8;
	for (i = 0; i < ncpus; i++, p += sizeof(struct madt_lapic))
		*(struct madt_lapic *)p = (struct madt_lapic){
			.type = 0, .length = sizeof(struct madt_lapic),
			.processor_id = i, .apic_id = i, .flags = 1,
		};
	io = (struct madt_ioapic *)p;
	*io = (struct madt_ioapic){
		.type = 1, .length = sizeof(*io),
		.ioapic_id = ncpus,	/* after the local APICs' IDs */
		.address = LAYOUT_IOAPIC, .gsi_base = 0,
	};
	acpi_finish((struct acpi_header *)madt);
	return gpa;
}

static uint64_t acpi_write_dsdt(struct acpi_area *a)
{
	static struct aml body;
	size_t len;
	uint64_t gpa;
	uint8_t *dsdt;

	body.len = 0;
	aml_build_dsdt(a->vm, &body);
	len = sizeof(struct acpi_header) + body.len;
	dsdt = acpi_alloc(a, len, &gpa);
	acpi_header_init((struct acpi_header *)dsdt, "DSDT", len, 2);
	memcpy(dsdt + sizeof(struct acpi_header), body.buf, body.len);
	acpi_finish((struct acpi_header *)dsdt);
	return gpa;
}

static uint64_t acpi_write_fadt(struct acpi_area *a, uint64_t dsdt, uint64_t facs)
{
	uint64_t gpa;
	struct acpi_fadt *f = acpi_alloc(a, sizeof(*f), &gpa);

	acpi_header_init(&f->h, "FACP", sizeof(*f), 6);
	f->x_dsdt = dsdt;
	f->x_firmware_ctrl = facs;
	/* We never raise the SCI, but Linux claims its line: keep it apart. */
	f->sci_int = ACPI_SCI_IRQ;
	f->flags = FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON;
	/* No 8042 bit: Linux leaves the keyboard controller alone. */
	f->iapc_boot_arch = FADT_BOOT_VGA_ABSENT | FADT_BOOT_NO_CMOS_RTC;
	f->pm1a_evt_blk = PORT_ACPI_PM1A_EVT;
	f->pm1_evt_len = PORT_ACPI_PM1A_EVT_LEN;
	f->pm1a_cnt_blk = PORT_ACPI_PM1A_CNT;
	f->pm1_cnt_len = PORT_ACPI_PM1A_CNT_LEN;
	f->x_pm1a_evt_blk = (struct acpi_gas){
		.space_id = 1, .bit_width = 8 * PORT_ACPI_PM1A_EVT_LEN, .access_size = 2,
		.address = PORT_ACPI_PM1A_EVT,
	};
	f->x_pm1a_cnt_blk = (struct acpi_gas){
		.space_id = 1, .bit_width = 8 * PORT_ACPI_PM1A_CNT_LEN, .access_size = 2,
		.address = PORT_ACPI_PM1A_CNT,
	};
	memcpy(&f->hypervisor_vendor_id, "OPENWSL", 8);
	acpi_finish(&f->h);
	return gpa;
}

void acpi_write_tables(struct vm *vm)
{
	struct acpi_area a = { .vm = vm, .next = LAYOUT_ACPI_TABLES };
	uint64_t rsdp_gpa, xsdt_gpa, facs, dsdt, fadt, madt;
	struct acpi_rsdp *rsdp = acpi_alloc(&a, sizeof(*rsdp), &rsdp_gpa);
	size_t xsdt_len = sizeof(struct acpi_header) + 2 * sizeof(uint64_t);
	uint8_t *xsdt = acpi_alloc(&a, xsdt_len, &xsdt_gpa);
	uint64_t entries[2];

	facs = acpi_write_facs(&a);
	dsdt = acpi_write_dsdt(&a);
	fadt = acpi_write_fadt(&a, dsdt, facs);
	madt = acpi_write_madt(&a);

	acpi_header_init((struct acpi_header *)xsdt, "XSDT", xsdt_len, 1);
	entries[0] = fadt;
	entries[1] = madt;
	memcpy(xsdt + sizeof(struct acpi_header), entries, sizeof(entries));
	acpi_finish((struct acpi_header *)xsdt);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "OPNWSL", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_gpa;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));
}
