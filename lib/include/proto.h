/* SPDX-License-Identifier: MIT */
#ifndef OPENWSL_PROTO_H
#define OPENWSL_PROTO_H

/*
 * The host⇄guest protocol, spoken over vsock between the host tools (wsl)
 * and the guest init.  One definition, one encoder and one decoder, used by
 * both ends and by the fuzz target.
 *
 * Every message is a 12-byte header followed by its payload, all
 * little-endian:
 *
 *	u32 type	one of enum proto_type
 *	u32 size	header + payload, PROTO_HEADER_SIZE..PROTO_MAX_MESSAGE
 *	u32 id		chosen by the requester, echoed in the reply
 *
 * A connection starts with HELLO from the side that opened it, answered
 * with HELLO (or ERROR naming both versions on a mismatch).  Strings are
 * NUL-terminated inside the payload; every length and count is checked
 * against the message size before anything is used.
 */
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION	     1
/*
 * vsock ports.  PROTO_PORT carries one request per connection; two of them
 * turn the connection into something else once answered OK: CONNECT_PORT
 * (a TCP connection's bytes) and MOUNT_DISTRO (a 9P2000.L session on the
 * distro's root, as the distro's own processes see it: the host mounts it
 * with the v9fs client over trans=fd).
 */
#define PROTO_PORT	     5000 /* vsock port the init serves the host on */
#define PROTO_READY_PORT     5001 /* vsock port on the host the init reports ready to */
#define PROTO_EVENT_PORT     5002 /* vsock port on the host the init sends LISTENER events to */
#define PROTO_HEADER_SIZE    12
#define PROTO_MAX_MESSAGE    (256 * 1024)
#define PROTO_MAX_PAYLOAD    (PROTO_MAX_MESSAGE - PROTO_HEADER_SIZE)
#define PROTO_MAX_STRINGS    4096 /* argv + env entries in one CREATE */

enum proto_type {
	PROTO_HELLO = 1,	 /* u32 version */
	PROTO_READY,		 /* guest → host: u32 version; the init can serve */
	PROTO_OK,		 /* empty: the request with this id succeeded */
	PROTO_ERROR,		 /* i32 errno, string message */
	PROTO_CREATE_PROCESS,	 /* see struct proto_create */
	PROTO_PROCESS_STARTED,	 /* u32 pid (in the distro's PID namespace) */
	PROTO_STREAM,		 /* u32 stream, bytes; no bytes = end of stream */
	PROTO_RESIZE,		 /* u16 rows, u16 columns */
	PROTO_SIGNAL,		 /* u32 signal number */
	PROTO_EXIT,		 /* u32 status: exit code, or 128 + signal */
	PROTO_LIST_DISTROS,	 /* empty */
	PROTO_DISTRO_LIST,	 /* u32 count, then count × (u32 state, string name) */
	PROTO_TERMINATE_DISTRO,	 /* string name */
	PROTO_SHUTDOWN,		 /* empty */
	PROTO_LISTENER,		 /* u32 event, u16 port, u16 family, string distro */
	PROTO_CONNECT_PORT,	 /* u16 port, u16 family: OK, then the connection's raw bytes */
	PROTO_MOUNT_DISTRO,	 /* string name: OK, then 9P2000.L serving the distro's root */
	PROTO_TYPE_MAX,
};

enum proto_stream {
	PROTO_STDIN,
	PROTO_STDOUT,
	PROTO_STDERR,
};

enum proto_distro_state {
	PROTO_DISTRO_STOPPED,
	PROTO_DISTRO_RUNNING,
};

enum proto_listener_event {
	PROTO_LISTENER_ADDED,
	PROTO_LISTENER_REMOVED,
};

#define PROTO_CREATE_PTY 0x1 /* run on a new pty (rows, columns) instead of pipes */

struct proto_msg {
	uint32_t type;
	uint32_t id;
	uint32_t len; /* payload bytes */
	const uint8_t *payload;
};

/* CREATE_PROCESS: u32 flags, u16 rows, u16 columns, u32 argc, u32 envc,
 * then strings: distro, user, cwd, argv[argc], env[envc]. */
