// SPDX-License-Identifier: MIT
/* The host⇄guest protocol codec: round trips and malformed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode_all.h"
#include "proto.h"

static struct proto_msg parse_one(const struct proto_buf *b)
{
	struct proto_msg m;

	assert_int_equal(proto_parse(b->data, b->len, &m), (long)b->len);
	return m;
}

static void test_create_round_trip(void **state)
{
	const char *argv[] = { "sh", "-c", "exit 3", NULL };
	const char *env[] = { "TERM=xterm", "LANG=C.UTF-8", NULL };
	struct proto_create in = {
		.flags = PROTO_CREATE_PTY, .rows = 24, .columns = 80,
		.distro = "debian", .user = "root", .cwd = "/tmp",
		.argc = 3, .argv = argv, .envc = 2, .env = env,
	}, out;
	struct proto_buf b = { 0 };
	struct proto_msg m;

	assert_int_equal(proto_put_create(&b, 7, &in), 0);
	m = parse_one(&b);
	assert_int_equal(m.type, PROTO_CREATE_PROCESS);
	assert_int_equal(m.id, 7);
	assert_int_equal(proto_get_create(&m, &out), 0);
	assert_int_equal(out.flags, PROTO_CREATE_PTY);
	assert_int_equal(out.rows, 24);
	assert_int_equal(out.columns, 80);
	assert_string_equal(out.distro, "debian");
	assert_string_equal(out.user, "root");
	assert_string_equal(out.cwd, "/tmp");
	assert_int_equal(out.argc, 3);
	assert_string_equal(out.argv[2], "exit 3");
	assert_null(out.argv[3]);
	assert_int_equal(out.envc, 2);
	assert_string_equal(out.env[1], "LANG=C.UTF-8");
	assert_null(out.env[2]);
	proto_create_free(&out);
	proto_buf_free(&b);
}

static void test_small_messages_round_trip(void **state)
{
	static const struct proto_distro distros[] = {
		{ PROTO_DISTRO_RUNNING, "debian" }, { PROTO_DISTRO_STOPPED, "alpine" },
	};
	struct proto_listener l = { PROTO_LISTENER_ADDED, 8080, 10, "debian" }, l2;
	struct proto_buf b = { 0 };
	const uint8_t *data;
	const char *s;
	uint32_t u;
	uint16_t rows, cols;
	int32_t err;
	size_t len, off = 0;
	struct proto_msg m;
	long n;

	assert_int_equal(proto_put_u32_msg(&b, PROTO_EXIT, 1, 131), 0);
	assert_int_equal(proto_put_error(&b, 2, -22, "no such distro: x"), 0);
	assert_int_equal(proto_put_stream(&b, 3, PROTO_STDOUT, "hello", 5), 0);
	assert_int_equal(proto_put_resize(&b, 4, 50, 132), 0);
	assert_int_equal(proto_put_distro_list(&b, 5, distros, 2), 0);
	assert_int_equal(proto_put_listener(&b, 6, &l), 0);
	assert_int_equal(proto_put_connect_port(&b, 7, 8080, 2), 0);
	assert_int_equal(proto_put_string_msg(&b, PROTO_MOUNT_DISTRO, 9, "tiny"), 0);
	assert_int_equal(proto_put_empty(&b, PROTO_SHUTDOWN, 8), 0);

	n = proto_parse(b.data, b.len, &m);
	assert_true(n > 0);
	assert_int_equal(proto_get_u32(&m, &u), 0);
	assert_int_equal(u, 131);
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	assert_int_equal(proto_get_error(&m, &err, &s), 0);
	assert_int_equal(err, -22);
	assert_string_equal(s, "no such distro: x");
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	assert_int_equal(proto_get_stream(&m, &u, &data, &len), 0);
	assert_int_equal(u, PROTO_STDOUT);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	assert_int_equal(proto_get_resize(&m, &rows, &cols), 0);
	assert_int_equal(rows, 50);
	assert_int_equal(cols, 132);
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	len = 0;
	assert_int_equal(proto_get_distro_list(&m, decode_all_count, &len), 0);
	assert_int_equal(len, strlen("debian") + strlen("alpine"));
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	assert_int_equal(proto_get_listener(&m, &l2), 0);
	assert_int_equal(l2.port, 8080);
	assert_string_equal(l2.distro, "debian");
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	assert_int_equal(proto_get_connect_port(&m, &rows, &cols), 0);
	assert_int_equal(rows, 8080);
	assert_int_equal(cols, 2);
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	assert_int_equal(m.type, PROTO_MOUNT_DISTRO);
	assert_string_equal(proto_type_name(m.type), "MOUNT_DISTRO");
	assert_int_equal(proto_get_string(&m, &s), 0);
	assert_string_equal(s, "tiny");
	off += n;
	n = proto_parse(b.data + off, b.len - off, &m);
	assert_int_equal(m.type, PROTO_SHUTDOWN);
	assert_int_equal(m.len, 0);
	assert_int_equal(off + n, b.len);
	proto_buf_free(&b);
}

static void put_header(uint8_t *p, uint32_t type, uint32_t size)
{
	memset(p, 0, PROTO_HEADER_SIZE);
	for (int i = 0; i < 4; i++) {
		p[i] = type >> (8 * i);
		p[4 + i] = size >> (8 * i);
	}
}

static void test_malformed_headers(void **state)
{
	uint8_t buf[64];
	struct proto_msg m;

	put_header(buf, PROTO_OK, PROTO_HEADER_SIZE);
	assert_int_equal(proto_parse(buf, PROTO_HEADER_SIZE - 1, &m), 0); /* short: wait */
	put_header(buf, PROTO_OK, 4);
	assert_int_equal(proto_parse(buf, sizeof(buf), &m), -1); /* size below header */
	put_header(buf, PROTO_OK, PROTO_MAX_MESSAGE + 1);
	assert_int_equal(proto_parse(buf, sizeof(buf), &m), -1); /* oversized */
	put_header(buf, 0, PROTO_HEADER_SIZE);
	assert_int_equal(proto_parse(buf, sizeof(buf), &m), -1); /* no type 0 */
	put_header(buf, PROTO_TYPE_MAX, PROTO_HEADER_SIZE);
	assert_int_equal(proto_parse(buf, sizeof(buf), &m), -1); /* unknown type */
	put_header(buf, PROTO_STREAM, 40);
	assert_int_equal(proto_parse(buf, 39, &m), 0); /* incomplete: wait */
}

