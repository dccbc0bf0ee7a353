// SPDX-License-Identifier: MIT
/*
 * One process the host asked for, in a child of the init: join the
 * distro's namespaces and root, start the process on a pty or three pipes,
 * relay its I/O as STREAM messages, pass on resizes and signals, and end
 * with its EXIT status (its code, or 128 + the signal that killed it).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

#define RELAY_CHUNK 65536

void reply_error(int conn, uint32_t id, int err, const char *fmt, ...)
{
	struct proto_buf b = { 0 };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!proto_put_error(&b, id, err, msg))
		proto_send(conn, &b);
	proto_buf_free(&b);
}

void reply_empty(int conn, uint32_t type, uint32_t id)
{
	struct proto_buf b = { 0 };

	if (!proto_put_empty(&b, type, id))
		proto_send(conn, &b);
	proto_buf_free(&b);
}

static void send_u32(int conn, uint32_t type, uint32_t id, uint32_t v)
{
	struct proto_buf b = { 0 };

	if (!proto_put_u32_msg(&b, type, id, v))
		proto_send(conn, &b);
	proto_buf_free(&b);
}

struct target {
	struct passwd pw; /* copied: getpwnam's buffer is reused */
	char name[64], home[256], shell[256];
};

static int resolve_user(const char *user, struct target *t)
{
	struct passwd *pw = *user ? getpwnam(user) : getpwuid(0);

	if (!pw)
		return -1;
	t->pw = *pw;
	snprintf(t->name, sizeof(t->name), "%s", pw->pw_name);
	snprintf(t->home, sizeof(t->home), "%s", pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
	snprintf(t->shell, sizeof(t->shell), "%s",
		 pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	return 0;
}

/* The environment: what the host sent, plus what a login would set. */
static char **build_env(const struct proto_create *c, const struct target *t)
{
	static const char *const defaults[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"TERM=xterm-256color",
	};
	char **env = calloc(c->envc + 8, sizeof(*env));
	size_t n = 0;

	if (!env)
		return NULL;
	for (uint32_t i = 0; i < c->envc; i++)
		env[n++] = (char *)c->env[i];
	if (asprintf(&env[n], "HOME=%s", t->home) > 0)
		n++;
	if (asprintf(&env[n], "USER=%s", t->name) > 0)
		n++;
	if (asprintf(&env[n], "LOGNAME=%s", t->name) > 0)
		n++;
	if (asprintf(&env[n], "SHELL=%s", t->shell) > 0)
		n++;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		size_t key = strchr(defaults[i], '=') - defaults[i] + 1;
		bool have = false;

		for (uint32_t j = 0; j < c->envc; j++)
			have |= !strncmp(c->env[j], defaults[i], key);
		if (!have)
			env[n++] = (char *)defaults[i];
	}
	env[n] = NULL;
	return env;
}

/*
 * In the new process: become the user, go to the directory, exec.  On
 * failure, errno goes down ERR_FD (close-on-exec, so success closes it).
 */
static void exec_child(const struct proto_create *c, const struct target *t, int err_fd)
{
	char **env = build_env(c, t);
	char login_argv0[300];
	const char *file = c->argv[0];
	char *const *argv = (char *const *)c->argv;
	char *shell_argv[2];
	int e;

	/* An empty argv[0] asks for the user's login shell ("-bash"). */
	if (!*file) {
		const char *base = strrchr(t->shell, '/');

		snprintf(login_argv0, sizeof(login_argv0), "-%s", base ? base + 1 : t->shell);
		shell_argv[0] = login_argv0;
		shell_argv[1] = NULL;
		argv = shell_argv;
		file = t->shell;
	}
	if (initgroups(t->name, t->pw.pw_gid) || setgid(t->pw.pw_gid) || setuid(t->pw.pw_uid))
		goto fail;
	if (chdir(*c->cwd ? c->cwd : t->home) && chdir("/"))
		goto fail;
	if (env)
		environ = env;
	execvp(file, argv);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

struct relay {
	int conn;
	uint32_t id;
	pid_t pid;
	int in_fd;	 /* to the process's stdin; -1 once closed */
	int out_fd[2];	 /* stdout, stderr (a pty master is stdout only); -1 at EOF */
	int pty;	 /* the master, for resizes; -1 with pipes */
	uint8_t *buf;
	/* Stdin bytes the process has not taken yet; they lie in the message buffer. */
	const uint8_t *in_pending;
	size_t in_pending_len;
};

/* Stdin (a pipe) ends: the host closed it, or the process did. */
static void relay_close_input(struct relay *r)
{
	if (r->in_fd >= 0)
		close(r->in_fd);
	r->in_fd = -1;
	r->in_pending_len = 0;
}

/*
 * Writes what stdin can take now.  The write end is non-blocking: a
 * process that is itself blocked writing an output we are not reading
 * (cat with both pipes full) must not block us too, or neither moves.
 */
static void relay_flush_input(struct relay *r)
{
	while (r->in_pending_len) {
		ssize_t n = write(r->in_fd, r->in_pending, r->in_pending_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* The process closed its stdin (EPIPE): what is left is dropped. */
			if (r->pty < 0)
				relay_close_input(r);
			else
				r->in_pending_len = 0;
			return;
		}
		r->in_pending += n;
		r->in_pending_len -= n;
	}
}

static int relay_output(struct relay *r, int which)
{
	struct proto_buf b = { 0 };
	ssize_t n = read(r->out_fd[which], r->buf, RELAY_CHUNK);
	int ret = 0;

	/* (A pty master is non-blocking for stdin's sake: poll may have been early.) */
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) { /* EOF, or EIO from a pty whose last slave closed */
		if (r->pty >= 0 && which == 0) {
			/* The master is stdin too: it goes with stdout. */
			r->in_fd = -1;
			r->in_pending_len = 0;
			r->pty = -1;
		}
		close(r->out_fd[which]);
		r->out_fd[which] = -1;
		proto_put_stream(&b, r->id, which ? PROTO_STDERR : PROTO_STDOUT, NULL, 0);
	} else {
		proto_put_stream(&b, r->id, which ? PROTO_STDERR : PROTO_STDOUT, r->buf, n);
	}
	if (proto_send(r->conn, &b))
		ret = -1;
	proto_buf_free(&b);
	return ret;
}

/* One message from the host; -1 ends the relay (host gone or hostile). */
static int relay_input(struct relay *r, uint8_t *msgbuf)
{
	struct proto_msg m;
	const uint8_t *data;
	uint32_t stream, sig;
	uint16_t rows, cols;
	size_t len;

	if (proto_recv(r->conn, msgbuf, &m) <= 0)
		return -1;
	switch (m.type) {
	case PROTO_STREAM:
		if (proto_get_stream(&m, &stream, &data, &len) || stream != PROTO_STDIN)
			break;
		if (r->in_fd < 0)
			return 0;
		if (!len) {
			if (r->pty < 0)
				relay_close_input(r);
			return 0;
		}
		/* No more messages are read until the process has taken these bytes. */
		r->in_pending = data;
		r->in_pending_len = len;
		relay_flush_input(r);
		return 0;
	case PROTO_RESIZE:
		if (proto_get_resize(&m, &rows, &cols))
			break;
		if (r->pty >= 0) {
			struct winsize ws = { .ws_row = rows, .ws_col = cols };

			ioctl(r->pty, TIOCSWINSZ, &ws);
		}
		return 0;
	case PROTO_SIGNAL:
		if (proto_get_u32(&m, &sig) || sig == 0 || sig >= NSIG)
			break;
		/* The whole foreground job, as a terminal would. */
		if (kill(-r->pid, sig))
			kill(r->pid, sig);
		return 0;
	default:
		break;
	}
	reply_error(r->conn, m.id, EPROTO, "unexpected or malformed %s during a process",
		    proto_type_name(m.type));
	return 0;
}

static int exit_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void relay_run(struct relay *r, uint8_t *msgbuf)
{
	int status = 0, exited = 0, host_gone = 0;

	while (r->out_fd[0] >= 0 || r->out_fd[1] >= 0 || !exited) {
		/*
		 * While stdin has bytes waiting, the host's next message stays
		 * unread (msgbuf holds them), which holds the host back through
		 * the vsock's credit; only its hang-up is watched.  The outputs
		 * are read all along.
		 */
		struct pollfd p[4] = {
			{ .fd = host_gone ? -1 : r->conn, .events = r->in_pending_len ? 0 : POLLIN },
			{ .fd = r->out_fd[0], .events = POLLIN },
			{ .fd = r->out_fd[1], .events = POLLIN },
			{ .fd = r->in_pending_len ? r->in_fd : -1, .events = POLLOUT },
		};
		int timeout = exited ? 200 : 100;

		if (!exited && waitpid(r->pid, &status, WNOHANG) == r->pid)
			exited = 1;
		if (poll(p, 4, timeout) < 0 && errno != EINTR)
			break;
		if (p[3].revents)
			relay_flush_input(r);
		if (p[0].revents && (!p[0].events || relay_input(r, msgbuf))) {
			/* The host hung up: the process goes too. */
			host_gone = 1;
			kill(-r->pid, SIGHUP);
			kill(r->pid, SIGHUP);
		}
		for (int i = 0; i < 2; i++)
			if (p[1 + i].revents && relay_output(r, i) && !host_gone)
				host_gone = 1;
		/* Once it has exited, output still buffered is drained, then we stop. */
		if (exited && !p[1].revents && !p[2].revents)
			break;
	}
	if (!exited)
		waitpid(r->pid, &status, 0);
	if (!host_gone)
		send_u32(r->conn, PROTO_EXIT, r->id, exit_status(status));
}

static int open_pty(int *master, int *slave, uint16_t rows, uint16_t cols)
{
	struct winsize ws = { .ws_row = rows ? rows : 24, .ws_col = cols ? cols : 80 };
	char *name;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) || unlockpt(*master) || !(name = ptsname(*master)))
		return -1;
	*slave = open(name, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		return -1;
	ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
}

