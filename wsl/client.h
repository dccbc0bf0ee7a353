/* SPDX-License-Identifier: MIT */
#ifndef WSL_CLIENT_H
#define WSL_CLIENT_H

#include <stdint.h>

#include "proto.h"

/*
 * The host side of the protocol: a connection to the init through the
 * VMM's vsock Unix socket (Firecracker's hybrid scheme: "CONNECT <port>\n",
 * answered "OK <port>\n"), opened with HELLO.
 */
struct guest_conn {
	int fd;
	uint32_t next_id;
	uint8_t *buf; /* PROTO_MAX_MESSAGE bytes for replies */
};

/* Connect and greet; on failure prints why (naming SOCKET) and returns -1. */
int guest_connect(struct guest_conn *c, const char *socket_path, unsigned int port);
void guest_close(struct guest_conn *c);

/* Send B (one request) and read the reply.  Returns 0 or -1 (printed). */
int guest_request(struct guest_conn *c, struct proto_buf *b, struct proto_msg *reply);

/* Print an ERROR reply's message ("wsl: <message>") and return its errno. */
int guest_print_error(const struct proto_msg *reply);

struct run_options {
	const char *distro, *user, *cwd;
	int argc;
	char **argv;	   /* argc == 0: the user's login shell */
	int use_pty;	   /* -1: when stdin is a terminal */
	char **env;	   /* passed to the process, NULL-terminated */
};

/*
 * Run a process in the guest with our stdin, stdout and stderr; returns
 * its exit status (0-255: code, or 128+signal), or -1 on a failure that
 * was printed.
 */
int guest_run(struct guest_conn *c, const struct run_options *o);

#endif