static struct proto_msg raw_msg(uint32_t type, const void *payload, uint32_t len)
{
	return (struct proto_msg){ .type = type, .payload = payload, .len = len };
}

static void test_malformed_payloads(void **state)
{
	/* flags, rows, cols, argc=2, envc=0, then only "d\0u\0c\0a\0": one argv short. */
	static const uint8_t short_argv[] = { 0, 0, 0, 0, 24, 0, 80, 0, 2, 0, 0, 0, 0, 0, 0, 0,
					      'd', 0, 'u', 0, 'c', 0, 'a', 0 };
	/* argc = 0xffffffff: must not allocate or loop on the lie. */
	static const uint8_t huge_argc[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
					     0, 0, 0, 0, 'd', 0, 'u', 0, 'c', 0 };
	/* argc = 0: nothing to run. */
	static const uint8_t no_argv[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   'd', 0, 'u', 0, 'c', 0 };
	/* unknown flag bit */
	static const uint8_t bad_flags[] = { 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					     'd', 0, 'u', 0, 'c', 0, 'a', 0 };
	static const uint8_t unterminated[] = { 5, 0, 0, 0, 'o', 'o', 'p', 's' };
	static const uint8_t trailing[] = { 1, 0, 0, 0, 9 };
	static const uint8_t bad_stream[] = { 3, 0, 0, 0, 'x' };
	static const uint8_t list_lie[] = { 0xff, 0xff, 0, 0, 1, 0, 0, 0, 'a', 0 };
	struct proto_create c;
	const uint8_t *data;
	const char *s;
	int32_t err;
	uint32_t u;
	size_t len;
	struct proto_msg m;

	m = raw_msg(PROTO_CREATE_PROCESS, short_argv, sizeof(short_argv));
	assert_int_equal(proto_get_create(&m, &c), -1);
	assert_null(c.argv);
	m = raw_msg(PROTO_CREATE_PROCESS, huge_argc, sizeof(huge_argc));
	assert_int_equal(proto_get_create(&m, &c), -1);
	m = raw_msg(PROTO_CREATE_PROCESS, no_argv, sizeof(no_argv));
	assert_int_equal(proto_get_create(&m, &c), -1);
	m = raw_msg(PROTO_CREATE_PROCESS, bad_flags, sizeof(bad_flags));
	assert_int_equal(proto_get_create(&m, &c), -1);
	m = raw_msg(PROTO_ERROR, unterminated, sizeof(unterminated));
	assert_int_equal(proto_get_error(&m, &err, &s), -1);
	m = raw_msg(PROTO_EXIT, trailing, sizeof(trailing));
	assert_int_equal(proto_get_u32(&m, &u), -1);
	m = raw_msg(PROTO_EXIT, trailing, 3);
	assert_int_equal(proto_get_u32(&m, &u), -1);
	m = raw_msg(PROTO_STREAM, bad_stream, sizeof(bad_stream));
	assert_int_equal(proto_get_stream(&m, &u, &data, &len), -1);
	m = raw_msg(PROTO_DISTRO_LIST, list_lie, sizeof(list_lie));
	len = 0;
	assert_int_equal(proto_get_distro_list(&m, decode_all_count, &len), -1);
	/* A decoder refuses a message of another type. */
	m = raw_msg(PROTO_STREAM, short_argv, sizeof(short_argv));
	assert_int_equal(proto_get_create(&m, &c), -1);
}

