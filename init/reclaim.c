// SPDX-License-Identifier: MIT
/*
 * Memory given back when the VM is idle.  Free page reporting hands free
 * pages to the host, but Linux keeps every page it ever read as page
 * cache.  So when the CPUs have been (almost) idle for a while, the page
 * cache is trimmed, a step at a time (cgroup v2 memory.reclaim) or all at
 * once (drop_caches), and memory is compacted so whole 2 MiB blocks come
 * free for the balloon's reporting.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "reclaim.h"

uint64_t reclaim_step(uint64_t mem_total, uint64_t cached)
{
	uint64_t step = mem_total / RECLAIM_STEP_DIVISOR;

	if (step < RECLAIM_STEP_MIN)
		step = RECLAIM_STEP_MIN;
	if (step > RECLAIM_STEP_MAX)
		step = RECLAIM_STEP_MAX;
	/* A little cache stays: the next command's binaries live there. */
	if (cached <= RECLAIM_KEEP_CACHED)
		return 0;
	return step < cached - RECLAIM_KEEP_CACHED ? step : cached - RECLAIM_KEEP_CACHED;
}

bool reclaim_cpu_idle(uint64_t busy_delta, uint64_t total_delta)
{
	/* At most 0.5 % busy. */
	return total_delta && busy_delta * 1000 <= total_delta * 5;
}

static int read_cpu(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 5)
		return -1;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	*busy = *total - v[3] - v[4]; /* all but idle and iowait */
	return 0;
}

static uint64_t meminfo(const char *key)
{
	char line[128];
	unsigned long long kb = 0;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			sscanf(line + len + 1, "%llu", &kb);
			break;
		}
	fclose(f);
	return kb * 1024;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	/* memory.reclaim says EAGAIN when it could not free it all: that is fine. */
	if (write(fd, text, strlen(text)) < 0 && errno != EAGAIN)
		pr_init("%s: %s", path, strerror(errno));
	close(fd);
}

void reclaim_poll(const struct boot_config *boot)
{
	static uint64_t last_busy, last_total;
	static unsigned int idle_seconds;
	uint64_t busy, total, step;
	char text[32];

	if (boot->reclaim == RECLAIM_DISABLED || read_cpu(&busy, &total))
		return;
	if (last_total && reclaim_cpu_idle(busy - last_busy, total - last_total))
		idle_seconds++;
	else
		idle_seconds = 0;
	last_busy = busy;
	last_total = total;
	if (idle_seconds < boot->reclaim_idle_seconds ||
	    (idle_seconds - boot->reclaim_idle_seconds) % RECLAIM_INTERVAL_SECONDS)
		return;
	if (boot->reclaim == RECLAIM_DROPCACHE) {
		/* Once per idle period. */
		if (idle_seconds != boot->reclaim_idle_seconds)
			return;
		write_text("/proc/sys/vm/drop_caches", "1");
	} else {
		step = reclaim_step(meminfo("MemTotal"), meminfo("Cached"));
		if (!step)
			return;
		snprintf(text, sizeof(text), "%llu", (unsigned long long)step);
		write_text("/sys/fs/cgroup/memory.reclaim", text);
	}
	write_text("/proc/sys/vm/compact_memory", "1");
}
