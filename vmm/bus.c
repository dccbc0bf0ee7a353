// SPDX-License-Identifier: MIT
/* I/O port and MMIO buses: a registry of ranges, dispatched by address. */
#include <string.h>

#include "vmm.h"

void bus_register(struct bus *bus, uint64_t base, uint64_t len,
		  const struct bus_device_ops *ops, void *opaque)
{
	unsigned int i;

	for (i = 0; i < bus->count; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			die("registering %s range 0x%llx+0x%llx: overlaps 0x%llx+0x%llx",
			    bus->name, (unsigned long long)base, (unsigned long long)len,
			    (unsigned long long)r->base, (unsigned long long)r->len);
	}
	if (bus->count == BUS_MAX_RANGES)
		die("registering %s range 0x%llx: all %d slots are taken",
		    bus->name, (unsigned long long)base, BUS_MAX_RANGES);
	bus->ranges[bus->count++] = (struct bus_range){
		.base = base, .len = len, .ops = ops, .opaque = opaque,
	};
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned int i;

	for (i = 0; i < bus->count; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (addr >= r->base && addr - r->base + len <= r->len)
			return r;
	}
	return NULL;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r)
		return false;
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, data, len);
	return true;
}
