// SPDX-License-Identifier: MIT
/*
 * libslirp driven from the event loop.
 *
 * slirp wants a poll() loop: before sleeping, slirp_pollfds_fill() names
 * the sockets and events it cares about and how long it may sleep; after
 * waking, slirp_pollfds_poll() reads what each socket got and runs its TCP
 * timers.  wslvm sleeps in epoll instead, so:
 *
 *  - the sockets slirp names go into an epoll set of their own, which the
 *    event loop watches as one file descriptor; the set is brought in line
 *    with the list slirp gives after every round;
 *  - a round (net_slirp_round) polls that list with no timeout, hands the
 *    results to slirp_pollfds_poll, and asks slirp for the next list;
 *  - one timerfd wakes the loop for the earlier of slirp's sleep limit and
 *    its own timers (timer_new/timer_mod).
 *
 * A round runs whenever anything happened that slirp must see: one of its
 * sockets is ready, the timer fired, the guest sent frames (which may open
 * sockets), a forward was added or removed.
 */
#include <errno.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "loop.h"
#include "net_slirp.h"
#include "vmm.h"

#define NET_GUEST_ADDR		"10.0.2.15"
#define NET_GUEST_ERRORS_SHOWN	20	/* then slirp's complaints about the guest are counted */
#define NET_FORWARDS_MAX	64

struct net_timer {
	struct net_timer *next;
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;	/* on slirp's clock; -1: not armed */
};

struct net_forward {
	struct net_forward *next;
	struct net_forward_spec spec;
};

struct net_slirp {
	struct vm *vm;
	pthread_mutex_t *lock;
	Slirp *slirp;
	net_deliver_fn deliver;
	void *opaque;

	int epoll_fd;			/* slirp's sockets; the event loop watches it */
	int timer_fd;
	/* What slirp asked for in the last slirp_pollfds_fill(). */
	struct pollfd *pfds;
	unsigned int npfds, pfds_cap;
	/* The file descriptors now in epoll_fd, and per fd the round that last wanted it. */
	int *watched;
	unsigned int nwatched, watched_cap;
	unsigned int *wanted_round;
	unsigned int wanted_cap;
	unsigned int round;

	struct net_timer *timers;
	struct net_forward *forwards;
	unsigned int nforwards;
	unsigned long guest_errors;
};

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* --- slirp's callbacks ------------------------------------------------------- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *ns = opaque;

	ns->deliver(ns->opaque, buf, len);
	return len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct net_slirp *ns = opaque;

	/* A guest sending garbage must not be able to flood our stderr. */
	if (ns->guest_errors++ < NET_GUEST_ERRORS_SHOWN)
		pr_warn("virtio-net: the guest sent something the NAT refuses: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_slirp *ns = opaque;
	struct net_timer *t = xcalloc(1, sizeof(*t));

	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = ns->timers;
	ns->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *ns = opaque;
	struct net_timer **pp;

	for (pp = &ns->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = (*pp)->next;
			free(timer);
			return;
		}
	}
}

/* The timerfd is set at the end of the round this is called in. */
static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct net_timer *)timer)->expire_ms = expire_ms;
}

/* Socket lists are taken afresh each round, so these have nothing to do. */
static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
}

static const SlirpCb net_slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

/* --- the poll round ---------------------------------------------------------- */

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *ns = opaque;
	short ev = 0;

	if (ns->npfds == ns->pfds_cap) {
		ns->pfds_cap = ns->pfds_cap ? ns->pfds_cap * 2 : 16;
		ns->pfds = realloc(ns->pfds, ns->pfds_cap * sizeof(*ns->pfds));
		if (!ns->pfds)
			die("virtio-net: out of memory for the NAT's socket list");
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	ns->pfds[ns->npfds] = (struct pollfd){ .fd = fd, .events = ev };
	return ns->npfds++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct net_slirp *ns = opaque;
	short rev;
	int events = 0;

	if (idx < 0 || (unsigned int)idx >= ns->npfds)
		return 0;
	rev = ns->pfds[idx].revents;
	if (rev & POLLIN)
		events |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		events |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		events |= SLIRP_POLL_PRI;
	if (rev & POLLERR)
		events |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		events |= SLIRP_POLL_HUP;
	return events;
}

static void watch_mark(struct net_slirp *ns, int fd)
{
	if ((unsigned int)fd >= ns->wanted_cap) {
		unsigned int cap = ns->wanted_cap ? ns->wanted_cap : 64;

		while (cap <= (unsigned int)fd)
			cap *= 2;
		ns->wanted_round = realloc(ns->wanted_round, cap * sizeof(*ns->wanted_round));
		if (!ns->wanted_round)
			die("virtio-net: out of memory for the NAT's socket list");
		memset(ns->wanted_round + ns->wanted_cap, 0,
		       (cap - ns->wanted_cap) * sizeof(*ns->wanted_round));
		ns->wanted_cap = cap;
	}
	ns->wanted_round[fd] = ns->round;
}

