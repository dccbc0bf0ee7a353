// SPDX-License-Identifier: MIT
/*
 * Localhost forwarding, the guest's half: once a second, read the kernel's
 * table of TCP sockets for those in LISTEN on a wildcard or loopback
 * address, and tell the host which ports came and went, as LISTENER
 * messages on a connection to host vsock port PROTO_EVENT_PORT.  The
 * network namespace is shared by every distro, so one query sees them all.
 * When that connection is (re)opened the host first gets every current
 * port, so it never has to ask.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <strings.h>
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

static void add_port(struct port *ports, int *n, uint16_t port, uint16_t family)
{
	for (int i = 0; i < *n; i++)
		if (ports[i].port == port && ports[i].family == family)
			return;
	if (*n < MAX_PORTS)
		ports[(*n)++] = (struct port){ port, family };
}

/*
 * Listening sockets of FAMILY from /proc/net/tcp or tcp6 (the kernel needs
 * nothing beyond procfs for these, unlike sock_diag).  A line reads
 * "sl local_address rem_address st ...", addresses as hex ADDR:PORT with the
 * address in the kernel's byte order; state 0A is LISTEN.
 */
static int query(int family, struct port *ports, int *n)
{
	static const char any6[] = "00000000000000000000000000000000";
	static const char loop6[] = "00000000000000000000000001000000";
	FILE *f = fopen(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "re");
	char line[512], addr[64];
	unsigned int port, state;

	if (!f)
		return family == AF_INET6 ? 0 : -1; /* no IPv6: nothing listens there */
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*s %x", addr, &port, &state) != 3 ||
		    state != 0x0A)
			continue;
		if (family == AF_INET) {
			uint32_t a = strtoul(addr, NULL, 16);

			/* /proc prints the address as the u32 it is in memory. */
			if (a != htonl(INADDR_ANY) && a != htonl(INADDR_LOOPBACK))
				continue;
		} else if (strcasecmp(addr, any6) && strcasecmp(addr, loop6)) {
			continue;
		}
		add_port(ports, n, port, family);
	}
	fclose(f);
	return 0;
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
