// SPDX-License-Identifier: MIT
/*
 * The control socket (--control PATH).  Requests are lines of words split
 * on blanks; each gets its answer lines, then "ok" or "error: WHY", in the
 * order the requests came.  Built in:
 *
 *	help		the commands and their arguments
 *	stats		"name value" lines: the VM's, then each device's
 *	stop		ends the VM now (exit status 5)
 *
 * Devices add theirs with control_command() and control_stats().  All of
 * it runs on the event loop's thread, like the device work it looks at.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "loop.h"
#include "unix_socket.h"
#include "vmm.h"

#define CONTROL_LINE_MAX	1024	/* longest request line */
#define CONTROL_ARGS_MAX	16	/* most words in one */
#define CONTROL_OUT_MAX		(1 << 20)	/* answers not yet read, per client */
#define CONTROL_COMMANDS_MAX	16
#define CONTROL_STATS_MAX	16

struct control_reply {
	char *buf;
	size_t len, cap;
	bool failed;
};

struct control_cmd {
	const char *name, *usage;
	control_fn fn;
	void *opaque;
};

struct control_stat {
	control_stats_fn fn;
	void *opaque;
};

struct control_client {
	int fd;
	struct loop_handler *handler;
	char line[CONTROL_LINE_MAX];
	size_t line_len;
	bool discarding;		/* the current line is too long: skip to its end */
	struct control_reply out;	/* written, not yet taken by the client */
	size_t out_sent;
	bool read_done;			/* the client will send no more */
	bool closing;			/* drop the connection, unsent answers too */
};

static struct vm *control_vm;
static const char *control_path;
static struct control_cmd commands[CONTROL_COMMANDS_MAX];
static unsigned int ncommands;
static struct control_stat stats[CONTROL_STATS_MAX];
static unsigned int nstats;

/* At exit, however wslvm ends (die() too): no socket is left behind. */
static void control_remove_socket(void)
{
	unlink(control_path);
}

void control_command(const char *name, const char *usage, control_fn fn, void *opaque)
{
	if (ncommands == CONTROL_COMMANDS_MAX)
		die("control socket: more than %d commands", CONTROL_COMMANDS_MAX);
	commands[ncommands++] = (struct control_cmd){ name, usage, fn, opaque };
}

void control_stats(control_stats_fn fn, void *opaque)
{
	if (nstats == CONTROL_STATS_MAX)
		die("control socket: more than %d stats sources", CONTROL_STATS_MAX);
	stats[nstats++] = (struct control_stat){ fn, opaque };
}

static void reply_reserve(struct control_reply *r, size_t more)
{
	size_t cap = r->cap ? r->cap : 256;

	if (r->len + more <= r->cap)
		return;
	while (cap < r->len + more)
		cap *= 2;
	r->buf = realloc(r->buf, cap);
	if (!r->buf)
		die("out of memory for a control socket answer");
	r->cap = cap;
}

static void reply_append(struct control_reply *r, const char *data, size_t len)
{
	reply_reserve(r, len);
	memcpy(r->buf + r->len, data, len);
	r->len += len;
}

static void reply_vappend(struct control_reply *r, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return;
	reply_reserve(r, n + 2);	/* the line, its newline, vsnprintf's NUL */
	vsnprintf(r->buf + r->len, n + 1, fmt, ap);
	r->len += n;
	r->buf[r->len++] = '\n';
}

void control_printf(struct control_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_vappend(r, fmt, ap);
	va_end(ap);
}

/* The error line replaces what the handler had written. */
int control_error(struct control_reply *r, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r->len = 0;
	r->failed = true;
	control_printf(r, "error: %s", why);
	return -1;
}

static int cmd_help(void *opaque, int argc, char **argv, struct control_reply *r)
{
	unsigned int i;

	for (i = 0; i < ncommands; i++)
		control_printf(r, "%s%s%s", commands[i].name, *commands[i].usage ? " " : "",
			       commands[i].usage);
	return 0;
}

