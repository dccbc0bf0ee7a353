// SPDX-License-Identifier: MIT
/*
 * virtio-vsock whose host side is a Unix socket, speaking Firecracker's
 * hybrid protocol:
 *
 *  - a host program connects to the socket at PATH and sends
 *    "CONNECT <port>\n"; we open a stream to that guest port and, once the
 *    guest accepts, answer "OK <host port>\n"; from then on the Unix stream
 *    carries the connection's bytes both ways;
 *  - a guest connection to the host (CID 2) on port P becomes a Unix
 *    connection to PATH_P, which some host program listens on.
 *
 * Flow control is the virtio-vsock credit scheme: we never send the guest
 * more than its receive buffer has room for (peer_buf_alloc minus what is
 * in flight), and we tell it, through fwd_cnt in every header, how much
 * of what it sent has been handed on to the host socket.  Bytes the socket
 * cannot take yet wait in a per-connection buffer no bigger than the
 * credit we gave.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"
#include "unix_socket.h"
#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

#define VSOCK_RX_QUEUE		0
#define VSOCK_TX_QUEUE		1
#define VSOCK_EVENT_QUEUE	2
#define VSOCK_HOST_CID		2
#define VSOCK_BUF_ALLOC		(256 * 1024)	/* our receive buffer, per connection */
#define VSOCK_MAX_PAYLOAD	(64 * 1024)	/* most we put in one packet */
#define VSOCK_CONNECT_LINE_MAX	32		/* "CONNECT 4294967295\n" and some */
#define VSOCK_FIRST_HOST_PORT	(1u << 30)	/* host ports for CONNECT, counting up */

enum conn_state {
	CONN_HANDSHAKE,		/* host client: reading its CONNECT line */
	CONN_CONNECTING,	/* we sent the guest a REQUEST, awaiting RESPONSE */
	CONN_ESTABLISHED,
};

struct vsock_conn {
	struct vsock *vs;
	struct vsock_conn *next;
	int fd;
	struct loop_handler *handler;
	uint32_t events;		/* what the handler watches now */
	enum conn_state state;
	uint32_t host_port, guest_port;
	char line[VSOCK_CONNECT_LINE_MAX];
	size_t line_len;

	/* The guest's receive buffer, from its headers. */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;		/* payload bytes sent to the guest */
	/* Ours. */
	uint32_t fwd_cnt;		/* guest bytes handed to the host socket */
	uint32_t fwd_cnt_told;		/* fwd_cnt the guest last heard */
	uint8_t *pending;		/* guest bytes the socket has not taken */
	size_t pending_len;
	bool host_eof;			/* the host socket will send no more */
	bool readable;			/* the socket has bytes for the guest */
};

/* A control packet waiting for a receive buffer. */
struct vsock_ctl {
	struct vsock_ctl *next;
	struct virtio_vsock_hdr hdr;
};

struct vsock {
	struct vm *vm;
	struct virtio_dev *dev;
	const char *path;
	int listen_fd;
	uint64_t guest_cid;		/* also the config space */
	struct vsock_conn *conns;
	struct vsock_ctl *ctl_head, *ctl_tail;
	uint32_t next_host_port;
};

static void vsock_fill_rx(struct vsock *vs);
static void vsock_conn_event(void *opaque, uint32_t events);

static struct vsock_conn *vsock_find(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_conn *c;

	for (c = vs->conns; c; c = c->next)
		if (c->state != CONN_HANDSHAKE && c->host_port == host_port &&
		    c->guest_port == guest_port)
			return c;
	return NULL;
}

static void vsock_watch(struct vsock_conn *c, uint32_t events)
{
	if (c->events != events) {
		c->events = events;
		/*
		 * epoll reports hang-ups even when nothing is asked for; edge
		 * triggering keeps one we cannot act on yet from spinning.
		 */
		loop_modify(c->vs->vm->loop, c->handler, events ? events : EPOLLET);
	}
}

