/* SPDX-License-Identifier: MIT */
/*
 * Runs every decoder that applies over every message in DATA, as the init
 * and the host do with what they receive.  Shared by the unit test's
 * mutation loop and the libFuzzer target: whatever the bytes, this must
 * neither crash nor read out of bounds.
 */
#include <string.h>

#include "proto.h"

static void decode_all_count(const struct proto_distro *d, void *arg)
{
	*(size_t *)arg += strlen(d->name);
}

static size_t decode_all(const uint8_t *data, size_t len)
{
	size_t touched = 0;
	struct proto_msg m;
	long n;

	while ((n = proto_parse(data, len, &m)) > 0) {
		struct proto_create c;
		struct proto_listener l;
		const uint8_t *bytes;
		const char *s;
		uint32_t u;
		uint16_t rows, cols;
		int32_t err;
		size_t blen;

		if (!proto_get_create(&m, &c)) {
			for (uint32_t i = 0; i < c.argc; i++)
				touched += strlen(c.argv[i]);
			for (uint32_t i = 0; i < c.envc; i++)
				touched += strlen(c.env[i]);
			touched += strlen(c.distro) + strlen(c.user) + strlen(c.cwd);
			proto_create_free(&c);
		}
		if (!proto_get_error(&m, &err, &s))
			touched += strlen(s);
		if (!proto_get_stream(&m, &u, &bytes, &blen) && blen)
			touched += bytes[blen - 1];
		if (!proto_get_resize(&m, &rows, &cols))
			touched += rows + cols;
		if (!proto_get_u32(&m, &u))
			touched += u & 1;
		if (!proto_get_string(&m, &s))
			touched += strlen(s);
		if (!proto_get_connect_port(&m, &rows, &cols))
			touched += rows + cols;
		if (!proto_get_listener(&m, &l))
			touched += strlen(l.distro);
		proto_get_distro_list(&m, decode_all_count, &touched);
		touched += strlen(proto_type_name(m.type));
		data += n;
		len -= n;
	}
	return touched;
}
