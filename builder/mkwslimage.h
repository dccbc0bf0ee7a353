/* SPDX-License-Identifier: MIT */
#ifndef MKWSLIMAGE_H
#define MKWSLIMAGE_H

#include <stdarg.h>
#include <stdint.h>

/*
 * A subcommand of mkwslimage.  Each lives in its own file and registers
 * itself with one BUILDER_COMMAND() line; main() finds them all through
 * the linker section they are placed in.
 */
struct builder_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

#define BUILDER_COMMAND(id, cmd_name, cmd_summary, fn)                          \
	static const struct builder_command builder_command_##id                \
		__attribute__((used, section("builder_commands"),               \
			       aligned(__alignof__(struct builder_command)))) = { \
			.name = cmd_name, .summary = cmd_summary, .run = fn,   \
		}

/* "mkwslimage <command>: <message>" on stderr. */
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The subcommand being run, for messages ("mkwslimage disk"). */
extern const char *builder_prog;

/*
 * A progress line on a terminal ("label  42% 1.2 GiB/2.9 GiB"), redrawn at
 * most a few times a second; silent when stderr is not a terminal.
 */
struct progress {
	const char *label;
	uint64_t total;	  /* 0 when unknown: only the count is shown */
	uint64_t done;
	uint64_t last_draw_ns;
	int enabled;
};

void progress_start(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);

#endif