static void test_oversized_messages_are_refused(void **state)
{
	struct proto_buf b = { 0 };
	char *big = malloc(PROTO_MAX_MESSAGE);

	assert_non_null(big);
	memset(big, 'x', PROTO_MAX_MESSAGE);
	assert_int_equal(proto_put_empty(&b, PROTO_OK, 1), 0);
	assert_int_equal(proto_put_stream(&b, 2, PROTO_STDOUT, big, PROTO_MAX_PAYLOAD), -1);
	/* The failed message left nothing behind; the earlier one is intact. */
	assert_int_equal(b.len, PROTO_HEADER_SIZE);
	assert_int_equal(proto_put_stream(&b, 2, PROTO_STDOUT, big, PROTO_MAX_PAYLOAD - 4), 0);
	assert_int_equal(b.len, PROTO_HEADER_SIZE + PROTO_MAX_MESSAGE);
	free(big);
	proto_buf_free(&b);
}

static void test_send_recv_over_a_socket(void **state)
{
	static uint8_t buf[PROTO_MAX_MESSAGE];
	struct proto_buf b = { 0 };
	struct proto_msg m;
	uint32_t v;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(proto_put_u32_msg(&b, PROTO_HELLO, 1, PROTO_VERSION), 0);
	assert_int_equal(proto_put_u32_msg(&b, PROTO_SIGNAL, 2, 15), 0);
	assert_int_equal(proto_send(sv[0], &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(proto_recv(sv[1], buf, &m), 1);
	assert_int_equal(m.type, PROTO_HELLO);
	assert_int_equal(proto_get_u32(&m, &v), 0);
	assert_int_equal(v, PROTO_VERSION);
	assert_int_equal(proto_recv(sv[1], buf, &m), 1);
	assert_int_equal(m.type, PROTO_SIGNAL);
	/* A stream cut inside a header is an error; a clean end is 0. */
	assert_int_equal(write(sv[0], "\x01\x00\x00", 3), 3);
	close(sv[0]);
	assert_int_equal(proto_recv(sv[1], buf, &m), -1);
	close(sv[1]);
	proto_buf_free(&b);
}

/* Random mutations of valid messages: the decoders survive all of them. */
static void test_mutations_do_not_crash(void **state)
{
	const char *argv[] = { "ls", "-l", NULL };
	struct proto_create c = { .distro = "d", .user = "", .cwd = "/", .argc = 2, .argv = argv };
	struct proto_buf b = { 0 };
	uint8_t *copy;
	unsigned int seed = 12345;

	proto_put_create(&b, 1, &c);
	proto_put_error(&b, 2, 5, "message");
	proto_put_u32_msg(&b, PROTO_EXIT, 3, 1);
	copy = malloc(b.len);
	assert_non_null(copy);
	for (int round = 0; round < 200000; round++) {
		size_t len = b.len;

		memcpy(copy, b.data, b.len);
		for (int k = rand_r(&seed) % 4; k >= 0; k--)
			copy[rand_r(&seed) % b.len] = rand_r(&seed);
		if (rand_r(&seed) % 2)
			len = rand_r(&seed) % (b.len + 1);
		decode_all(copy, len);
	}
	free(copy);
	proto_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_round_trip),
		cmocka_unit_test(test_small_messages_round_trip),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_malformed_payloads),
		cmocka_unit_test(test_oversized_messages_are_refused),
		cmocka_unit_test(test_send_recv_over_a_socket),
		cmocka_unit_test(test_mutations_do_not_crash),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
