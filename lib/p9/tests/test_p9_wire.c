// SPDX-License-Identifier: MIT
/* The 9P2000.L codec: round trips of every message, known bytes, malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p9.h"

#define S(str) ((struct p9_str){ (str), sizeof(str) - 1 })

static const uint8_t payload[] = "some file data \x00\x01\x02\xff";

/* One of every message type the codec knows, with fields set. */
static size_t samples(struct p9_fcall *out)
{
	struct p9_qid q = { P9_QTDIR, 7, 0x1122334455667788ULL };
	struct p9_flock lk = { P9_LOCK_WRLCK, P9_LOCK_FLAGS_BLOCK, 100, 200, 42, S("client") };
	size_t n = 0;

#define ADD(t, ...) out[n++] = (struct p9_fcall){ .type = (t), .tag = (uint16_t)(n + 1), __VA_ARGS__ }
	ADD(P9_TVERSION, .u.version = { 65536, S("9P2000.L") });
	ADD(P9_RVERSION, .u.version = { 8192, S("9P2000.L") });
	ADD(P9_TAUTH, .u.tauth = { 3, S("user"), S("tree"), 1000 });
	ADD(P9_RAUTH, .u.qid = q);
	ADD(P9_TATTACH, .u.tattach = { 1, P9_NOFID, S("root"), S(""), 0 });
	ADD(P9_RATTACH, .u.qid = q);
	ADD(P9_RLERROR, .u.rlerror = { ENOENT });
	ADD(P9_TFLUSH, .u.tflush = { 9 });
	ADD(P9_RFLUSH);
	ADD(P9_TWALK, .u.twalk = { 1, 2, 3, { S("a"), S("bb"), S("ccc") } });
	ADD(P9_RWALK, .u.rwalk = { 2, { q, { P9_QTFILE, 1, 2 } } });
	ADD(P9_TLOPEN, .u.tlopen = { 4, P9_DOTL_RDWR | P9_DOTL_TRUNC });
	ADD(P9_RLOPEN, .u.ropen = { q, 8192 });
	ADD(P9_TLCREATE, .u.tlcreate = { 4, S("new"), P9_DOTL_WRONLY, 0644, 100 });
	ADD(P9_RLCREATE, .u.ropen = { q, 0 });
	ADD(P9_TSYMLINK, .u.tsymlink = { 4, S("link"), S("../target"), 100 });
	ADD(P9_RSYMLINK, .u.qid = q);
	ADD(P9_TMKNOD, .u.tmknod = { 4, S("node"), 020644, 1, 3, 5 });
	ADD(P9_RMKNOD, .u.qid = q);
	ADD(P9_TMKDIR, .u.tmkdir = { 4, S("dir"), 0755, 6 });
	ADD(P9_RMKDIR, .u.qid = q);
	ADD(P9_TRENAME, .u.trename = { 4, 5, S("renamed") });
	ADD(P9_RRENAME);
	ADD(P9_TLINK, .u.tlink = { 5, 4, S("hard") });
	ADD(P9_RLINK);
	ADD(P9_TRENAMEAT, .u.trenameat = { 4, S("old"), 5, S("new") });
	ADD(P9_RRENAMEAT);
	ADD(P9_TUNLINKAT, .u.tunlinkat = { 4, S("gone"), P9_AT_REMOVEDIR });
	ADD(P9_RUNLINKAT);
	ADD(P9_TCLUNK, .u.tfid = { 4 });
	ADD(P9_RCLUNK);
	ADD(P9_TREMOVE, .u.tfid = { 4 });
	ADD(P9_RREMOVE);
	ADD(P9_TREADLINK, .u.tfid = { 4 });
	ADD(P9_RREADLINK, .u.rreadlink = { S("/some/where") });
	ADD(P9_TSTATFS, .u.tfid = { 4 });
	ADD(P9_RSTATFS, .u.rstatfs = { 0xef53, 4096, 1, 2, 3, 4, 5, 6, 255 });
	ADD(P9_TGETATTR, .u.tgetattr = { 4, P9_GETATTR_BASIC });
	ADD(P9_RGETATTR, .u.rgetattr = { P9_GETATTR_BASIC, q, 040755, 1, 2, 3, 4, 5, 6, 7,
					 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 });
	ADD(P9_TSETATTR, .u.tsetattr = { 4, { P9_SETATTR_MODE | P9_SETATTR_MTIME_SET, 0600, 1,
					      2, 3, 4, 5, 6, 7 } });
	ADD(P9_RSETATTR);
	ADD(P9_TXATTRWALK, .u.txattrwalk = { 4, 6, S("user.x") });
	ADD(P9_RXATTRWALK, .u.rxattrwalk = { 123 });
	ADD(P9_TXATTRCREATE, .u.txattrcreate = { 4, S("user.y"), 5, P9_XATTR_CREATE });
	ADD(P9_RXATTRCREATE);
	ADD(P9_TREAD, .u.tread = { 4, 1ULL << 40, 65536 });
	ADD(P9_RREAD, .u.rread = { sizeof(payload), payload });
	ADD(P9_TREADDIR, .u.tread = { 4, 77, 4096 });
	ADD(P9_RREADDIR, .u.rread = { 0, NULL });
	ADD(P9_TWRITE, .u.twrite = { 4, 99, sizeof(payload), payload });
	ADD(P9_RWRITE, .u.rwrite = { 22 });
	ADD(P9_TFSYNC, .u.tfsync = { 4, 1 });
	ADD(P9_RFSYNC);
	ADD(P9_TLOCK, .u.tlock = { 4, lk });
	ADD(P9_RLOCK, .u.rlock = { P9_LOCK_BLOCKED });
	ADD(P9_TGETLOCK, .u.tlock = { 4, lk });
	ADD(P9_RGETLOCK, .u.rgetlock = lk);
#undef ADD
	return n;
}

