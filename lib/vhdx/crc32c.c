// SPDX-License-Identifier: MIT
/* CRC-32C, table-driven, one byte at a time: only headers are checksummed. */
#include <pthread.h>

#include "crc32c.h"

#define CRC32C_POLY_REFLECTED 0x82F63B78U

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_table_once = PTHREAD_ONCE_INIT;

static void crc32c_fill_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int bit = 0; bit < 8; bit++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		crc32c_table[i] = c;
	}
}

uint32_t crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xFFFFFFFFU;

	pthread_once(&crc32c_table_once, crc32c_fill_table);
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc ^ 0xFFFFFFFFU;
}
