// SPDX-License-Identifier: MIT
/* Messages and the progress line shared by every subcommand. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "mkwslimage.h"

const char *builder_prog = "mkwslimage";

void pr_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", builder_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void pr_info(const char *fmt, ...)
{
	va_list ap;

	if (!isatty(STDERR_FILENO))
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void human_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes;
	unsigned int u = 0;

	while (v >= 1024 && u < sizeof(units) / sizeof(units[0]) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void progress_draw(struct progress *p)
{
	char done[32], total[32];

	human_size(done, sizeof(done), p->done);
	if (p->total) {
		human_size(total, sizeof(total), p->total);
		fprintf(stderr, "\r%s %3u%% %s/%s\033[K", p->label,
			(unsigned int)(p->done * 100 / p->total), done, total);
	} else {
		fprintf(stderr, "\r%s %s\033[K", p->label, done);
	}
}

void progress_start(struct progress *p, const char *label, uint64_t total)
{
	p->label = label;
	p->total = total;
	p->done = 0;
	p->last_draw_ns = 0;
	p->enabled = isatty(STDERR_FILENO);
}

void progress_update(struct progress *p, uint64_t done)
{
	uint64_t now;

	p->done = done;
	if (!p->enabled)
		return;
	now = now_ns();
	if (now - p->last_draw_ns < 100000000)
		return;
	p->last_draw_ns = now;
	progress_draw(p);
}

void progress_end(struct progress *p)
{
	if (!p->enabled)
		return;
	if (p->total)
		p->done = p->total;
	progress_draw(p);
	fputc('\n', stderr);
}
