// SPDX-License-Identifier: MIT
/* Connecting to the guest init and simple requests (see client.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"

static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	/* Byte by byte: nothing after the newline may be consumed. */
	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

static int hybrid_connect(const char *path, unsigned int port)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char line[64];
	int fd, len;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "wsl: %s: socket path too long\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "wsl: cannot reach the VM at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (write(fd, line, len) != len || read_line(fd, line, sizeof(line)) ||
	    strncmp(line, "OK ", 3)) {
		fprintf(stderr, "wsl: the VM at %s did not accept a connection to port %u "
				"(is its init running?)\n", path, port);
		close(fd);
		return -1;
	}
	return fd;
}

int guest_connect(struct guest_conn *c, const char *socket_path, unsigned int port)
{
	struct proto_buf b = { 0 };
	struct proto_msg reply;
	uint32_t version;

	memset(c, 0, sizeof(c[0]));
	c->buf = malloc(PROTO_MAX_MESSAGE);
	if (!c->buf)
		return -1;
	c->next_id = 1;
	c->fd = hybrid_connect(socket_path, port);
	if (c->fd < 0)
		goto fail;
	if (proto_put_u32_msg(&b, PROTO_HELLO, c->next_id++, PROTO_VERSION) ||
	    guest_request(c, &b, &reply))
		goto fail;
	if (reply.type == PROTO_ERROR) {
		guest_print_error(&reply);
		goto fail;
	}
	if (reply.type != PROTO_HELLO || proto_get_u32(&reply, &version) ||
	    version != PROTO_VERSION) {
		fprintf(stderr, "wsl: the guest answered HELLO with %s: protocol version "
				"mismatch (this wsl speaks %u)\n", proto_type_name(reply.type),
			PROTO_VERSION);
		goto fail;
	}
	proto_buf_free(&b);
	return 0;
fail:
	proto_buf_free(&b);
	guest_close(c);
	return -1;
}

void guest_close(struct guest_conn *c)
{
	if (c->fd > 0)
		close(c->fd);
	free(c->buf);
	c->buf = NULL;
	c->fd = -1;
}

int guest_request(struct guest_conn *c, struct proto_buf *b, struct proto_msg *reply)
{
	int ret;

	if (proto_send(c->fd, b)) {
		fprintf(stderr, "wsl: lost the connection to the VM: %s\n", strerror(errno));
		return -1;
	}
	ret = proto_recv(c->fd, c->buf, reply);
	if (ret <= 0) {
		fprintf(stderr, "wsl: lost the connection to the VM%s%s\n", ret ? ": " : "",
			ret ? strerror(errno) : " (it closed)");
		return -1;
	}
	return 0;
}

int guest_print_error(const struct proto_msg *reply)
{
	const char *message;
	int32_t err;

	if (proto_get_error(reply, &err, &message)) {
		fprintf(stderr, "wsl: the guest sent a malformed error\n");
		return EPROTO;
	}
	fprintf(stderr, "wsl: %s\n", message);
	return err;
}
