// SPDX-License-Identifier: MIT
/* Serving 9P over a byte stream: size-prefixed messages, one at a time. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "p9_internal.h"

/* Read exactly LEN bytes: 1, 0 at end of file before the first, -errno. */
static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return got ? -EPIPE : 0;
		got += n;
	}
	return 1;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

int p9_server_serve_stream(struct p9_server *s, int rfd, int wfd)
{
	size_t max = s->max_msize;
	uint8_t *req = malloc(max), *reply = malloc(max);
	int err = req && reply ? 0 : -ENOMEM;

	while (!err) {
		uint32_t size;
		size_t n;

		err = read_full(rfd, req, 4);
		if (err <= 0)
			break;
		size = p9_msg_size(req);
		if (size < P9_HEADER_SIZE || size > max) {
			err = -EBADMSG; /* the stream has lost its framing: nothing to answer */
			break;
		}
		err = read_full(rfd, req + 4, size - 4);
		if (err == 0)
			err = -EPIPE;
		if (err < 0)
			break;
		n = p9_server_handle(s, req, size, reply, max);
		err = write_full(wfd, reply, n);
	}
	free(req);
	free(reply);
	return err;
}