struct proto_create {
	uint32_t flags;
	uint16_t rows, columns;
	const char *distro; /* "" = the default distro */
	const char *user;   /* "" = the distro's default user */
	const char *cwd;    /* "" = the user's home */
	uint32_t argc, envc;
	const char **argv;  /* argc entries + NULL, into the message */
	const char **env;   /* envc entries + NULL */
};

struct proto_distro {
	uint32_t state;
	const char *name;
};

struct proto_listener {
	uint32_t event;
	uint16_t port, family;
	const char *distro;
};

/* A growing buffer holding one encoded message. */
struct proto_buf {
	uint8_t *data;
	size_t len, cap;
	int failed; /* out of memory or over PROTO_MAX_MESSAGE */
};

void proto_buf_free(struct proto_buf *b);

/*
 * Encoders: each appends one whole message to B (which may hold others).
 * They return 0, or -1 when the message would exceed PROTO_MAX_MESSAGE or
 * memory ran out.
 */
int proto_put_u32_msg(struct proto_buf *b, uint32_t type, uint32_t id, uint32_t value);
int proto_put_empty(struct proto_buf *b, uint32_t type, uint32_t id);
int proto_put_error(struct proto_buf *b, uint32_t id, int32_t err, const char *message);
int proto_put_create(struct proto_buf *b, uint32_t id, const struct proto_create *c);
int proto_put_stream(struct proto_buf *b, uint32_t id, uint32_t stream, const void *data,
		     size_t len);
int proto_put_resize(struct proto_buf *b, uint32_t id, uint16_t rows, uint16_t columns);
int proto_put_distro_list(struct proto_buf *b, uint32_t id, const struct proto_distro *d,
			  uint32_t count);
int proto_put_string_msg(struct proto_buf *b, uint32_t type, uint32_t id, const char *s);
int proto_put_listener(struct proto_buf *b, uint32_t id, const struct proto_listener *l);
int proto_put_connect_port(struct proto_buf *b, uint32_t id, uint16_t port, uint16_t family);

/*
 * Split BUF (LEN bytes) into its first message.  Returns the size of that
 * message, 0 if BUF does not yet hold a whole one, or -1 if the header is
 * malformed (size out of range, unknown type).
 */
long proto_parse(const uint8_t *buf, size_t len, struct proto_msg *msg);

/*
 * Decoders: check the payload of MSG (of the right type) and fill the
 * structure with values and pointers into it.  Return 0, or -1 when the
 * payload is malformed.  proto_get_create allocates argv and env:
 * proto_create_free releases them.
 */
int proto_get_u32(const struct proto_msg *msg, uint32_t *value);
int proto_get_error(const struct proto_msg *msg, int32_t *err, const char **message);
int proto_get_create(const struct proto_msg *msg, struct proto_create *c);
void proto_create_free(struct proto_create *c);
int proto_get_stream(const struct proto_msg *msg, uint32_t *stream, const uint8_t **data,
		     size_t *len);
int proto_get_resize(const struct proto_msg *msg, uint16_t *rows, uint16_t *columns);
int proto_get_string(const struct proto_msg *msg, const char **s);
/* Calls FN for each entry; stops and returns -1 on a malformed entry. */
int proto_get_distro_list(const struct proto_msg *msg,
			  void (*fn)(const struct proto_distro *d, void *arg), void *arg);
int proto_get_listener(const struct proto_msg *msg, struct proto_listener *l);
int proto_get_connect_port(const struct proto_msg *msg, uint16_t *port, uint16_t *family);

/* The name of a message type, for messages and logs. */
const char *proto_type_name(uint32_t type);

/*
 * Blocking I/O on a connected stream socket.  proto_send writes B whole and
 * empties it.  proto_recv reads one message into BUF (PROTO_MAX_MESSAGE
 * bytes) and returns 1, 0 at a clean end of stream, or -1 (errno set;
 * EPROTO for a malformed header or a stream cut inside a message).
 */
int proto_send(int fd, struct proto_buf *b);
/* write() until all of BUF is written (EINTR retried); 0 or -1. */
int proto_write_all(int fd, const void *buf, size_t len);
int proto_recv(int fd, uint8_t *buf, struct proto_msg *msg);

#endif
