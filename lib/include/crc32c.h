/* SPDX-License-Identifier: MIT */
#ifndef CRC32C_H
#define CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of len bytes. */
uint32_t crc32c(const void *data, size_t len);

#endif