#define MAX_SAMPLES 64

/* encode(decode(encode(m))) == encode(m), for every message type. */
static void test_every_message_round_trips(void **state)
{
	struct p9_fcall m[MAX_SAMPLES], d;
	uint8_t a[4096], b[4096];
	size_t n = samples(m);

	for (size_t i = 0; i < n; i++) {
		size_t la = p9_encode(&m[i], a, sizeof(a)), lb;

		assert_true(la >= P9_HEADER_SIZE);
		assert_int_equal(p9_msg_size(a), la);
		assert_int_equal(p9_decode(a, la, &d), 0);
		assert_int_equal(d.type, m[i].type);
		assert_int_equal(d.tag, m[i].tag);
		lb = p9_encode(&d, b, sizeof(b));
		assert_int_equal(lb, la);
		assert_memory_equal(a, b, la);
		assert_string_not_equal(p9_type_name(m[i].type), "?");
	}
}

static void test_fields_survive(void **state)
{
	struct p9_fcall m[MAX_SAMPLES], d;
	uint8_t a[4096];
	size_t n = samples(m), len;

	for (size_t i = 0; i < n; i++) {
		len = p9_encode(&m[i], a, sizeof(a));
		assert_int_equal(p9_decode(a, len, &d), 0);
		switch (d.type) {
		case P9_TWALK:
			assert_int_equal(d.u.twalk.nwname, 3);
			assert_int_equal(d.u.twalk.wname[2].len, 3);
			assert_memory_equal(d.u.twalk.wname[2].s, "ccc", 3);
			break;
		case P9_TWRITE:
			assert_int_equal(d.u.twrite.count, sizeof(payload));
			assert_memory_equal(d.u.twrite.data, payload, sizeof(payload));
			/* zero copy: the data is read where it lies in the message */
			assert_ptr_equal(d.u.twrite.data, a + P9_TWRITE_HEADER);
			assert_int_equal(d.u.twrite.offset, 99);
			break;
		case P9_RGETATTR:
			assert_int_equal(d.u.rgetattr.mode, 040755);
			assert_int_equal(d.u.rgetattr.data_version, 17);
			assert_int_equal(d.u.rgetattr.qid.path, 0x1122334455667788ULL);
			break;
		case P9_TLOCK:
			assert_int_equal(d.u.tlock.lock.flags, P9_LOCK_FLAGS_BLOCK);
			assert_int_equal(d.u.tlock.lock.length, 200);
			break;
		case P9_TREAD:
			assert_int_equal(d.u.tread.offset, 1ULL << 40);
			break;
		}
	}
}

