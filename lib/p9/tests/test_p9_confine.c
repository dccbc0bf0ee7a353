// SPDX-License-Identifier: MIT
/*
 * What a hostile guest may try on the 9P server: names that climb out,
 * symlinks out of the share, renames racing lookups, bad fids, malformed
 * and damaged messages, writes to a read-only share, exhausting fids, and
 * requests racing each other on one session.  Nothing may leave the share
 * or crash; every request gets a well-formed reply.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p9_fixture.h"

static void make_escape_links(struct fixture *fx)
{
	char target[128];

	snprintf(target, sizeof(target), "%s/secret", fx->outside);
	assert_int_equal(symlink(fx->outside, fx_path(fx, "abs")), 0);
	assert_int_equal(symlink(target, fx_path(fx, "abs-file")), 0);
	assert_int_equal(symlink("../outside", fx_path(fx, "rel")), 0);
	assert_int_equal(symlink("/", fx_path(fx, "root")), 0);
	assert_int_equal(mkdir(fx_path(fx, "sub"), 0755), 0);
}

/* Every request that takes a name refuses the ones that leave their directory. */
static void test_names_that_climb_are_refused(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	static const struct p9_str bad[] = {
		{ "..", 2 }, { ".", 1 }, { "", 0 }, { "../outside", 10 }, { "sub/..", 6 },
		{ "/etc", 4 }, { "a\0b", 3 },
	};

	make_escape_links(fx);
	assert_int_equal(tc_walk(c, 0, 1, "sub"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct p9_str names[2] = { bad[i], tc_str("secret") };
		struct p9_fcall reqs[] = {
			{ .type = P9_TLCREATE, .u.tlcreate = { 2, bad[i], P9_DOTL_RDWR, 0600, 0 } },
			{ .type = P9_TMKDIR, .u.tmkdir = { 1, bad[i], 0755, 0 } },
			{ .type = P9_TSYMLINK, .u.tsymlink = { 1, bad[i], tc_str("x"), 0 } },
			{ .type = P9_TMKNOD, .u.tmknod = { 1, bad[i], S_IFIFO | 0600, 0, 0, 0 } },
			{ .type = P9_TLINK, .u.tlink = { 1, 1, bad[i] } },
			{ .type = P9_TRENAMEAT,
			  .u.trenameat = { 1, bad[i], 0, tc_str("stolen") } },
			{ .type = P9_TRENAMEAT,
			  .u.trenameat = { 0, tc_str("sub"), 1, bad[i] } },
			{ .type = P9_TRENAME, .u.trename = { 1, 0, bad[i] } },
			{ .type = P9_TUNLINKAT, .u.tunlinkat = { 1, bad[i], P9_AT_REMOVEDIR } },
		};

		/* from the root and from below it, alone and followed by a name */
		assert_int_equal(tc_walkv(c, 0, 9, 1, names), -EINVAL);
		assert_int_equal(tc_walkv(c, 1, 9, 2, names), -EINVAL);
		assert_int_equal(tc_walk(c, 0, 2, ""), 0);
		for (size_t k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++)
			assert_int_equal(tc_rpc(c, &reqs[k]), -EINVAL);
		assert_int_equal(tc_clunk(c, 2), 0);
	}
	/* a walk that fails after a good name reports how far it got */
	{
		struct p9_str names[3] = { tc_str("sub"), tc_str(".."), tc_str("..") };

		assert_int_equal(tc_walkv(c, 0, 9, 3, names), 1);
		assert_int_equal(tc_getattr(c, 9), -EBADF);
	}
	assert_int_equal(access(fx_path(fx, "sub"), F_OK), 0);
	assert_int_equal(access(fx_path(fx, "../stolen"), F_OK), -1);
}

/* Symlinks are returned as symlinks: the server never follows one. */
static void test_symlinks_out_are_not_followed(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	const char *through[] = { "abs/secret", "rel/secret", "root/etc", "sub/../abs/secret" };

	make_escape_links(fx);
	for (size_t i = 0; i < sizeof(through) / sizeof(through[0]); i++)
		assert_int_not_equal(tc_walk(c, 0, 1, through[i]), 0);
	assert_int_equal(tc_getattr(c, 1), -EBADF);
	/* the links themselves: a walk gives the link, which does not open */
	assert_int_equal(tc_walk(c, 0, 1, "abs-file"), 0);
	assert_int_equal(tc_getattr(c, 1), 0);
	assert_int_equal(c->r.u.rgetattr.qid.type, P9_QTSYMLINK);
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDONLY), -ELOOP);
	assert_int_equal(tc_walk(c, 1, 2, "x"), -ENOTDIR);
	assert_int_equal(tc_walk(c, 0, 3, "abs"), 0);
	assert_int_equal(tc_create(c, 3, "planted", P9_DOTL_WRONLY, 0600), -ENOTDIR);
	assert_int_equal(tc_mkdir(c, 3, "planted", 0700), -ENOTDIR);
	assert_int_equal(tc_read(c, P9_TREADDIR, 3, 0, 4096), -EBADF);
	assert_int_equal(tc_open(c, 3, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY), -ENOTDIR);
	/* attributes set on a link stay on the link */
	{
		struct p9_fcall t = { .type = P9_TSETATTR,
				      .u.tsetattr = { 1, { .valid = P9_SETATTR_MODE, .mode = 0777 } } };
		struct stat st;

		assert_int_equal(tc_rpc(c, &t), -EOPNOTSUPP);
		t.u.tsetattr.attr = (struct p9_setattr){ .valid = P9_SETATTR_SIZE, .size = 0 };
		assert_int_equal(tc_rpc(c, &t), -EINVAL);
		assert_int_equal(stat(fx->outside, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0755);
	}
	assert_int_equal(access(fx_path(fx, "../outside/planted"), F_OK), -1);
	/* a new symlink's target is only text */
	{
		struct p9_fcall t = { .type = P9_TSYMLINK,
				      .u.tsymlink = { 0, tc_str("mine"), tc_str("/etc/passwd"), 0 } };

		assert_int_equal(tc_rpc(c, &t), 0);
		assert_int_equal(tc_walk(c, 0, 4, "mine"), 0);
		assert_int_equal(tc_open(c, 4, P9_DOTL_RDONLY), -ELOOP);
	}
}