static void vsock_conn_free(struct vsock_conn *c)
{
	struct vsock_conn **pp;

	for (pp = &c->vs->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	loop_remove(c->vs->vm->loop, c->handler);
	close(c->fd);
	free(c->pending);
	free(c);
}

static void vsock_queue_ctl(struct vsock *vs, uint32_t host_port, uint32_t guest_port,
			    uint16_t op, uint32_t flags, uint32_t fwd_cnt)
{
	struct vsock_ctl *ctl = xcalloc(1, sizeof(*ctl));

	ctl->hdr = (struct virtio_vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = vs->guest_cid,
		.src_port = host_port,
		.dst_port = guest_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = fwd_cnt,
	};
	if (vs->ctl_tail)
		vs->ctl_tail->next = ctl;
	else
		vs->ctl_head = ctl;
	vs->ctl_tail = ctl;
}

static void vsock_conn_ctl(struct vsock_conn *c, uint16_t op, uint32_t flags)
{
	vsock_queue_ctl(c->vs, c->host_port, c->guest_port, op, flags, c->fwd_cnt);
	c->fwd_cnt_told = c->fwd_cnt;
}

/* Ends a connection: the guest hears RST, the host sees its socket close. */
static void vsock_conn_reset(struct vsock_conn *c)
{
	if (c->state != CONN_HANDSHAKE)
		vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
	vsock_conn_free(c);
}

static uint32_t vsock_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Writes what the guest sent to the host socket; false when it is gone. */
static bool vsock_conn_flush(struct vsock_conn *c)
{
	while (c->pending_len) {
		ssize_t n = send(c->fd, c->pending, c->pending_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return false;
		memmove(c->pending, c->pending + n, c->pending_len - n);
		c->pending_len -= n;
		c->fwd_cnt += n;
	}
	/* Tell the guest about freed room before it runs dry. */
	if (c->fwd_cnt - c->fwd_cnt_told >= VSOCK_BUF_ALLOC / 4)
		vsock_conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	return true;
}

static void vsock_conn_update_watch(struct vsock_conn *c)
{
	uint32_t events = 0;

	if (c->state == CONN_HANDSHAKE)
		events = EPOLLIN;
	if (c->state == CONN_ESTABLISHED && !c->host_eof && !c->readable && vsock_credit(c))
		events |= EPOLLIN;
	if (c->pending_len)
		events |= EPOLLOUT;
	vsock_watch(c, events);
}

/* --- the guest's packets (transmit queue) ------------------------------------ */

static void vsock_guest_connect(struct vsock *vs, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd;

	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s_%u", vs->path,
			     h->dst_port) >= sizeof(addr.sun_path)) {
		vsock_queue_ctl(vs, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0, 0);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* Nobody listens there: the guest's connect() fails. */
		if (fd >= 0)
			close(fd);
		vsock_queue_ctl(vs, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0, 0);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->vs = vs;
	c->fd = fd;
	c->state = CONN_ESTABLISHED;
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->next = vs->conns;
	vs->conns = c;
	c->handler = loop_add(vs->vm->loop, fd, 0, vsock_conn_event, c);
	vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
}

static void vsock_conn_established(struct vsock_conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);

	c->state = CONN_ESTABLISHED;
	/* The line is short and the socket fresh: it fits in its buffer. */
	if (send(c->fd, ok, n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		vsock_conn_reset(c);
}

/* Guest payload for c: to the socket, or into pending while it is full. */
static bool vsock_conn_take(struct vsock_conn *c, const struct iovec *iov, unsigned int n,
			    size_t offset, size_t len)
{
	if (c->pending_len + len > VSOCK_BUF_ALLOC) {
		pr_warn("virtio-vsock: guest port %u sent past the credit it was given",
			c->guest_port);
		return false;
	}
	if (!c->pending)
		c->pending = xcalloc(1, VSOCK_BUF_ALLOC);
	iov_to_buf(iov, n, offset, c->pending + c->pending_len, len);
	c->pending_len += len;
	return vsock_conn_flush(c);
}

static void vsock_guest_packet(struct vsock *vs, struct virtq_chain *chain)
{
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;

	if (chain->out_len < sizeof(h))
		return;
	iov_to_buf(chain->iov, chain->nout, 0, &h, sizeof(h));
	if (h.len > chain->out_len - sizeof(h) || h.src_cid != vs->guest_cid)
		return;
	if (h.dst_cid != VSOCK_HOST_CID || h.type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (h.op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_ctl(vs, h.dst_port, h.src_port, VIRTIO_VSOCK_OP_RST, 0, 0);
		return;
	}
	c = vsock_find(vs, h.dst_port, h.src_port);
	if (!c) {
		if (h.op == VIRTIO_VSOCK_OP_REQUEST) {
			vm_guest_ready(vs->vm, "first vsock connection");
			vsock_guest_connect(vs, &h);
		}
		else if (h.op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_ctl(vs, h.dst_port, h.src_port, VIRTIO_VSOCK_OP_RST, 0, 0);
		return;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == CONN_CONNECTING)
			vsock_conn_established(c);
		else
			vsock_conn_reset(c);
		return;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != CONN_ESTABLISHED ||
		    !vsock_conn_take(c, chain->iov, chain->nout, sizeof(h), h.len)) {
			vsock_conn_reset(c);
			return;
		}
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		vsock_conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if ((h.flags & VIRTIO_VSOCK_SHUTDOWN_RCV) && (h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
			/* The guest closed: hand on what it sent, then both sides end. */
			vsock_conn_flush(c);
			vsock_conn_reset(c);
			return;
		}
		if (h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			shutdown(c->fd, SHUT_WR);
		break;
	case VIRTIO_VSOCK_OP_RST:
		vsock_conn_free(c);
		return;
	default:
		vsock_conn_reset(c);
		return;
	}
	vsock_conn_update_watch(c);
}

static void vsock_tx_notify(struct vsock *vs)
{
	struct virtio_dev *dev = vs->dev;
	struct virtq_chain chain;
	bool used = false;

	while (virtio_pop(dev, VSOCK_TX_QUEUE, &chain)) {
		vsock_guest_packet(vs, &chain);
		virtq_push(&dev->queues[VSOCK_TX_QUEUE], chain.head, 0);
		used = true;
	}
	if (used)
		virtio_notify_used(dev, VSOCK_TX_QUEUE);
}

/* --- packets to the guest (receive queue) ------------------------------------ */

/* Reads host bytes into one receive buffer; false when there were none. */
static bool vsock_rx_data(struct vsock_conn *c, struct virtq_chain *chain, uint32_t *used)
{
	struct virtio_vsock_hdr h;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct iovec *in = virtq_chain_in(chain);
	size_t room = chain->in_len - sizeof(h), skip = sizeof(h);
	unsigned int i, k = 0;
	ssize_t n;

	if (room > vsock_credit(c))
		room = vsock_credit(c);
	if (room > VSOCK_MAX_PAYLOAD)
		room = VSOCK_MAX_PAYLOAD;
	/* The payload follows the header, wherever the header ends. */
	for (i = 0; i < chain->nin && room; i++) {
		size_t len = in[i].iov_len;
		uint8_t *base = in[i].iov_base;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		base += skip;
		len -= skip;
		skip = 0;
		if (len > room)
			len = room;
		iov[k].iov_base = base;
		iov[k++].iov_len = len;
		room -= len;
	}
	do
		n = readv(c->fd, iov, k);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n <= 0) {
		/* The host closed (or broke) its end: the guest reads end of file. */
		c->host_eof = true;
		vsock_conn_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN,
			       VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
		return false;
	}
	h = (struct virtio_vsock_hdr){
		.src_cid = VSOCK_HOST_CID, .dst_cid = c->vs->guest_cid,
		.src_port = c->host_port, .dst_port = c->guest_port,
		.len = n, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = VIRTIO_VSOCK_OP_RW,
		.buf_alloc = VSOCK_BUF_ALLOC, .fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_told = c->fwd_cnt;
	iov_from_buf(in, chain->nin, 0, &h, sizeof(h));
	c->tx_cnt += n;
	*used = sizeof(h) + n;
	return true;
}

static struct vsock_conn *vsock_readable_conn(struct vsock *vs)
{
	struct vsock_conn *c;

	for (c = vs->conns; c; c = c->next)
		if (c->state == CONN_ESTABLISHED && c->readable && !c->host_eof &&
		    vsock_credit(c))
			return c;
	return NULL;
}

/*
 * Fills receive buffers: control packets first, then data from sockets
 * that said they were readable, as far as the guest's credit allows.
 */
static void vsock_fill_rx(struct vsock *vs)
{
	struct virtio_dev *dev = vs->dev;
	struct virtq_chain chain;
	struct vsock_conn *c = NULL;
	bool used = false;

	while (vs->ctl_head || (c = vsock_readable_conn(vs))) {
		uint32_t len = 0;

		if (!virtio_pop(dev, VSOCK_RX_QUEUE, &chain))
			break;
		if (chain.in_len < sizeof(struct virtio_vsock_hdr)) {
			virtq_push(&dev->queues[VSOCK_RX_QUEUE], chain.head, 0);
			used = true;
			continue;
		}
		if (vs->ctl_head) {
			struct vsock_ctl *ctl = vs->ctl_head;

			vs->ctl_head = ctl->next;
			if (!vs->ctl_head)
				vs->ctl_tail = NULL;
			len = iov_from_buf(virtq_chain_in(&chain), chain.nin, 0, &ctl->hdr,
					   sizeof(ctl->hdr));
			free(ctl);
		} else if (!vsock_rx_data(c, &chain, &len)) {
			/* Drained (or closed): wait for epoll to say there is more. */
			c->readable = false;
			virtio_unpop(dev, VSOCK_RX_QUEUE);
			vsock_conn_update_watch(c);
			continue;
		}
		virtq_push(&dev->queues[VSOCK_RX_QUEUE], chain.head, len);
		used = true;
	}
	if (used)
		virtio_notify_used(dev, VSOCK_RX_QUEUE);
	for (c = vs->conns; c; c = c->next)
		vsock_conn_update_watch(c);
}

/* --- host sockets ------------------------------------------------------------ */

/* Reads the CONNECT line a byte at a time, so no stream data is taken. */
static void vsock_handshake(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	unsigned int port;
	char extra;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, &c->line[c->line_len], 1, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			vsock_conn_free(c);
			return;
		}
		if (c->line[c->line_len++] == '\n')
			break;
		if (c->line_len == sizeof(c->line) - 1) {
			vsock_conn_free(c);
			return;
		}
	}
	c->line[c->line_len] = '\0';
	if (sscanf(c->line, "CONNECT %u%c", &port, &extra) != 2 || extra != '\n') {
		vsock_conn_free(c);
		return;
	}
	c->line_len = 0;
	c->guest_port = port;
	c->host_port = vs->next_host_port++;
	c->state = CONN_CONNECTING;
	vsock_conn_ctl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
	vsock_watch(c, 0);
}

static void vsock_conn_event(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct vsock *vs = c->vs;

	pthread_mutex_lock(&vs->dev->lock);
	if (c->state == CONN_HANDSHAKE) {
		vsock_handshake(c);
	} else {
		if ((events & EPOLLOUT) && !vsock_conn_flush(c)) {
			vsock_conn_reset(c);
			c = NULL;
		}
		if (c && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
			/* fill_rx reads it once there is a buffer and credit. */
			c->readable = true;
			vsock_watch(c, c->events & ~EPOLLIN);
		}
	}
	if (virtio_is_live(vs->dev))
		vsock_fill_rx(vs);
	pthread_mutex_unlock(&vs->dev->lock);
}

static void vsock_accept(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;
	struct vsock_conn *c;
	int fd;

	fd = accept4(vs->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			pr_warn_errno("virtio-vsock: accepting a connection on %s", vs->path);
		return;
	}
	pthread_mutex_lock(&vs->dev->lock);
	if (!virtio_is_live(vs->dev)) {
		/* No guest driver to connect to yet: the client may retry. */
		pthread_mutex_unlock(&vs->dev->lock);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->vs = vs;
	c->fd = fd;
	c->state = CONN_HANDSHAKE;
	c->events = EPOLLIN;
	c->next = vs->conns;
	vs->conns = c;
	c->handler = loop_add(vs->vm->loop, fd, EPOLLIN, vsock_conn_event, c);
	pthread_mutex_unlock(&vs->dev->lock);
}

/* --- the device -------------------------------------------------------------- */

static void vsock_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct vsock *vs = dev->priv;

	if (q == VSOCK_TX_QUEUE)
		vsock_tx_notify(vs);
	/* New receive buffers, or room freed by what the guest sent. */
	if (q != VSOCK_EVENT_QUEUE)
		vsock_fill_rx(vs);
}

static void vsock_reset(struct virtio_dev *dev)
{
	struct vsock *vs = dev->priv;

	while (vs->conns)
		vsock_conn_free(vs->conns);
	while (vs->ctl_head) {
		struct vsock_ctl *ctl = vs->ctl_head;

		vs->ctl_head = ctl->next;
		free(ctl);
	}
	vs->ctl_tail = NULL;
}

static const struct virtio_device_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.config_size = sizeof(uint64_t),
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
};

void virtio_vsock_init(struct vm *vm, uint64_t guest_cid, const char *uds_path)
{
	struct vsock *vs = xcalloc(1, sizeof(*vs));

	vs->vm = vm;
	vs->path = uds_path;
	vs->guest_cid = guest_cid;
	vs->next_host_port = VSOCK_FIRST_HOST_PORT;
	vs->listen_fd = unix_listen_private("--vsock", uds_path, sizeof("_4294967295"));
	loop_add(vm->loop, vs->listen_fd, EPOLLIN, vsock_accept, vs);
	vs->dev = virtio_mmio_register(vm, &vsock_ops, vs, &vs->guest_cid);
}
