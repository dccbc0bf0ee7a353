/* SPDX-License-Identifier: MIT */
#ifndef INIT_RECLAIM_H
#define INIT_RECLAIM_H

#include <stdbool.h>
#include <stdint.h>

/* The policy of reclaim.c, in numbers (WSL's autoMemoryReclaim, roughly). */
#define RECLAIM_STEP_DIVISOR	 32		 /* a step is RAM/32... */
#define RECLAIM_STEP_MIN	 (256ULL << 20)	 /* ...but at least 256 MiB... */
#define RECLAIM_STEP_MAX	 (1ULL << 30)	 /* ...and at most 1 GiB */
#define RECLAIM_KEEP_CACHED	 (128ULL << 20)	 /* page cache never trimmed below this */
#define RECLAIM_IDLE_SECONDS	 120		 /* idle this long before the first step */
#define RECLAIM_INTERVAL_SECONDS 30		 /* then a step this often */

/* How much page cache one step reclaims; 0 = leave it. */
uint64_t reclaim_step(uint64_t mem_total, uint64_t cached);
/* Were the CPUs idle enough over an interval with these /proc/stat deltas? */
bool reclaim_cpu_idle(uint64_t busy_delta, uint64_t total_delta);

#endif