/* Bytes written out by hand from the protocol's definition. */
static void test_known_bytes(void **state)
{
	static const uint8_t tversion[] = {
		21, 0, 0, 0, P9_TVERSION, 0xff, 0xff, 0x00, 0x20, 0, 0,
		8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L',
	};
	static const uint8_t rlerror[] = { 11, 0, 0, 0, P9_RLERROR, 5, 0, 2, 0, 0, 0 };
	struct p9_fcall v = { .type = P9_TVERSION, .tag = P9_NOTAG,
			      .u.version = { 8192, S("9P2000.L") } };
	struct p9_fcall e = { .type = P9_RLERROR, .tag = 5, .u.rlerror = { 2 } };
	uint8_t buf[64];

	assert_int_equal(p9_encode(&v, buf, sizeof(buf)), sizeof(tversion));
	assert_memory_equal(buf, tversion, sizeof(tversion));
	assert_int_equal(p9_encode(&e, buf, sizeof(buf)), sizeof(rlerror));
	assert_memory_equal(buf, rlerror, sizeof(rlerror));
	assert_int_equal(p9_decode(tversion, sizeof(tversion), &v), 0);
	assert_int_equal(v.u.version.msize, 8192);
	assert_int_equal(v.tag, P9_NOTAG);
}

/* p9_peek reads a header and the field after it from however much of a message there is. */
static void test_peek(void **state)
{
	struct p9_fcall flush = { .type = P9_TFLUSH, .tag = 0x1234, .u.tflush = { 0xbeef } };
	static const uint8_t rread[] = { 15, 0, 0, 0, P9_RREAD, 7, 0, 4, 3, 2, 1 };
	struct p9_peek p;
	uint8_t buf[64];
	size_t len = p9_encode(&flush, buf, sizeof(buf));

	assert_int_equal(len, P9_HEADER_SIZE + 2);
	assert_int_equal(p9_peek(buf, len, &p), 0);
	assert_int_equal(p.type, P9_TFLUSH);
	assert_int_equal(p.tag, 0x1234);
	assert_int_equal(p.first, 0xbeef);
	assert_int_equal(p9_peek(rread, sizeof(rread), &p), 0);
	assert_int_equal(p.type, P9_RREAD);
	assert_int_equal(p.tag, 7);
	assert_int_equal(p.first, 0x01020304);
	assert_int_equal(p9_peek(rread, P9_HEADER_SIZE, &p), 0);
	assert_int_equal(p.first, 0);
	assert_int_equal(p9_peek(rread, P9_HEADER_SIZE - 1, &p), -EBADMSG);
}

/* Every shortened copy of every message is refused, and so is one byte more. */
static void test_truncated_and_padded_messages_fail(void **state)
{
	struct p9_fcall m[MAX_SAMPLES], d;
	uint8_t a[4096];
	size_t n = samples(m);

	for (size_t i = 0; i < n; i++) {
		size_t len = p9_encode(&m[i], a, sizeof(a));

		for (size_t cut = 0; cut < len; cut++) {
			/* the size field claims the shorter length: the body runs out */
			uint8_t c[4096];

			memcpy(c, a, cut);
			if (cut >= 4) {
				c[0] = cut;
				c[1] = cut >> 8;
			}
			assert_int_equal(p9_decode(c, cut, &d), -EBADMSG);
			/* the size field keeps the full length: mismatch */
			assert_int_equal(p9_decode(a, cut, &d), -EBADMSG);
		}
		a[len] = 0;
		a[0] = len + 1;
		assert_int_equal(p9_decode(a, len + 1, &d), -EBADMSG);
	}
}

static void test_encode_never_overruns(void **state)
{
	struct p9_fcall m[MAX_SAMPLES];
	uint8_t a[4096];
	size_t n = samples(m);

	for (size_t i = 0; i < n; i++) {
		size_t len = p9_encode(&m[i], a, sizeof(a));

		for (size_t cap = 0; cap < len; cap++) {
			memset(a, 0xaa, sizeof(a));
			assert_int_equal(p9_encode(&m[i], a, cap), 0);
			for (size_t k = cap; k < 64 && k < sizeof(a); k++)
				assert_int_equal(a[k], 0xaa);
		}
	}
}

