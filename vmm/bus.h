/* SPDX-License-Identifier: MIT */
/*
 * I/O port and MMIO buses: devices register an address range with read and
 * write callbacks, and vCPU exits are dispatched to them by address.
 */
#ifndef WSLVM_BUS_H
#define WSLVM_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_device_ops {
	/* offset is from the start of the range; len is 1, 2, 4 or 8 */
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_device_ops *ops;
	void *opaque;
};

#define BUS_MAX_RANGES 32

struct bus {
	const char *name;
	unsigned int count;
	struct bus_range ranges[BUS_MAX_RANGES];
};

void bus_register(struct bus *bus, uint64_t base, uint64_t len,
		  const struct bus_device_ops *ops, void *opaque);

/* Returns false when nothing is there (reads then see all ones). */
bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len);

#endif
