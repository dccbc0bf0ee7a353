// SPDX-License-Identifier: MIT
/*
 * A distro's files for the host (wsl --mount): MOUNT_DISTRO turns its
 * connection into a 9P2000.L session on the distro's root, which the
 * host's kernel mounts with its v9fs client.  A child of the init joins
 * the distro's namespaces and root and forks the server, so the server is
 * a process of the distro (its /proc/self is the one the 9P library uses,
 * and terminating the distro ends it); the child waits for it and passes
 * on how it ended.  Paths resolve as the distro's own processes see them,
 * its mounts included.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "p9.h"

static void __attribute__((noreturn)) serve_distro_root(int conn, uint32_t id,
							 const struct distro *d)
{
	struct p9_server_config cfg = { .root = "/" };
	struct p9_server *s;
	int err = p9_server_create(&cfg, &s);

	if (err) {
		reply_error(conn, id, -err, "%s: cannot serve its files: %s", d->cfg->name,
			    strerror(-err));
		_exit(1);
	}
	reply_empty(conn, PROTO_OK, id);
	err = p9_server_serve_stream(s, conn, conn);
	/* The host unmounting ends the stream cleanly; anything else is worth a line. */
	if (err)
		pr_init("%s: 9P session for the host ended: %s", d->cfg->name, strerror(-err));
	p9_server_destroy(s);
	_exit(err ? 1 : 0);
}

void share_run(int conn, uint32_t id, const struct distro *d)
{
	int status = 0;
	pid_t pid;

	prctl(PR_SET_NAME, "wsl-9p");
	unblock_signals();
	signal(SIGPIPE, SIG_IGN);
	if (distro_join(d)) {
		reply_error(conn, id, errno, "%s: cannot join the distro: %s", d->cfg->name,
			    strerror(errno));
		_exit(1);
	}
	pid = fork(); /* into the distro's PID namespace */
	if (pid < 0) {
		reply_error(conn, id, errno, "fork: %s", strerror(errno));
		_exit(1);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		serve_distro_root(conn, id, d);
	}
	close(conn);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
