// SPDX-License-Identifier: MIT
/* Localhost forwarding, the host's half (see forward.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "wsl.h"
#include "forward.h"

#define RELAY_CHUNK 65536

int forwarder_init(struct forwarder *f, const char *vm_socket, const char *events_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->events_conn = -1;
	/* A copy: the caller's path may not outlive this call. */
	if (strlen(vm_socket) >= sizeof(f->vm_socket) || strlen(events_path) >= sizeof(addr.sun_path))
		return -1;
	strcpy(f->vm_socket, vm_socket);
	f->buf = malloc(PROTO_MAX_MESSAGE);
	if (!f->buf)
		return -1;
	strcpy(addr.sun_path, events_path);
	unlink(events_path);
	f->events_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->events_listener < 0 ||
	    bind(f->events_listener, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(f->events_listener, 4))
		return -1;
	return 0;
}

static void drop_port(struct forwarder *f, int i)
{
	close(f->ports[i].fd);
	f->ports[i] = f->ports[--f->n_ports];
}

void forwarder_close(struct forwarder *f)
{
	while (f->n_ports)
		drop_port(f, 0);
	if (f->events_conn >= 0)
		close(f->events_conn);
	if (f->events_listener >= 0)
		close(f->events_listener);
	free(f->buf);
}

static int listen_loopback(uint16_t port, uint16_t family)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((family == AF_INET6 ? bind(fd, (struct sockaddr *)&v6, sizeof(v6)) :
				  bind(fd, (struct sockaddr *)&v4, sizeof(v4))) ||
	    listen(fd, 64)) {
		/* Taken on the host already: that port stays the host's. */
		close(fd);
		return -1;
	}
	return fd;
}

/* Listen on the host's loopback of host_family for a guest listener of guest_family. */
static void add_port(struct forwarder *f, uint16_t port, uint16_t guest_family,
		     uint16_t host_family)
{
	int fd;

	if (f->n_ports == FORWARD_MAX_PORTS)
		return;
	fd = listen_loopback(port, host_family);
	if (fd >= 0)
		f->ports[f->n_ports++] = (struct forward_port){ port, guest_family, fd };
}

static void on_listener(struct forwarder *f, const struct proto_listener *l)
{
	bool known = false;

	if (l->family != AF_INET && l->family != AF_INET6)
		return;
	/* Backwards: drop_port() fills the hole with the last entry. */
	for (int i = f->n_ports - 1; i >= 0; i--) {
		if (f->ports[i].port != l->port || f->ports[i].family != l->family)
			continue;
		known = true;
		if (l->event == PROTO_LISTENER_REMOVED)
			drop_port(f, i);
	}
	if (known || l->event != PROTO_LISTENER_ADDED)
		return;
	add_port(f, l->port, l->family, l->family);
	/*
	 * A listener on :: takes IPv4 too (busybox's httpd and nc, most servers),
	 * and "localhost" means 127.0.0.1 to most clients: listen there as well.
	 */
	if (l->family == AF_INET6)
		add_port(f, l->port, AF_INET6, AF_INET);
}

static int pump(int from, int to, bool *open_from)
{
	static char buf[RELAY_CHUNK];
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

/* In a child: one accepted connection, relayed to the guest's port. */
static void relay(const struct forwarder *f, int client, const struct forward_port *fp)
{
	bool client_open = true, guest_open = true;
	struct proto_buf b = { 0 };
	struct guest_conn c;
	struct proto_msg m;

	signal(SIGPIPE, SIG_IGN);
	/* Hold none of the service's locks: a relay may outlive it. */
	close_fds_except(client);
	if (guest_connect(&c, f->vm_socket, PROTO_PORT))
		_exit(1);
	if (proto_put_connect_port(&b, c.next_id++, fp->port, fp->family) ||
	    guest_request(&c, &b, &m) || m.type != PROTO_OK)
		_exit(1);
	while (client_open || guest_open) {
		struct pollfd p[2] = {
			{ .fd = client_open ? client : -1, .events = POLLIN },
			{ .fd = guest_open ? c.fd : -1, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && pump(client, c.fd, &client_open))
			break;
		if (p[1].revents && pump(c.fd, client, &guest_open))
			break;
	}
	_exit(0);
}

int forwarder_pollfds(const struct forwarder *f, struct pollfd *p, int max)
{
	int n = 0;

	if (n < max)
		p[n++] = (struct pollfd){ .fd = f->events_listener, .events = POLLIN };
	if (n < max)
		p[n++] = (struct pollfd){ .fd = f->events_conn, .events = POLLIN };
	for (int i = 0; i < f->n_ports && n < max; i++)
		p[n++] = (struct pollfd){ .fd = f->ports[i].fd, .events = POLLIN };
	return n;
}

void forwarder_handle(struct forwarder *f, const struct pollfd *p, int n)
{
	struct proto_listener l;
	struct proto_msg m;

	if (n > 0 && p[0].revents) {
		int conn = accept4(f->events_listener, NULL, NULL, SOCK_CLOEXEC);

		/* A new connection from the init replaces the old one and resends all. */
		if (conn >= 0) {
			if (f->events_conn >= 0)
				close(f->events_conn);
			f->events_conn = conn;
		}
	}
	if (n > 1 && p[1].revents && p[1].fd == f->events_conn) {
		if (proto_recv(f->events_conn, f->buf, &m) <= 0) {
			close(f->events_conn);
			f->events_conn = -1;
		} else if (!proto_get_listener(&m, &l)) {
			on_listener(f, &l);
		}
	}
	for (int i = 2; i < n; i++) {
		int client;

		if (!p[i].revents)
			continue;
		for (int j = 0; j < f->n_ports; j++) {
			if (f->ports[j].fd != p[i].fd)
				continue;
			client = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (client < 0)
				break;
			if (fork() == 0)
				relay(f, client, &f->ports[j]);
			close(client);
			break;
		}
	}
}
