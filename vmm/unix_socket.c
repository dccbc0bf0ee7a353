// SPDX-License-Identifier: MIT
/* The listening Unix sockets wslvm offers the host: vsock's and control's. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unix_socket.h"
#include "vmm.h"

int unix_listen_private(const char *what, const char *path, size_t reserve)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_mask;
	int fd, err;

	if (strlen(path) + reserve >= sizeof(addr.sun_path))
		die("%s %s: the path is too long for a Unix socket", what, path);
	strcpy(addr.sun_path, path);
	/* A socket left by an earlier run is ours to replace; anything else is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			die("%s %s: exists and is not a socket", what, path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die_errno("%s %s: creating the socket", what, path);
	/* Owner-only from the start: nobody else may ever reach into the guest. */
	old_mask = umask(0177);
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_mask);
	if (err < 0)
		die_errno("%s %s: binding the socket", what, path);
	if (listen(fd, 16) < 0)
		die_errno("%s %s: listening", what, path);
	return fd;
}
