// SPDX-License-Identifier: MIT
/* Encoding and decoding of host⇄guest protocol messages (see proto.h). */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* --- encoding ------------------------------------------------------------ */

void proto_buf_free(struct proto_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int buf_reserve(struct proto_buf *b, size_t more)
{
	size_t cap;
	uint8_t *n;

	if (b->failed)
		return -1;
	if (b->len + more <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	n = realloc(b->data, cap);
	if (!n) {
		b->failed = 1;
		return -1;
	}
	b->data = n;
	b->cap = cap;
	return 0;
}

static void put_le(struct proto_buf *b, uint64_t v, int bytes)
{
	if (buf_reserve(b, bytes))
		return;
	for (int i = 0; i < bytes; i++)
		b->data[b->len++] = v >> (8 * i);
}

static void put_u16(struct proto_buf *b, uint16_t v)
{
	put_le(b, v, 2);
}

static void put_u32(struct proto_buf *b, uint32_t v)
{
	put_le(b, v, 4);
}

static void put_bytes(struct proto_buf *b, const void *p, size_t len)
{
	if (len && !buf_reserve(b, len)) {
		memcpy(b->data + b->len, p, len);
		b->len += len;
	}
}

static void put_string(struct proto_buf *b, const char *s)
{
	put_bytes(b, s ? s : "", strlen(s ? s : "") + 1);
}

/* Starts a message; returns where it begins, for msg_end. */
static size_t msg_begin(struct proto_buf *b, uint32_t type, uint32_t id)
{
	size_t start = b->len;

	put_u32(b, type);
	put_u32(b, 0); /* size, filled in by msg_end */
	put_u32(b, id);
	return start;
}

static int msg_end(struct proto_buf *b, size_t start)
{
	size_t size = b->len - start;

	if (b->failed || size > PROTO_MAX_MESSAGE) {
		/* Drop the partial message; earlier ones stay. */
		b->len = start;
		b->failed = 0;
		return -1;
	}
	for (int i = 0; i < 4; i++)
		b->data[start + 4 + i] = size >> (8 * i);
	return 0;
}

int proto_put_u32_msg(struct proto_buf *b, uint32_t type, uint32_t id, uint32_t value)
{
	size_t start = msg_begin(b, type, id);

	put_u32(b, value);
	return msg_end(b, start);
}

int proto_put_empty(struct proto_buf *b, uint32_t type, uint32_t id)
{
	return msg_end(b, msg_begin(b, type, id));
}

int proto_put_error(struct proto_buf *b, uint32_t id, int32_t err, const char *message)
{
	size_t start = msg_begin(b, PROTO_ERROR, id);

	put_u32(b, (uint32_t)err);
	put_string(b, message);
	return msg_end(b, start);
}

int proto_put_create(struct proto_buf *b, uint32_t id, const struct proto_create *c)
{
	size_t start = msg_begin(b, PROTO_CREATE_PROCESS, id);

	if (c->argc > PROTO_MAX_STRINGS || c->envc > PROTO_MAX_STRINGS - c->argc) {
		b->failed = 1;
		return msg_end(b, start);
	}
	put_u32(b, c->flags);
	put_u16(b, c->rows);
	put_u16(b, c->columns);
	put_u32(b, c->argc);
	put_u32(b, c->envc);
	put_string(b, c->distro);
	put_string(b, c->user);
	put_string(b, c->cwd);
	for (uint32_t i = 0; i < c->argc; i++)
		put_string(b, c->argv[i]);
	for (uint32_t i = 0; i < c->envc; i++)
		put_string(b, c->env[i]);
	return msg_end(b, start);
}

int proto_put_stream(struct proto_buf *b, uint32_t id, uint32_t stream, const void *data,
		     size_t len)
{
	size_t start = msg_begin(b, PROTO_STREAM, id);

	put_u32(b, stream);
	if (len > PROTO_MAX_PAYLOAD)
		b->failed = 1;
	else
		put_bytes(b, data, len);
	return msg_end(b, start);
}

int proto_put_resize(struct proto_buf *b, uint32_t id, uint16_t rows, uint16_t columns)
{
	size_t start = msg_begin(b, PROTO_RESIZE, id);

	put_u16(b, rows);
	put_u16(b, columns);
	return msg_end(b, start);
}

int proto_put_distro_list(struct proto_buf *b, uint32_t id, const struct proto_distro *d,
			  uint32_t count)
{
	size_t start = msg_begin(b, PROTO_DISTRO_LIST, id);

	put_u32(b, count);
	for (uint32_t i = 0; i < count; i++) {
		put_u32(b, d[i].state);
		put_string(b, d[i].name);
	}
	return msg_end(b, start);
}

int proto_put_string_msg(struct proto_buf *b, uint32_t type, uint32_t id, const char *s)
{
	size_t start = msg_begin(b, type, id);

	put_string(b, s);
	return msg_end(b, start);
}

int proto_put_listener(struct proto_buf *b, uint32_t id, const struct proto_listener *l)
{
	size_t start = msg_begin(b, PROTO_LISTENER, id);

	put_u32(b, l->event);
	put_u16(b, l->port);
	put_u16(b, l->family);
	put_string(b, l->distro);
	return msg_end(b, start);
}

int proto_put_connect_port(struct proto_buf *b, uint32_t id, uint16_t port, uint16_t family)
{
	size_t start = msg_begin(b, PROTO_CONNECT_PORT, id);

	put_u16(b, port);
	put_u16(b, family);
	return msg_end(b, start);
}

/* --- decoding ------------------------------------------------------------ */

/* A cursor over a payload; any overrun sets bad and yields zeros. */
struct reader {
	const uint8_t *p;
	size_t left;
	int bad;
};

static uint64_t get_le(struct reader *r, int bytes)
{
	uint64_t v = 0;

	if (r->bad || r->left < (size_t)bytes) {
		r->bad = 1;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += bytes;
	r->left -= bytes;
	return v;
}

static uint16_t get_u16(struct reader *r)
{
	return get_le(r, 2);
}

static uint32_t get_u32(struct reader *r)
{
	return get_le(r, 4);
}

static const char *get_string(struct reader *r)
{
	const uint8_t *nul;
	const char *s;

	if (r->bad)
		return NULL;
	nul = memchr(r->p, '\0', r->left);
	if (!nul) {
		r->bad = 1;
		return NULL;
	}
	s = (const char *)r->p;
	r->left -= nul + 1 - r->p;
	r->p = nul + 1;
	return s;
}

static void reader_init(struct reader *r, const struct proto_msg *msg)
{
	r->p = msg->payload;
	r->left = msg->len;
	r->bad = 0;
}

/* A payload must be used exactly: trailing bytes are as wrong as missing ones. */
static int reader_done(const struct reader *r)
{
	return r->bad || r->left ? -1 : 0;
}

static uint32_t peek_u32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

long proto_parse(const uint8_t *buf, size_t len, struct proto_msg *msg)
{
	uint32_t type, size;

	if (len < PROTO_HEADER_SIZE)
		return 0;
	type = peek_u32(buf);
	size = peek_u32(buf + 4);
	if (type == 0 || type >= PROTO_TYPE_MAX || size < PROTO_HEADER_SIZE ||
	    size > PROTO_MAX_MESSAGE)
		return -1;
	if (len < size)
		return 0;
	msg->type = type;
	msg->id = peek_u32(buf + 8);
	msg->len = size - PROTO_HEADER_SIZE;
	msg->payload = buf + PROTO_HEADER_SIZE;
	return size;
}

int proto_get_u32(const struct proto_msg *msg, uint32_t *value)
{
	struct reader r;

	reader_init(&r, msg);
	*value = get_u32(&r);
	return reader_done(&r);
}

int proto_get_error(const struct proto_msg *msg, int32_t *err, const char **message)
{
	struct reader r;

	if (msg->type != PROTO_ERROR)
		return -1;
	reader_init(&r, msg);
	*err = (int32_t)get_u32(&r);
	*message = get_string(&r);
	return reader_done(&r);
}

static const char **get_string_array(struct reader *r, uint32_t count)
{
	const char **v = calloc(count + 1, sizeof(*v));

	if (!v) {
		r->bad = 1;
		return NULL;
	}
	for (uint32_t i = 0; i < count && !r->bad; i++)
		v[i] = get_string(r);
	return v;
}

int proto_get_create(const struct proto_msg *msg, struct proto_create *c)
{
	struct reader r;

	memset(c, 0, sizeof(*c));
	if (msg->type != PROTO_CREATE_PROCESS)
		return -1;
	reader_init(&r, msg);
	c->flags = get_u32(&r);
	c->rows = get_u16(&r);
	c->columns = get_u16(&r);
	c->argc = get_u32(&r);
	c->envc = get_u32(&r);
	/* Each string takes at least its NUL: a count beyond the bytes left is a lie. */
	if (r.bad || c->argc == 0 || c->argc > PROTO_MAX_STRINGS ||
	    c->envc > PROTO_MAX_STRINGS - c->argc || c->argc + c->envc + 3 > r.left ||
	    (c->flags & ~PROTO_CREATE_PTY))
		goto bad;
	c->distro = get_string(&r);
	c->user = get_string(&r);
	c->cwd = get_string(&r);
	c->argv = get_string_array(&r, c->argc);
	c->env = get_string_array(&r, c->envc);
	if (!reader_done(&r))
		return 0;
bad:
	proto_create_free(c);
	return -1;
}

void proto_create_free(struct proto_create *c)
{
	free(c->argv);
	free(c->env);
	c->argv = c->env = NULL;
}

int proto_get_stream(const struct proto_msg *msg, uint32_t *stream, const uint8_t **data,
		     size_t *len)
{
	struct reader r;

	if (msg->type != PROTO_STREAM)
		return -1;
	reader_init(&r, msg);
	*stream = get_u32(&r);
	if (r.bad || *stream > PROTO_STDERR)
		return -1;
	*data = r.p;
	*len = r.left;
	return 0;
}

int proto_get_resize(const struct proto_msg *msg, uint16_t *rows, uint16_t *columns)
{
	struct reader r;

	if (msg->type != PROTO_RESIZE)
		return -1;
	reader_init(&r, msg);
	*rows = get_u16(&r);
	*columns = get_u16(&r);
	return reader_done(&r);
}

int proto_get_string(const struct proto_msg *msg, const char **s)
{
	struct reader r;

	reader_init(&r, msg);
	*s = get_string(&r);
	return reader_done(&r);
}

int proto_get_distro_list(const struct proto_msg *msg,
			  void (*fn)(const struct proto_distro *d, void *arg), void *arg)
{
	struct proto_distro d;
	struct reader r;
	uint32_t count;

	if (msg->type != PROTO_DISTRO_LIST)
		return -1;
	reader_init(&r, msg);
	count = get_u32(&r);
	/* Each entry takes at least 5 bytes. */
	if (r.bad || count > r.left / 5)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		d.state = get_u32(&r);
		d.name = get_string(&r);
		if (r.bad)
			return -1;
		fn(&d, arg);
	}
	return reader_done(&r);
}

int proto_get_listener(const struct proto_msg *msg, struct proto_listener *l)
{
	struct reader r;

	if (msg->type != PROTO_LISTENER)
		return -1;
	reader_init(&r, msg);
	l->event = get_u32(&r);
	l->port = get_u16(&r);
	l->family = get_u16(&r);
	l->distro = get_string(&r);
	if (l->event > PROTO_LISTENER_REMOVED)
		return -1;
	return reader_done(&r);
}

int proto_get_connect_port(const struct proto_msg *msg, uint16_t *port, uint16_t *family)
{
	struct reader r;

	if (msg->type != PROTO_CONNECT_PORT)
		return -1;
	reader_init(&r, msg);
	*port = get_u16(&r);
	*family = get_u16(&r);
	if (!*port)
		return -1;
	return reader_done(&r);
}

const char *proto_type_name(uint32_t type)
{
	static const char *const names[PROTO_TYPE_MAX] = {
		[PROTO_HELLO] = "HELLO",
		[PROTO_READY] = "READY",
		[PROTO_OK] = "OK",
		[PROTO_ERROR] = "ERROR",
		[PROTO_CREATE_PROCESS] = "CREATE_PROCESS",
		[PROTO_PROCESS_STARTED] = "PROCESS_STARTED",
		[PROTO_STREAM] = "STREAM",
		[PROTO_RESIZE] = "RESIZE",
		[PROTO_SIGNAL] = "SIGNAL",
		[PROTO_EXIT] = "EXIT",
		[PROTO_LIST_DISTROS] = "LIST_DISTROS",
		[PROTO_DISTRO_LIST] = "DISTRO_LIST",
		[PROTO_TERMINATE_DISTRO] = "TERMINATE_DISTRO",
		[PROTO_SHUTDOWN] = "SHUTDOWN",
		[PROTO_LISTENER] = "LISTENER",
		[PROTO_CONNECT_PORT] = "CONNECT_PORT",
		[PROTO_MOUNT_DISTRO] = "MOUNT_DISTRO",
	};

	return type < PROTO_TYPE_MAX && names[type] ? names[type] : "unknown";
}
