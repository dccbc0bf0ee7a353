/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket, owner-only, through which a
 * host program stops the VM, reads its counters and drives devices (port
 * forwards, the balloon).  One request is one line of words; the answer is
 * any number of lines, then "ok" or "error: WHY".  See vmm/README.md.
 *
 * A device adds a command with one call:
 *
 *	control_command("forward", "add|remove|list ...", net_forward_cmd, net);
 *
 * and its counters with another; both run on the event loop's thread.
 */
#ifndef WSLVM_CONTROL_H
#define WSLVM_CONTROL_H

struct vm;
struct control_reply;

/* Returns 0, or -1 after control_error() said why. */
typedef int (*control_fn)(void *opaque, int argc, char **argv, struct control_reply *r);
/* Adds "name value" lines to the answer of "stats". */
typedef void (*control_stats_fn)(void *opaque, struct control_reply *r);

void control_command(const char *name, const char *usage, control_fn fn, void *opaque);
void control_stats(control_stats_fn fn, void *opaque);

/* Appends a line (no newline needed) to the answer. */
void control_printf(struct control_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Makes the answer "error: ..."; returns -1 for the handler to return. */
int control_error(struct control_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Listens on path (made 0600, replaced if stale, removed at exit). */
void control_init(struct vm *vm, const char *path);

#endif