static void test_bad_counts_and_types(void **state)
{
	struct p9_fcall m = { .type = P9_TWALK, .tag = 1, .u.twalk = { 1, 2, 1, { S("x") } } }, d;
	uint8_t a[256];
	size_t len;

	/* 17 names: more than a walk may hold, both ways */
	m.u.twalk.nwname = P9_MAX_WALK + 1;
	assert_int_equal(p9_encode(&m, a, sizeof(a)), 0);
	m.u.twalk.nwname = 1;
	len = p9_encode(&m, a, sizeof(a));
	a[15] = P9_MAX_WALK + 1;
	assert_int_equal(p9_decode(a, len, &d), -EBADMSG);
	/* a string longer than what is left */
	a[15] = 1;
	a[17] = 200;
	assert_int_equal(p9_decode(a, len, &d), -EBADMSG);
	/* a Twrite count past the end */
	m = (struct p9_fcall){ .type = P9_TWRITE, .tag = 2, .u.twrite = { 1, 0, 4, payload } };
	len = p9_encode(&m, a, sizeof(a));
	a[19] = 0xff;
	a[22] = 0xff;
	assert_int_equal(p9_decode(a, len, &d), -EBADMSG);
	/* unknown types: header filled in, so a server can answer */
	m = (struct p9_fcall){ .type = P9_TCLUNK, .tag = 77, .u.tfid = { 1 } };
	len = p9_encode(&m, a, sizeof(a));
	a[4] = 250;
	assert_int_equal(p9_decode(a, len, &d), -EOPNOTSUPP);
	assert_int_equal(d.type, 250);
	assert_int_equal(d.tag, 77);
	a[4] = 112; /* 9P2000's Topen: not ours */
	assert_int_equal(p9_decode(a, len, &d), -EOPNOTSUPP);
	m.type = 250;
	assert_int_equal(p9_encode(&m, a, sizeof(a)), 0);
	assert_string_equal(p9_type_name(250), "?");
	/* a string pointer missing for a non-empty string */
	m = (struct p9_fcall){ .type = P9_TUNLINKAT, .u.tunlinkat = { 1, { NULL, 3 }, 0 } };
	assert_int_equal(p9_encode(&m, a, sizeof(a)), 0);
}

static void test_dirents(void **state)
{
	struct p9_dirent in[3] = {
		{ { P9_QTDIR, 0, 1 }, 10, 4, S(".") },
		{ { P9_QTFILE, 0, 99 }, 20, 8, S("file") },
		{ { P9_QTSYMLINK, 0, 1ULL << 60 }, 30, 10, S("link") },
	}, out;
	uint8_t buf[256];
	const uint8_t *p = buf;
	size_t used = 0, left;

	for (int i = 0; i < 3; i++) {
		size_t n = p9_put_dirent(buf + used, sizeof(buf) - used, &in[i]);

		assert_int_equal(n, P9_DIRENT_FIXED + in[i].name.len);
		used += n;
	}
	assert_int_equal(p9_put_dirent(buf + used, P9_DIRENT_FIXED + 3, &in[1]), 0);
	left = used;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p9_get_dirent(&p, &left, &out), 1);
		assert_int_equal(out.qid.path, in[i].qid.path);
		assert_int_equal(out.offset, in[i].offset);
		assert_int_equal(out.type, in[i].type);
		assert_int_equal(out.name.len, in[i].name.len);
		assert_memory_equal(out.name.s, in[i].name.s, out.name.len);
	}
	assert_int_equal(p9_get_dirent(&p, &left, &out), 0);
	p = buf;
	left = used - 1;
	for (int i = 0; i < 2; i++)
		assert_int_equal(p9_get_dirent(&p, &left, &out), 1);
	assert_int_equal(p9_get_dirent(&p, &left, &out), -EBADMSG);
}

/* Random damage to valid messages: decoding never reads past them. */
static void test_mutations_do_not_crash(void **state)
{
	struct p9_fcall m[MAX_SAMPLES], d;
	uint8_t a[4096], *copy;
	unsigned int seed = 4242;
	size_t n = samples(m);

	for (int round = 0; round < 200000; round++) {
		size_t i = rand_r(&seed) % n, len = p9_encode(&m[i], a, sizeof(a));

		for (int k = rand_r(&seed) % 4; k >= 0; k--)
			a[rand_r(&seed) % len] = rand_r(&seed);
		if (rand_r(&seed) % 2)
			len = rand_r(&seed) % (len + 1);
		/* an exact-size heap copy, so ASan sees any overrun */
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, a, len);
		if (!p9_decode(copy, len, &d))
			assert_true(p9_encode(&d, a, sizeof(a)) == len);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_message_round_trips),
		cmocka_unit_test(test_fields_survive),
		cmocka_unit_test(test_known_bytes),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_truncated_and_padded_messages_fail),
		cmocka_unit_test(test_encode_never_overruns),
		cmocka_unit_test(test_bad_counts_and_types),
		cmocka_unit_test(test_dirents),
		cmocka_unit_test(test_mutations_do_not_crash),
	};

	return cmocka_run_group_tests_name("p9 wire", tests, NULL, NULL);
}
