// SPDX-License-Identifier: MIT
/*
 * vsock-peer: the host end of the vsock test, speaking wslvm's hybrid
 * Unix-socket protocol.
 *
 *   vsock-peer connect SOCKET PORT TEXT   connect to guest PORT through
 *       SOCKET ("CONNECT PORT\n", expect "OK <n>\n"), send TEXT and a
 *       newline, print the guest's one-line answer; retry while the guest
 *       is not listening yet
 *   vsock-peer listen PATH               accept one connection on PATH (a
 *       guest connecting to host port P reaches SOCKET_P), read a line and
 *       answer "host heard: LINE"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "vsock-peer: %s: %s\n", what, errno ? strerror(errno) : "unexpected");
	return 1;
}

static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n < size - 1) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)n;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return n;
}

static int unix_addr(const char *path, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path))
		return -1;
	strcpy(addr->sun_path, path);
	return 0;
}

/* One attempt; returns the socket once the guest accepted, or -1. */
static int try_connect(const char *path, const char *port)
{
	struct sockaddr_un addr;
	char line[64];
	int fd;

	if (unix_addr(path, &addr) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    dprintf(fd, "CONNECT %s\n", port) < 0 || read_line(fd, line, sizeof(line)) <= 0 ||
	    strncmp(line, "OK ", 3)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int do_connect(const char *path, const char *port, const char *text)
{
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };
	char line[512];
	int fd = -1, tries;

	for (tries = 0; tries < 300 && fd < 0; tries++) {
		fd = try_connect(path, port);
		if (fd < 0)
			nanosleep(&pause, NULL);
	}
	if (fd < 0)
		return fail("connecting to the guest through the socket");
	if (dprintf(fd, "%s\n", text) < 0)
		return fail("sending to the guest");
	if (read_line(fd, line, sizeof(line)) <= 0)
		return fail("reading the guest's answer");
	fputs(line, stdout);
	close(fd);
	return 0;
}

static int do_listen(const char *path)
{
	struct sockaddr_un addr;
	char line[512];
	int lfd, fd;

	if (unix_addr(path, &addr) < 0)
		return fail("socket path too long");
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1) < 0)
		return fail("listening");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accepting the guest's connection");
	if (read_line(fd, line, sizeof(line)) <= 0)
		return fail("reading from the guest");
	if (dprintf(fd, "host heard: %s", line) < 0)
		return fail("answering the guest");
	fputs(line, stdout);
	close(fd);
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "connect"))
		return do_connect(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(argv[2]);
	fprintf(stderr, "usage: vsock-peer connect SOCKET PORT TEXT | listen PATH\n");
	return 2;
}
