// SPDX-License-Identifier: MIT
/*
 * Running a process in the guest with our standard streams: on a pty (our
 * terminal in raw mode, its size passed on and kept up to date) or on
 * pipes (signals that would stop us are passed on instead).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"

#define STDIN_CHUNK 65536

static struct termios saved_termios;
static int termios_saved;

static void restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
	termios_saved = 0;
}

static void raw_terminal(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_termios))
		return;
	raw = saved_termios;
	cfmakeraw(&raw);
	if (!tcsetattr(STDIN_FILENO, TCSADRAIN, &raw)) {
		termios_saved = 1;
		atexit(restore_terminal);
	}
}

static void window_size(uint16_t *rows, uint16_t *cols)
{
	struct winsize ws = { 0 };

	ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	*rows = ws.ws_row;
	*cols = ws.ws_col;
}

static int send_create(struct guest_conn *c, const struct run_options *o, int pty)
{
	static const char *const login_shell[] = { "", NULL };
	struct proto_create cr = {
		.flags = pty ? PROTO_CREATE_PTY : 0,
		.distro = o->distro ? o->distro : "",
		.user = o->user ? o->user : "",
		.cwd = o->cwd ? o->cwd : "",
		.argc = o->argc ? (uint32_t)o->argc : 1,
		.argv = o->argc ? (const char **)o->argv : (const char **)login_shell,
		.env = (const char **)o->env,
	};
	struct proto_buf b = { 0 };
	int ret;

	while (o->env && o->env[cr.envc])
		cr.envc++;
	if (pty)
		window_size(&cr.rows, &cr.columns);
	if (proto_put_create(&b, c->next_id++, &cr)) {
		fprintf(stderr, "wsl: the command line and environment are too large\n");
		return -1;
	}
	ret = proto_send(c->fd, &b);
	proto_buf_free(&b);
	return ret;
}

/*
 * Sends what it can of OUT (from *off on) without blocking: 0, or -1 when
 * the connection broke.  A blocking send could wait on a guest that waits
 * for us to read its output (its stdin and stdout pipes both full).
 */
static int send_some(struct guest_conn *c, struct proto_buf *out, size_t *off)
{
	while (*off < out->len) {
		ssize_t n = send(c->fd, out->data + *off, out->len - *off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		*off += n;
	}
	out->len = *off = 0;
	return 0;
}

/* One message from the guest; returns 1 with *status set at EXIT. */
static int handle_guest(const struct proto_msg *m, int *status)
{
	const uint8_t *data;
	uint32_t stream, v;
	size_t len;

	switch (m->type) {
	case PROTO_PROCESS_STARTED:
		return 0;
	case PROTO_STREAM:
		if (proto_get_stream(m, &stream, &data, &len) || stream == PROTO_STDIN)
			break;
		/* A reader gone away (head, say) is no reason to stop. */
		proto_write_all(stream == PROTO_STDOUT ? STDOUT_FILENO : STDERR_FILENO, data, len);
		return 0;
	case PROTO_ERROR:
		restore_terminal();
		guest_print_error(m);
		return 0;
	case PROTO_EXIT:
		if (proto_get_u32(m, &v) || v > 255)
			break;
		*status = v;
		return 1;
	default:
		break;
	}
	fprintf(stderr, "wsl: unexpected %s from the guest\n", proto_type_name(m->type));
	return 0;
}

int guest_run(struct guest_conn *c, const struct run_options *o)
{
	int pty = o->use_pty < 0 ? isatty(STDIN_FILENO) : o->use_pty;
	int status = -1, stdin_open = 1, sfd;
	struct proto_buf b = { 0 };	/* to send; b.len is 0 once all went */
	size_t sent = 0;		/* how much of b went */
	uint8_t *inbuf;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	if (!pty) {
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGHUP);
		sigaddset(&mask, SIGQUIT);
	}
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	inbuf = malloc(STDIN_CHUNK);
	if (sfd < 0 || !inbuf || send_create(c, o, pty)) {
		free(inbuf);
		return -1;
	}
	if (pty)
		raw_terminal();

	for (;;) {
		/* Stdin is read once the last of it went, and never blocks the output. */
		struct pollfd p[3] = {
			{ .fd = c->fd, .events = POLLIN | (b.len ? POLLOUT : 0) },
			{ .fd = stdin_open && !b.len ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct proto_msg m;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((p[0].revents & POLLOUT) && send_some(c, &b, &sent))
			break;
		if (p[0].revents & ~POLLOUT) {
			if (proto_recv(c->fd, c->buf, &m) <= 0) {
				restore_terminal();
				fprintf(stderr, "wsl: the connection to the VM ended before the "
						"process did\n");
				break;
			}
			if (handle_guest(&m, &status))
				break;
		}
		if (p[1].revents) {
			ssize_t n = read(STDIN_FILENO, inbuf, STDIN_CHUNK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				stdin_open = 0;
				n = 0;
			}
			if (proto_put_stream(&b, 0, PROTO_STDIN, inbuf, n) || send_some(c, &b, &sent))
				break;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			uint16_t rows, cols;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGWINCH) {
				window_size(&rows, &cols);
				proto_put_resize(&b, 0, rows, cols);
			} else {
				proto_put_u32_msg(&b, PROTO_SIGNAL, 0, si.ssi_signo);
			}
			if (send_some(c, &b, &sent))
				break;
		}
	}
	restore_terminal();
	close(sfd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	proto_buf_free(&b);
	free(inbuf);
	return status;
}
