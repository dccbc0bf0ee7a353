// SPDX-License-Identifier: MIT
/* Blocking send and receive of whole protocol messages (see proto.h). */
#include <errno.h>
#include <unistd.h>

#include "proto.h"

int proto_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* 1 when LEN bytes were read, 0 at end of stream before any, -1 otherwise. */
static int read_all(int fd, uint8_t *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			if (got == 0)
				return 0;
			errno = EPROTO;
			return -1;
		}
		got += n;
	}
	return 1;
}

int proto_send(int fd, struct proto_buf *b)
{
	int ret = proto_write_all(fd, b->data, b->len);

	b->len = 0;
	return ret;
}

int proto_recv(int fd, uint8_t *buf, struct proto_msg *msg)
{
	uint32_t size;
	int ret;

	ret = read_all(fd, buf, PROTO_HEADER_SIZE);
	if (ret <= 0)
		return ret;
	size = buf[4] | buf[5] << 8 | buf[6] << 16 | (uint32_t)buf[7] << 24;
	if (size < PROTO_HEADER_SIZE || size > PROTO_MAX_MESSAGE) {
		errno = EPROTO;
		return -1;
	}
	if (size > PROTO_HEADER_SIZE) {
		ret = read_all(fd, buf + PROTO_HEADER_SIZE, size - PROTO_HEADER_SIZE);
		if (ret <= 0) {
			errno = EPROTO;
			return -1;
		}
	}
	if (proto_parse(buf, size, msg) != (long)size) {
		errno = EPROTO;
		return -1;
	}
	return 1;
}
