// SPDX-License-Identifier: MIT
/* libFuzzer target for the protocol decoder: make fuzz, then run build/fuzz/fuzz_proto. */
#include "decode_all.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_all(data, size);
	return 0;
}
