/* SPDX-License-Identifier: MIT */
#ifndef WSL_FORWARD_H
#define WSL_FORWARD_H

#include <poll.h>
#include <stdbool.h>

#include "proto.h"

/*
 * Localhost forwarding, the host's half: the init reports TCP listeners
 * (LISTENER on vsock port 5002); for each we listen on the same port of
 * the host's loopback, and relay every connection to the guest through
 * vsock (CONNECT_PORT).  No network device is needed.
 */
#define FORWARD_MAX_PORTS 64

struct forward_port {
	uint16_t port, family;	/* the guest listener's; our socket may be IPv4 for an IPv6 one */
	int fd;
};

struct forwarder {
	char vm_socket[108];	/* a Unix socket path (sun_path's size) */
	int events_listener; /* <vm_socket>_5002: the init connects here */
	int events_conn;
	uint8_t *buf;
	struct forward_port ports[FORWARD_MAX_PORTS];
	int n_ports;
};

int forwarder_init(struct forwarder *f, const char *vm_socket, const char *events_path);
void forwarder_close(struct forwarder *f);
/* The descriptors to poll; returns how many were written to P (at most MAX). */
int forwarder_pollfds(const struct forwarder *f, struct pollfd *p, int max);
/* Act on what poll found in P (as filled by forwarder_pollfds). */
void forwarder_handle(struct forwarder *f, const struct pollfd *p, int n);

#endif