/* Resident memory of the whole process, from /proc/self/statm. */
static long long rss_bytes(void)
{
	long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%lld %lld", &size, &resident);
	fclose(f);
	return n == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

static int cmd_stats(void *opaque, int argc, char **argv, struct control_reply *r)
{
	struct vm *vm = opaque;
	long long ready = atomic_load(&vm->ready_us);
	unsigned int i;

	control_printf(r, "uptime_ms %.0f", vm_elapsed_ms(vm));
	if (ready)
		control_printf(r, "boot_ms %.1f", (ready - 1) / 1000.0);
	control_printf(r, "vcpus %u", vm->ncpus);
	control_printf(r, "memory_bytes %llu", (unsigned long long)vm->mem.size);
	control_printf(r, "rss_bytes %lld", rss_bytes());
	for (i = 0; i < nstats; i++)
		stats[i].fn(stats[i].opaque, r);
	return 0;
}

static int cmd_stop(void *opaque, int argc, char **argv, struct control_reply *r)
{
	vm_stop(opaque, EXIT_SIGNAL, "stopping the VM: asked to on the control socket");
	return 0;
}

static int split_words(char *line, char **argv)
{
	char *save = NULL, *w;
	int argc = 0;

	for (w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == CONTROL_ARGS_MAX)
			return -1;
		argv[argc++] = w;
	}
	return argc;
}

static void control_run_line(struct control_client *c, char *line)
{
	struct control_reply r = { 0 };
	char *argv[CONTROL_ARGS_MAX];
	unsigned int i;
	int argc = split_words(line, argv);

	if (argc == 0)
		return;
	if (argc < 0) {
		control_error(&r, "more than %d words", CONTROL_ARGS_MAX);
	} else {
		for (i = 0; i < ncommands; i++)
			if (!strcmp(commands[i].name, argv[0]))
				break;
		if (i == ncommands)
			control_error(&r, "unknown command '%s' (try help)", argv[0]);
		else if (commands[i].fn(commands[i].opaque, argc, argv, &r) && !r.failed)
			control_error(&r, "%s failed", argv[0]);
	}
	if (!r.failed)
		control_printf(&r, "ok");
	/* A client that asks and never reads loses its connection. */
	if (c->out.len + r.len > CONTROL_OUT_MAX)
		c->closing = true;
	else
		reply_append(&c->out, r.buf, r.len);
	free(r.buf);
}

static void control_client_close(struct control_client *c)
{
	loop_remove(control_vm->loop, c->handler);
	close(c->fd);
	free(c->out.buf);
	free(c);
}

/* Writes what the socket takes; true while more is left. */
static bool control_flush(struct control_client *c)
{
	while (c->out_sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_sent, c->out.len - c->out_sent,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN)
				return true;
			if (errno == EINTR)
				continue;
			c->closing = true;
			c->out_sent = c->out.len;
			break;
		}
		c->out_sent += n;
	}
	c->out.len = c->out_sent = 0;
	return false;
}

static void control_take_bytes(struct control_client *c, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n && !c->closing; i++) {
		if (data[i] != '\n') {
			if (c->line_len < sizeof(c->line) - 1)
				c->line[c->line_len++] = data[i];
			else
				c->discarding = true;
			continue;
		}
		c->line[c->line_len] = '\0';
		if (c->discarding)
			control_printf(&c->out, "error: request longer than %d bytes",
				       CONTROL_LINE_MAX - 1);
		else
			control_run_line(c, c->line);
		c->line_len = 0;
		c->discarding = false;
	}
}

static void control_client_event(void *opaque, uint32_t events)
{
	struct control_client *c = opaque;
	char buf[4096];

	if (!c->read_done && (events & (EPOLLIN | EPOLLHUP))) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n > 0)
			control_take_bytes(c, buf, n);
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			c->read_done = true;
	}
	if (events & EPOLLERR)
		c->closing = true;
	/* Answers still go out after the client has said all it will. */
	if (!c->closing && control_flush(c)) {
		loop_modify(control_vm->loop, c->handler, EPOLLOUT | (c->read_done ? 0 : EPOLLIN));
		return;
	}
	if (c->closing || c->read_done) {
		control_client_close(c);
		return;
	}
	loop_modify(control_vm->loop, c->handler, EPOLLIN);
}

static void control_accept(void *opaque, uint32_t events)
{
	int listen_fd = *(int *)opaque;
	struct control_client *c;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			pr_warn_errno("control socket: accepting a connection");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->handler = loop_add(control_vm->loop, fd, EPOLLIN, control_client_event, c);
}

void control_init(struct vm *vm, const char *path)
{
	static int listen_fd;

	control_vm = vm;
	control_path = path;
	listen_fd = unix_listen_private("--control", path, 0);
	atexit(control_remove_socket);
	control_command("help", "", cmd_help, NULL);
	control_command("stats", "", cmd_stats, vm);
	control_command("stop", "", cmd_stop, vm);
	loop_add(vm->loop, listen_fd, EPOLLIN, control_accept, &listen_fd);
}

