/* SPDX-License-Identifier: MIT */
/*
 * The network behind virtio-net: libslirp's user-mode NAT, driven from
 * wslvm's event loop.  The guest sees 10.0.2.0/24: it gets 10.0.2.15 from
 * slirp's DHCP server, the host's loopback is 10.0.2.2 and DNS queries to
 * 10.0.2.3 are relayed to the resolvers in the host's /etc/resolv.conf.
 * Host ports on 127.0.0.1 are forwarded to guest ports at start or through
 * the control socket ("forward add|remove|list").
 */
#ifndef WSLVM_NET_SLIRP_H
#define WSLVM_NET_SLIRP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct net_slirp;

/* A frame for the guest (event loop thread, the device lock held). */
typedef void (*net_deliver_fn)(void *opaque, const uint8_t *frame, size_t len);

/*
 * Starts the NAT.  Every call into slirp, and every delivery, happens on
 * the event loop's thread with *lock held.
 */
struct net_slirp *net_slirp_create(struct vm *vm, pthread_mutex_t *lock, net_deliver_fn deliver,
				   void *opaque);

/* A frame the guest sent (lock held). */
void net_slirp_input(struct net_slirp *ns, const uint8_t *frame, size_t len);
/* After frames went in: lets slirp act on them and watch new sockets (lock held). */
void net_slirp_kick(struct net_slirp *ns);

/* A forward, as written in "forward add" or --net forward=PROTO:HOST:GUEST. */
struct net_forward_spec {
	bool udp;
	uint16_t host_port, guest_port;
};

/*
 * Reads a protocol ("tcp" or "udp") and a port number (1-65535); on
 * failure writes why (naming what) and returns false.
 */
bool net_parse_proto(const char *arg, bool *udp, char *why, size_t why_len);
bool net_parse_port(const char *what, const char *arg, uint16_t *port, char *why,
		    size_t why_len);
/* "tcp:8080:80" */
bool net_parse_forward(const char *spec, struct net_forward_spec *f, char *why, size_t why_len);

/* Adds a forward (lock held); false with why filled in when it cannot. */
bool net_slirp_forward_add(struct net_slirp *ns, const struct net_forward_spec *f, char *why,
			   size_t why_len);

#endif
