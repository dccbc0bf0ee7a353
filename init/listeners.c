// SPDX-License-Identifier: MIT
/*
 * Localhost forwarding, the guest's half: once a second, ask the kernel
 * (NETLINK_SOCK_DIAG) for TCP sockets in LISTEN on a wildcard or loopback
 * address, and tell the host which ports came and went, as LISTENER
 * messages on a connection to host vsock port PROTO_EVENT_PORT.  The
 * network namespace is shared by every distro, so one query sees them all.
 * When that connection is (re)opened the host first gets every current
 * port, so it never has to ask.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

#define MAX_PORTS 1024

struct port {
	uint16_t port, family;
};

static struct port known[MAX_PORTS];
static int n_known;
static int host_fd = -1;

static bool reachable_from_host(int family, const __be32 *addr)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t v6_any[16];

	if (family == AF_INET)
		return addr[0] == htonl(INADDR_ANY) || addr[0] == htonl(INADDR_LOOPBACK);
	return !memcmp(addr, v6_any, 16) || !memcmp(addr, v6_loopback, 16);
}

static void add_port(struct port *ports, int *n, uint16_t port, uint16_t family)
{
	for (int i = 0; i < *n; i++)
		if (ports[i].port == port && ports[i].family == family)
			return;
	if (*n < MAX_PORTS)
		ports[(*n)++] = (struct port){ port, family };
}

/* Append the listening ports of FAMILY to PORTS; -1 if the query failed. */
static int query(int family, struct port *ports, int *n)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1 << TCP_LISTEN },
	};
	static char buf[16384] __attribute__((aligned(4)));
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int ret = -1;

	if (fd < 0)
		return -1;
	if (send(fd, &msg, sizeof(msg), 0) != sizeof(msg))
		goto out;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len <= 0)
			goto out;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct inet_diag_msg *d = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE) {
				ret = 0;
				goto out;
			}
			if (h->nlmsg_type == NLMSG_ERROR)
				goto out;
			if (reachable_from_host(d->idiag_family, d->id.idiag_src))
				add_port(ports, n, ntohs(d->id.idiag_sport), d->idiag_family);
		}
	}
out:
	close(fd);
	return ret;
}

static bool contains(const struct port *ports, int n, struct port p)
{
	for (int i = 0; i < n; i++)
		if (ports[i].port == p.port && ports[i].family == p.family)
			return true;
	return false;
}

static int send_event(uint32_t event, struct port p)
{
	struct proto_listener l = { .event = event, .port = p.port, .family = p.family,
				    .distro = "" };
	struct proto_buf b = { 0 };
	int ret = -1;

	if (!proto_put_listener(&b, 0, &l))
		ret = proto_send(host_fd, &b);
	proto_buf_free(&b);
	return ret;
}

static bool connect_host(void)
{
	struct sockaddr_vm host = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = PROTO_EVENT_PORT,
	};

	host_fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (host_fd >= 0 && !connect(host_fd, (struct sockaddr *)&host, sizeof(host)))
		return true;
	if (host_fd >= 0)
		close(host_fd);
	host_fd = -1;
	return false;
}

void listeners_poll(void)
{
	static struct port now[MAX_PORTS];
	int n = 0;
	bool fresh = false;

	if (query(AF_INET, now, &n) || query(AF_INET6, now, &n))
		return;
	if (host_fd < 0) {
		if (!connect_host())
			return;
		fresh = true; /* a new host side knows nothing yet */
	}
	for (int i = 0; i < n; i++)
		if ((fresh || !contains(known, n_known, now[i])) &&
		    send_event(PROTO_LISTENER_ADDED, now[i]))
			goto lost;
	for (int i = 0; !fresh && i < n_known; i++)
		if (!contains(now, n, known[i]) && send_event(PROTO_LISTENER_REMOVED, known[i]))
			goto lost;
	memcpy(known, now, n * sizeof(now[0]));
	n_known = n;
	return;
lost:
	/* The host went away: the next poll reconnects and resends everything. */
	close(host_fd);
	host_fd = -1;
}