struct racer {
	struct fixture *fx;
	int stop;
	long swaps;
};

/* Swap share/d between a real directory and a symlink to outside, endlessly. */
static void *swap_dir_and_link(void *arg)
{
	struct racer *r = arg;
	char d[PATH_MAX], l[PATH_MAX], t[PATH_MAX];

	snprintf(d, sizeof(d), "%s/d", r->fx->share);
	snprintf(l, sizeof(l), "%s/l", r->fx->share);
	snprintf(t, sizeof(t), "%s/t", r->fx->share);
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (!rename(d, t) && !rename(l, d) && !rename(d, l) && !rename(t, d))
			__atomic_fetch_add(&r->swaps, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * The rename race: while d flips between the real directory and a symlink
 * out of the share, walks through d/secret must only ever reach the real
 * one.  A fid already holding d keeps holding that directory.
 */
static void test_rename_race_stays_inside(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct racer r = { .fx = fx };
	int inside = 0, outside = 0;
	pthread_t th;

	assert_int_equal(mkdir(fx_path(fx, "d"), 0755), 0);
	fx_write_file(fx_path(fx, "d/secret"), "inside");
	assert_int_equal(symlink(fx->outside, fx_path(fx, "l")), 0);
	assert_int_equal(tc_walk(c, 0, 5, "d"), 0);
	assert_int_equal(pthread_create(&th, NULL, swap_dir_and_link, &r), 0);
	/* at least 3000 reads, and on until the racer has swapped 200 times */
	for (int i = 0; i < 3000 || (i < 1000000 &&
					__atomic_load_n(&r.swaps, __ATOMIC_RELAXED) < 200); i++) {
		if (tc_walk(c, 0, 1, "d/secret"))
			continue;
		if (!tc_open(c, 1, P9_DOTL_RDONLY) && tc_read(c, P9_TREAD, 1, 0, 64) > 0) {
			if (!memcmp(c->r.u.rread.data, "SECRET", 6))
				outside++;
			else
				inside++;
		}
		assert_int_equal(tc_clunk(c, 1), 0);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	print_message("# %d reads inside, %d outside, %ld swaps\n", inside, outside, r.swaps);
	assert_int_equal(outside, 0);
	assert_true(inside > 0);
	assert_true(r.swaps > 0);
	/* fid 5 held the directory all along, wherever its name went */
	assert_int_equal(tc_walk(c, 5, 6, "secret"), 0);
	assert_int_equal(tc_open(c, 6, P9_DOTL_RDONLY), 0);
	assert_int_equal(tc_read(c, P9_TREAD, 6, 0, 64), 6);
	assert_memory_equal(c->r.u.rread.data, "inside", 6);
}

static void test_bad_fids(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	static const uint8_t types[] = {
		P9_TCLUNK, P9_TREMOVE, P9_TREADLINK, P9_TSTATFS,
	};
	struct p9_fcall t;

	for (size_t i = 0; i < sizeof(types); i++)
		assert_int_equal(tc_fid_op(c, types[i], 77), -EBADF);
	assert_int_equal(tc_getattr(c, 77), -EBADF);
	assert_int_equal(tc_walk(c, 77, 78, ""), -EBADF);
	assert_int_equal(tc_open(c, 77, P9_DOTL_RDONLY), -EBADF);
	assert_int_equal(tc_read(c, P9_TREAD, 77, 0, 10), -EBADF);
	assert_int_equal(tc_read(c, P9_TREADDIR, 77, 0, 100), -EBADF);
	assert_int_equal(tc_write(c, 77, 0, "x", 1), -EBADF);
	assert_int_equal(tc_mkdir(c, 77, "x", 0700), -EBADF);
	assert_int_equal(tc_create(c, 77, "x", 0, 0600), -EBADF);
	/* fids in use */
	assert_int_equal(tc_attach(c, 0, 0), -EBADF);
	assert_int_equal(tc_walk(c, 0, 1, ""), 0);
	assert_int_equal(tc_walk(c, 0, 1, ""), -EBADF);
	t = (struct p9_fcall){ .type = P9_TATTACH,
			       .u.tattach = { 5, 3, tc_str("u"), tc_str(""), 0 } };
	assert_int_equal(tc_rpc(c, &t), -EBADF); /* no Tauth, so no afid */
	t = (struct p9_fcall){ .type = P9_TAUTH, .u.tauth = { 5, tc_str("u"), tc_str(""), 0 } };
	assert_int_equal(tc_rpc(c, &t), -EOPNOTSUPP);
	/* a walk onto itself replaces the fid */
	assert_int_equal(mkdir(fx_path(fx, "dir"), 0755), 0);
	assert_int_equal(tc_walk(c, 1, 1, "dir"), 0);
	assert_int_equal(tc_getattr(c, 1), 0);
	assert_int_equal(c->r.u.rgetattr.qid.type, P9_QTDIR);
	/* a regular file is no directory for the requests that want one */
	fx_write_file(fx_path(fx, "f"), "x");
	assert_int_equal(tc_walk(c, 0, 2, "f"), 0);
	assert_int_equal(tc_mkdir(c, 2, "x", 0700), -ENOTDIR);
	assert_int_equal(tc_walk(c, 2, 3, "x"), -ENOTDIR);
	assert_int_equal(tc_open(c, 2, P9_DOTL_RDONLY), 0);
	assert_int_equal(tc_read(c, P9_TREADDIR, 2, 0, 4096), -ENOTDIR);
	assert_int_equal(tc_open(c, 2, 3), -EINVAL); /* no such access mode */
}

static void test_malformed_messages(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall t = { .type = P9_TCLUNK, .tag = 9, .u.tfid = { 0 } }, r;
	uint8_t small[P9_RLERROR_SIZE];
	size_t len;

	/* the size field disagrees with what the transport received */
	len = p9_encode(&t, c->req, sizeof(c->req));
	assert_int_equal(tc_raw(c, len - 1, t.type, 9), -EBADMSG);
	c->req[len] = 0;
	assert_int_equal(tc_raw(c, len + 1, t.type, 9), -EBADMSG);
	/* too short for a header: Rlerror with no tag */
	assert_int_equal(tc_raw(c, 3, t.type, P9_NOTAG), -EBADMSG);
	assert_int_equal(tc_raw(c, 0, t.type, P9_NOTAG), -EBADMSG);
	/* unknown types, replies sent as requests, the old dialects */
	for (int type = 0; type < 256; type++) {
		int err;

		if (p9_type_name(type)[0] == 'T' && type != P9_TLERROR)
			continue;
		len = p9_encode(&t, c->req, sizeof(c->req));
		c->req[4] = type;
		err = tc_raw(c, len, type, 9);
		if (!strcmp(p9_type_name(type), "?"))
			assert_int_equal(err, -EOPNOTSUPP);
		else /* a reply's layout: the body does not fit it, or it is no request */
			assert_true(err == -EOPNOTSUPP || err == -EBADMSG);
	}
	/* a Twrite whose count runs past the message */
	t = (struct p9_fcall){ .type = P9_TWRITE, .tag = 3, .u.twrite = { 0, 0, 4, (uint8_t *)"abcd" } };
	len = p9_encode(&t, c->req, sizeof(c->req));
	c->req[22] = 0x7f;
	assert_int_equal(tc_raw(c, len, t.type, 3), -EBADMSG);
	/* a reply buffer too small for anything: nothing is written */
	assert_int_equal(p9_server_handle(c->s, c->req, len, small, sizeof(small) - 1), 0);
	/* just big enough for Rlerror: a read that cannot fit is refused, not overrun */
	t = (struct p9_fcall){ .type = P9_TSTATFS, .tag = 4, .u.tfid = { 0 } };
	len = p9_encode(&t, c->req, sizeof(c->req));
	assert_int_equal(p9_server_handle(c->s, c->req, len, small, sizeof(small)), sizeof(small));
	assert_int_equal(p9_decode(small, sizeof(small), &r), 0);
	assert_int_equal(r.type, P9_RLERROR);
	assert_int_equal(r.u.rlerror.ecode, EMSGSIZE);
	/* the session still works */
	assert_int_equal(tc_getattr(c, 0), 0);
}

static int ro_setup(void **state)
{
	return fx_setup_flags(state, P9_SERVER_READONLY);
}

static void test_read_only_share(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall reqs[] = {
		{ .type = P9_TLCREATE, .u.tlcreate = { 2, tc_str("n"), P9_DOTL_RDWR, 0600, 0 } },
		{ .type = P9_TMKDIR, .u.tmkdir = { 0, tc_str("n"), 0755, 0 } },
		{ .type = P9_TSYMLINK, .u.tsymlink = { 0, tc_str("n"), tc_str("x"), 0 } },
		{ .type = P9_TMKNOD, .u.tmknod = { 0, tc_str("n"), S_IFIFO | 0600, 0, 0, 0 } },
		{ .type = P9_TLINK, .u.tlink = { 0, 1, tc_str("n") } },
		{ .type = P9_TRENAMEAT, .u.trenameat = { 0, tc_str("f"), 0, tc_str("n") } },
		{ .type = P9_TRENAME, .u.trename = { 1, 0, tc_str("n") } },
		{ .type = P9_TUNLINKAT, .u.tunlinkat = { 0, tc_str("f"), 0 } },
		{ .type = P9_TSETATTR, .u.tsetattr = { 1, { .valid = P9_SETATTR_MODE, .mode = 0 } } },
		{ .type = P9_TXATTRCREATE, .u.txattrcreate = { 1, tc_str("user.x"), 1, 0 } },
		{ .type = P9_TREMOVE, .u.tfid = { 1 } },
	};
	struct stat st;

	fx_write_file(fx_path(fx, "f"), "keep");
	assert_int_equal(tc_walk(c, 0, 1, "f"), 0);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		assert_int_equal(tc_walk(c, 0, 2, ""), 0);
		assert_int_equal(tc_rpc(c, &reqs[i]), -EROFS);
		tc_clunk(c, 2);
	}
	/* Tremove clunked fid 1 even though it failed */
	assert_int_equal(tc_getattr(c, 1), -EBADF);
	assert_int_equal(tc_walk(c, 0, 1, "f"), 0);
	assert_int_equal(tc_open(c, 1, P9_DOTL_WRONLY), -EROFS);
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDONLY | P9_DOTL_TRUNC), -EROFS);
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDONLY), 0);
	assert_int_equal(tc_read(c, P9_TREAD, 1, 0, 10), 4);
	assert_int_equal(tc_write(c, 1, 0, "x", 1), -EROFS);
	assert_int_equal(stat(fx_path(fx, "f"), &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(access(fx_path(fx, "n"), F_OK), -1);
}

/* A session may not hold more fids than its limit; clunking frees them. */
static void test_fid_limit(void **state)
{
	struct fixture *fx = *state;
	struct p9_server_config cfg = { .root = fx->share, .max_fids = 8 };
	struct tclient *c = &fx->c;
	int made = 0;

	p9_server_destroy(c->s);
	assert_int_equal(p9_server_create(&cfg, &c->s), 0);
	assert_int_equal(tc_version(c, 8192), 0);
	assert_int_equal(tc_attach(c, 0, 0), 0);
	for (uint32_t fid = 1; fid < 100; fid++)
		if (!tc_walk(c, 0, fid, ""))
			made++;
	assert_int_equal(made, 7);
	assert_int_equal(tc_walk(c, 0, 500, ""), -EMFILE);
	assert_int_equal(tc_clunk(c, 3), 0);
	assert_int_equal(tc_walk(c, 0, 500, ""), 0);
}

/* Random damage to a valid session's requests: every reply is well formed. */
static void test_damaged_requests(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall reqs[] = {
		{ .type = P9_TWALK, .u.twalk = { 0, 1, 1, { { "f", 1 } } } },
		{ .type = P9_TLOPEN, .u.tlopen = { 1, P9_DOTL_RDWR } },
		{ .type = P9_TREAD, .u.tread = { 1, 0, 100 } },
		{ .type = P9_TWRITE, .u.twrite = { 1, 3, 5, (const uint8_t *)"hello" } },
		{ .type = P9_TGETATTR, .u.tgetattr = { 1, P9_GETATTR_BASIC } },
		{ .type = P9_TSETATTR, .u.tsetattr = { 1, { .valid = P9_SETATTR_SIZE, .size = 9 } } },
		{ .type = P9_TREADDIR, .u.tread = { 0, 0, 4096 } },
		{ .type = P9_TMKDIR, .u.tmkdir = { 0, { "dd", 2 }, 0755, 0 } },
		{ .type = P9_TXATTRWALK, .u.txattrwalk = { 1, 2, { "", 0 } } },
		{ .type = P9_TCLUNK, .u.tfid = { 1 } },
		{ .type = P9_TUNLINKAT, .u.tunlinkat = { 0, { "dd", 2 }, P9_AT_REMOVEDIR } },
	};
	unsigned int seed = 99;

	fx_write_file(fx_path(fx, "f"), "some data");
	for (int round = 0; round < 30000; round++) {
		struct p9_fcall *t = &reqs[rand_r(&seed) % (sizeof(reqs) / sizeof(reqs[0]))];
		size_t len;
		int r;

		t->tag = round % 1000;
		len = p9_encode(t, c->req, sizeof(c->req));
		for (int k = rand_r(&seed) % 3; k >= 0; k--)
			c->req[rand_r(&seed) % len] = rand_r(&seed);
		if (rand_r(&seed) % 4 == 0)
			len = rand_r(&seed) % (len + 1);
		c->rlen = p9_server_handle(c->s, c->req, len, c->rep, sizeof(c->rep));
		r = p9_decode(c->rep, c->rlen, &c->r);
		assert_int_equal(r, 0);
		assert_true(c->r.type == P9_RLERROR || (c->r.type & 1));
	}
	/* the share is still there and serves a new session (damage may have clunked fid 0) */
	assert_int_equal(access(fx->share, F_OK), 0);
	assert_int_equal(tc_version(c, 8192), 0);
	assert_int_equal(tc_attach(c, 0, 0), 0);
	assert_int_equal(tc_getattr(c, 0), 0);
}

struct worker {
	struct p9_server *s;
	uint32_t fid;
	int saboteur; /* clunks fid instead of using it */
	int errors;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct tclient *c = malloc(sizeof(*c));

	assert_non_null(c);
	c->s = w->s;
	c->tag = w->fid;
	for (int i = 0; i < 500; i++) {
		if (w->saboteur) {
			tc_clunk(c, w->fid);
			continue;
		}
		if (tc_walk(c, 0, w->fid, "f") || tc_open(c, w->fid, P9_DOTL_RDONLY) ||
		    tc_read(c, P9_TREAD, w->fid, 0, 100) != 9 || tc_clunk(c, w->fid))
			w->errors++;
	}
	free(c);
	return NULL;
}

/*
 * Threads serving one session at once: three use their own fids and must
 * see no error; a fourth keeps using a fid a fifth keeps clunking, where
 * any answer is right but nothing may crash or leak (ASan watches).
 */
static void test_threads_share_a_session(void **state)
{
	struct fixture *fx = *state;
	struct worker w[5];
	pthread_t th[5];

	fx_write_file(fx_path(fx, "f"), "some data");
	for (int i = 0; i < 5; i++) {
		w[i] = (struct worker){ fx->c.s, 100 + (i < 4 ? i : 3), i == 4, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(w[i].errors, 0);
	assert_int_equal(tc_getattr(&fx->c, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names_that_climb_are_refused, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_out_are_not_followed, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_race_stays_inside, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_fids, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_messages, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_only_share, ro_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fid_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_requests, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_threads_share_a_session, fx_setup,
						fx_teardown),
	};

	return cmocka_run_group_tests_name("p9 confinement", tests, NULL, NULL);
}
