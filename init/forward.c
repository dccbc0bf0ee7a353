// SPDX-License-Identifier: MIT
/*
 * Localhost forwarding, the guest's half of a connection: the host accepted
 * a TCP connection on its 127.0.0.1:P and asks, over vsock, for P in the
 * guest.  A child of the init connects to the guest's loopback (the
 * network namespace is the VM's, so every distro's servers are there) and
 * copies bytes both ways until both sides are done.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

#define FORWARD_CHUNK 65536

static int connect_loopback(uint16_t port, uint16_t family)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family == AF_INET6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -1;
	ret = family == AF_INET6 ? connect(fd, (struct sockaddr *)&v6, sizeof(v6)) :
				   connect(fd, (struct sockaddr *)&v4, sizeof(v4));
	if (ret) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copy what is readable on FROM to TO; on EOF pass the half-close on. */
static int pump(int from, int to, bool *open_from)
{
	static char buf[FORWARD_CHUNK];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		*open_from = false;
		shutdown(to, SHUT_WR);
		return 0;
	}
	return proto_write_all(to, buf, n);
}

void forward_run(int conn, uint32_t id, uint16_t port, uint16_t family)
{
	bool host_open = true, guest_open = true;
	int tcp;

	prctl(PR_SET_NAME, "wsl-forward");
	unblock_signals();
	signal(SIGPIPE, SIG_IGN);
	tcp = connect_loopback(port, family);
	if (tcp < 0) {
		reply_error(conn, id, errno, "nothing listens on port %u in the VM: %s", port,
			    strerror(errno));
		_exit(1);
	}
	reply_empty(conn, PROTO_OK, id);
	while (host_open || guest_open) {
		struct pollfd p[2] = {
			{ .fd = host_open ? conn : -1, .events = POLLIN },
			{ .fd = guest_open ? tcp : -1, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && pump(conn, tcp, &host_open))
			break;
		if (p[1].revents && pump(tcp, conn, &guest_open))
			break;
	}
	_exit(0);
}