/*
 * Makes epoll_fd watch exactly what slirp just asked for.  Every wanted fd
 * is (re)set, not only changed ones: slirp may have closed a socket and
 * got the same number back for a new one, which epoll has never seen.
 */
static void net_slirp_sync_epoll(struct net_slirp *ns)
{
	unsigned int i, kept = 0;

	ns->round++;
	if (!ns->round)		/* 0 means "never"; skip it on wrap-around */
		ns->round++;
	for (i = 0; i < ns->npfds; i++) {
		int fd = ns->pfds[i].fd;
		struct epoll_event ev = { .data.fd = fd };

		if (fd < 0)
			continue;
		if (ns->pfds[i].events & POLLIN)
			ev.events |= EPOLLIN;
		if (ns->pfds[i].events & POLLOUT)
			ev.events |= EPOLLOUT;
		if (ns->pfds[i].events & POLLPRI)
			ev.events |= EPOLLPRI;
		if (epoll_ctl(ns->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
		    (errno != ENOENT || epoll_ctl(ns->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0))
			pr_warn_errno("virtio-net: watching NAT socket %d", fd);
		watch_mark(ns, fd);
	}
	/* What slirp no longer asks for (or closed) leaves the set. */
	for (i = 0; i < ns->nwatched; i++) {
		int fd = ns->watched[i];

		if (ns->wanted_round[fd] != ns->round)
			epoll_ctl(ns->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	}
	if (ns->watched_cap < ns->npfds) {
		ns->watched_cap = ns->npfds;
		ns->watched = realloc(ns->watched, ns->watched_cap * sizeof(*ns->watched));
		if (!ns->watched)
			die("virtio-net: out of memory for the NAT's socket list");
	}
	for (i = 0; i < ns->npfds; i++)
		if (ns->pfds[i].fd >= 0)
			ns->watched[kept++] = ns->pfds[i].fd;
	ns->nwatched = kept;
}

static void net_slirp_run_timers(struct net_slirp *ns)
{
	int64_t now = clock_ms();
	struct net_timer *t;

	/* A callback may re-arm or free timers: look again after each one. */
again:
	for (t = ns->timers; t; t = t->next) {
		if (t->expire_ms >= 0 && t->expire_ms <= now) {
			t->expire_ms = -1;
			t->cb(t->cb_opaque);
			goto again;
		}
	}
}

/* Wakes the loop after timeout_ms (UINT32_MAX: never), or at slirp's next timer. */
static void net_slirp_arm_timer(struct net_slirp *ns, uint32_t timeout_ms)
{
	int64_t now = clock_ms(), deadline = -1;
	struct itimerspec its = { 0 };
	struct net_timer *t;

	if (timeout_ms != UINT32_MAX)
		deadline = now + timeout_ms;
	for (t = ns->timers; t; t = t->next)
		if (t->expire_ms >= 0 && (deadline < 0 || t->expire_ms < deadline))
			deadline = t->expire_ms;
	if (deadline >= 0) {
		int64_t wait_ms = deadline > now ? deadline - now : 0;

		its.it_value.tv_sec = wait_ms / 1000;
		its.it_value.tv_nsec = (wait_ms % 1000) * 1000000;
		if (!wait_ms)
			its.it_value.tv_nsec = 1;	/* zero would disarm it */
	}
	if (timerfd_settime(ns->timer_fd, 0, &its, NULL) < 0)
		die_errno("virtio-net: setting the NAT's timer");
}

/* Asks slirp what to watch next and sets the epoll set and timer to it. */
static void net_slirp_fill(struct net_slirp *ns)
{
	uint32_t timeout = UINT32_MAX;

	ns->npfds = 0;
	slirp_pollfds_fill(ns->slirp, &timeout, cb_add_poll, ns);
	net_slirp_sync_epoll(ns);
	net_slirp_arm_timer(ns, timeout);
}

/* One round: what the sockets have, slirp's timers, then the next list (lock held). */
static void net_slirp_round(struct net_slirp *ns)
{
	int failed = 0;

	if (ns->npfds && poll(ns->pfds, ns->npfds, 0) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			pr_warn_errno("virtio-net: polling the NAT's sockets");
		failed = 1;
	}
	net_slirp_run_timers(ns);
	slirp_pollfds_poll(ns->slirp, failed, cb_get_revents, ns);
	net_slirp_fill(ns);
}

static void net_slirp_sockets_ready(void *opaque, uint32_t events)
{
	struct net_slirp *ns = opaque;
	struct epoll_event evs[64];

	pthread_mutex_lock(ns->lock);
	/*
	 * What is ready does not matter here: poll() in the round asks each
	 * socket.  One look trims the set's ready list; looping until it is
	 * empty would never end, its sockets being level-triggered.
	 */
	epoll_wait(ns->epoll_fd, evs, 64, 0);
	net_slirp_round(ns);
	pthread_mutex_unlock(ns->lock);
}

static void net_slirp_timer_fired(void *opaque, uint32_t events)
{
	struct net_slirp *ns = opaque;
	uint64_t expirations;

	if (read(ns->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		pr_warn_errno("virtio-net: reading the NAT's timer");
	pthread_mutex_lock(ns->lock);
	net_slirp_round(ns);
	pthread_mutex_unlock(ns->lock);
}

void net_slirp_input(struct net_slirp *ns, const uint8_t *frame, size_t len)
{
	slirp_input(ns->slirp, frame, len);
}

void net_slirp_kick(struct net_slirp *ns)
{
	net_slirp_round(ns);
}

/* --- port forwards ----------------------------------------------------------- */

bool net_parse_proto(const char *arg, bool *udp, char *why, size_t why_len)
{
	if (!strcmp(arg, "tcp") || !strcmp(arg, "udp")) {
		*udp = arg[0] == 'u';
		return true;
	}
	snprintf(why, why_len, "unknown protocol '%s' (tcp or udp)", arg);
	return false;
}

bool net_parse_port(const char *what, const char *arg, uint16_t *port, char *why,
		    size_t why_len)
{
	unsigned long n = 0;
	const char *p;

	for (p = arg; *p >= '0' && *p <= '9' && n <= 65535; p++)
		n = n * 10 + (*p - '0');
	if (p == arg || *p || n < 1 || n > 65535) {
		snprintf(why, why_len, "%s '%s' is not a port number from 1 to 65535", what, arg);
		return false;
	}
	*port = n;
	return true;
}

bool net_parse_forward(const char *spec, struct net_forward_spec *f, char *why, size_t why_len)
{
	char buf[32], *host, *guest;

	if (strlen(spec) >= sizeof(buf) || !(host = strchr(strcpy(buf, spec), ':')) ||
	    !(guest = strchr(host + 1, ':'))) {
		snprintf(why, why_len, "'%s' is not PROTO:HOSTPORT:GUESTPORT", spec);
		return false;
	}
	*host++ = '\0';
	*guest++ = '\0';
	return net_parse_proto(buf, &f->udp, why, why_len) &&
	       net_parse_port("host port", host, &f->host_port, why, why_len) &&
	       net_parse_port("guest port", guest, &f->guest_port, why, why_len);
}

static const char *proto_name(bool udp)
{
	return udp ? "udp" : "tcp";
}

static struct net_forward **forward_find(struct net_slirp *ns, bool udp, uint16_t host_port)
{
	struct net_forward **pp;

	for (pp = &ns->forwards; *pp; pp = &(*pp)->next)
		if ((*pp)->spec.udp == udp && (*pp)->spec.host_port == host_port)
			return pp;
	return NULL;
}

bool net_slirp_forward_add(struct net_slirp *ns, const struct net_forward_spec *f, char *why,
			   size_t why_len)
{
	struct in_addr host = { htonl(INADDR_LOOPBACK) }, guest;
	struct net_forward **old = forward_find(ns, f->udp, f->host_port), *fwd;

	if (old) {
		snprintf(why, why_len, "%s host port %u is already forwarded (to guest port %u)",
			 proto_name(f->udp), f->host_port, (*old)->spec.guest_port);
		return false;
	}
	if (ns->nforwards == NET_FORWARDS_MAX) {
		snprintf(why, why_len, "already %d forwards", NET_FORWARDS_MAX);
		return false;
	}
	inet_pton(AF_INET, NET_GUEST_ADDR, &guest);
	errno = 0;
	if (slirp_add_hostfwd(ns->slirp, f->udp, host, f->host_port, guest, f->guest_port) < 0) {
		snprintf(why, why_len, "listening on 127.0.0.1:%u (%s): %s", f->host_port,
			 proto_name(f->udp), errno ? strerror(errno) : "refused by the NAT");
		return false;
	}
	fwd = xcalloc(1, sizeof(*fwd));
	fwd->spec = *f;
	fwd->next = ns->forwards;
	ns->forwards = fwd;
	ns->nforwards++;
	/* The new listening socket joins the set. */
	net_slirp_fill(ns);
	return true;
}

static int forward_remove(struct net_slirp *ns, int argc, char **argv, struct control_reply *r)
{
	struct in_addr host = { htonl(INADDR_LOOPBACK) };
	struct net_forward **pp, *fwd;
	uint16_t port;
	char why[160];
	bool udp;

	if (argc != 4)
		return control_error(r, "usage: forward remove tcp|udp HOSTPORT");
	if (!net_parse_proto(argv[2], &udp, why, sizeof(why)) ||
	    !net_parse_port("host port", argv[3], &port, why, sizeof(why)))
		return control_error(r, "%s", why);
	pp = forward_find(ns, udp, port);
	if (!pp)
		return control_error(r, "no %s forward from host port %u", proto_name(udp), port);
	if (slirp_remove_hostfwd(ns->slirp, udp, host, port) < 0)
		pr_warn("virtio-net: the NAT had no %s forward from port %u to remove",
			proto_name(udp), port);
	fwd = *pp;
	*pp = fwd->next;
	free(fwd);
	ns->nforwards--;
	net_slirp_fill(ns);
	return 0;
}

/* The list, oldest first, as "PROTO HOSTPORT GUESTPORT" lines. */
static void forward_list(struct net_forward *fwd, struct control_reply *r)
{
	if (!fwd)
		return;
	forward_list(fwd->next, r);
	control_printf(r, "%s %u %u", proto_name(fwd->spec.udp), fwd->spec.host_port,
		       fwd->spec.guest_port);
}

static int forward_command(void *opaque, int argc, char **argv, struct control_reply *r)
{
	struct net_slirp *ns = opaque;
	struct net_forward_spec f;
	char why[160];
	int ret = 0;

	pthread_mutex_lock(ns->lock);
	if (argc == 2 && !strcmp(argv[1], "list")) {
		forward_list(ns->forwards, r);
	} else if (argc >= 2 && !strcmp(argv[1], "add")) {
		if (argc != 5)
			ret = control_error(r, "usage: forward add tcp|udp HOSTPORT GUESTPORT");
		else if (!net_parse_proto(argv[2], &f.udp, why, sizeof(why)) ||
			 !net_parse_port("host port", argv[3], &f.host_port, why, sizeof(why)) ||
			 !net_parse_port("guest port", argv[4], &f.guest_port, why, sizeof(why)) ||
			 !net_slirp_forward_add(ns, &f, why, sizeof(why)))
			ret = control_error(r, "%s", why);
	} else if (argc >= 2 && !strcmp(argv[1], "remove")) {
		ret = forward_remove(ns, argc, argv, r);
	} else {
		ret = control_error(r, "usage: forward add|remove|list ...");
	}
	pthread_mutex_unlock(ns->lock);
	return ret;
}

/* --- set-up ------------------------------------------------------------------ */

struct net_slirp *net_slirp_create(struct vm *vm, pthread_mutex_t *lock, net_deliver_fn deliver,
				   void *opaque)
{
	struct net_slirp *ns = xcalloc(1, sizeof(*ns));
	SlirpConfig cfg = {
		.version = 3,
		.in_enabled = true,
		.vnetwork.s_addr = htonl(0x0a000200),		/* 10.0.2.0 */
		.vnetmask.s_addr = htonl(0xffffff00),		/* /24 */
		.vhost.s_addr = htonl(0x0a000202),		/* 10.0.2.2: the host */
		.vdhcp_start.s_addr = htonl(0x0a00020f),	/* 10.0.2.15: the guest */
		.vnameserver.s_addr = htonl(0x0a000203),	/* 10.0.2.3: DNS */
	};

	ns->vm = vm;
	ns->lock = lock;
	ns->deliver = deliver;
	ns->opaque = opaque;
	ns->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ns->epoll_fd < 0)
		die_errno("virtio-net: creating the epoll set for the NAT's sockets");
	ns->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ns->timer_fd < 0)
		die_errno("virtio-net: creating the NAT's timer");
	ns->slirp = slirp_new(&cfg, &net_slirp_callbacks, ns);
	if (!ns->slirp)
		die("virtio-net: libslirp %s would not start its NAT", slirp_version_string());
	loop_add(vm->loop, ns->epoll_fd, EPOLLIN, net_slirp_sockets_ready, ns);
	loop_add(vm->loop, ns->timer_fd, EPOLLIN, net_slirp_timer_fired, ns);
	net_slirp_fill(ns);
	control_command("forward", "add tcp|udp HOSTPORT GUESTPORT | remove tcp|udp HOSTPORT | list",
			forward_command, ns);
	return ns;
}