void session_run(int conn, struct distro *d, const struct proto_msg *create)
{
	static uint8_t msgbuf[PROTO_MAX_MESSAGE];
	struct proto_create c;
	struct target t;
	struct relay r = { .conn = conn, .id = create->id, .pty = -1, .in_fd = -1,
			   .out_fd = { -1, -1 } };
	int in[2], out[2], err[2], errpipe[2], child_fds[3], e, pty_master, pty_slave;
	ssize_t n;

	prctl(PR_SET_NAME, "wsl-session");
	unblock_signals();
	signal(SIGPIPE, SIG_IGN);
	if (proto_get_create(create, &c)) {
		reply_error(conn, create->id, EPROTO, "malformed CREATE_PROCESS");
		_exit(1);
	}
	if (distro_join(d)) {
		reply_error(conn, create->id, errno, "%s: cannot join the distro: %s", d->cfg->name,
			    strerror(errno));
		_exit(1);
	}
	if (resolve_user(*c.user ? c.user : d->conf.default_user, &t)) {
		reply_error(conn, create->id, ENOENT, "%s: no user '%s' in the distro",
			    d->cfg->name, *c.user ? c.user : d->conf.default_user);
		_exit(1);
	}
	if (c.flags & PROTO_CREATE_PTY) {
		if (open_pty(&pty_master, &pty_slave, c.rows, c.columns)) {
			reply_error(conn, create->id, errno, "cannot open a pty: %s", strerror(errno));
			_exit(1);
		}
		child_fds[0] = child_fds[1] = child_fds[2] = pty_slave;
		r.pty = r.in_fd = r.out_fd[0] = pty_master;
	} else {
		if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
			reply_error(conn, create->id, errno, "pipe: %s", strerror(errno));
			_exit(1);
		}
		child_fds[0] = in[0];
		child_fds[1] = out[1];
		child_fds[2] = err[1];
		r.in_fd = in[1];
		r.out_fd[0] = out[0];
		r.out_fd[1] = err[0];
	}
	if (pipe2(errpipe, O_CLOEXEC)) {
		reply_error(conn, create->id, errno, "pipe: %s", strerror(errno));
		_exit(1);
	}
	r.pid = fork();
	if (r.pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		setsid();
		for (int i = 0; i < 3; i++)
			dup2(child_fds[i], i);
		if (c.flags & PROTO_CREATE_PTY)
			ioctl(0, TIOCSCTTY, 0);
		exec_child(&c, &t, errpipe[1]);
	}
	close(errpipe[1]);
	for (int i = 0; i < 3; i++)
		if (i == 0 || child_fds[i] != child_fds[0])
			close(child_fds[i]);
	if (r.pid < 0) {
		reply_error(conn, create->id, errno, "fork: %s", strerror(errno));
		_exit(1);
	}
	n = read(errpipe[0], &e, sizeof(e));
	close(errpipe[0]);
	if (n == sizeof(e)) {
		waitpid(r.pid, NULL, 0);
		reply_error(conn, create->id, e, "%s: %s", *c.argv[0] ? c.argv[0] : t.shell,
			    strerror(e));
		send_u32(conn, PROTO_EXIT, create->id, e == ENOENT ? 127 : 126);
		_exit(0);
	}
	send_u32(conn, PROTO_PROCESS_STARTED, create->id, r.pid);
	/* See relay_flush_input(). */
	fcntl(r.in_fd, F_SETFL, fcntl(r.in_fd, F_GETFL) | O_NONBLOCK);
	r.buf = malloc(RELAY_CHUNK);
	if (!r.buf)
		_exit(1);
	relay_run(&r, msgbuf);
	_exit(0);
}
