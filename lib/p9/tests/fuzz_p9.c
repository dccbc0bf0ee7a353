// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the 9P server: arbitrary bytes, cut into messages
 * by their own size fields, served on a scratch share.  Each input starts
 * on a fresh session with a few fids ready (0: the root, 1: a directory,
 * 2: an open file, 3: a symlink out of the share), so that mutations reach
 * the file operations, not only the decoder.  Half the messages go
 * through p9_server_handlev in pieces.  Every reply must decode,
 * carry its request's tag and fit the buffer; nothing may leave the share.
 *
 * make fuzz, then build/fuzz/fuzz_p9 [corpus dir]; make fuzz-run runs it.
 * With P9_FUZZ_SEEDS=DIR it first writes a few valid request streams to
 * DIR (a corpus to start from).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "p9_client.h"

#define FUZZ_MSIZE   (64 * 1024)
#define RESET_EVERY  2000 /* inputs between fresh scratch shares */

static char base[64], share[96], outside[128];
static struct tclient *c;
static unsigned long runs;

static void run(const char *cmd)
{
	if (system(cmd))
		abort();
}

/*
 * A fresh share: a directory, a file, symlinks out, and a secret beside
 * it; and a server on it (the old one held the directory removed).
 */
static void make_share(void)
{
	struct p9_server_config cfg = { .root = share, .max_msize = FUZZ_MSIZE, .max_fids = 64 };
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "rm -rf %s/share && mkdir -p %s/share/dir && echo data >%s/share/file && "
		 "ln -s %s %s/share/out && ln -s ../outside %s/share/rel && "
		 "echo SECRET >%s/secret", base, base, base, outside, base, base, outside);
	run(cmd);
	if (c->s)
		p9_server_destroy(c->s);
	if (p9_server_create(&cfg, &c->s))
		abort();
}

/* Serve one request in c->req (LEN bytes) and check the reply. */
static void serve(size_t len)
{
	uint16_t tag = len >= P9_HEADER_SIZE ? (uint16_t)(c->req[5] | c->req[6] << 8) : P9_NOTAG;
	struct p9_fcall r;

	uint32_t msize;

	/*
	 * Half the messages go through p9_server_handlev, cut in three
	 * pieces, the reply in pieces that together are c->rep.
	 */
	if (len && c->req[len - 1] & 1) {
		struct iovec in[3] = {
			{ c->req, len / 3 }, { c->req + len / 3, len / 3 },
			{ c->req + 2 * (len / 3), len - 2 * (len / 3) },
		};
		struct iovec out[3] = {
			{ c->rep, 5 }, { c->rep + 5, 100 }, { c->rep + 105, FUZZ_MSIZE - 105 },
		};

		c->rlen = p9_server_handlev(c->s, in, 3, out, 3);
	} else {
		c->rlen = p9_server_handle(c->s, c->req, len, c->rep, FUZZ_MSIZE);
	}
	msize = p9_server_msize(c->s);
	if (!c->rlen || c->rlen > FUZZ_MSIZE || p9_decode(c->rep, c->rlen, &r))
		abort();
	if (msize && c->rlen > msize && r.type != P9_RVERSION)
		abort();
	/* an unreadable header is answered with P9_NOTAG */
	if (r.tag != tag && !(r.type == P9_RLERROR && r.tag == P9_NOTAG))
		abort();
	if (r.type == P9_RREAD && r.u.rread.data && !memcmp(r.u.rread.data, "SECRET", 6))
		abort(); /* read from outside the share */
}

/* A new session (Tversion drops every fid), attached, with the ready fids; 0 when all worked. */
static int open_session(void)
{
	c->tag = 1;
	return tc_version(c, FUZZ_MSIZE) || tc_attach(c, 0, 0) || tc_walk(c, 0, 1, "dir") ||
	       tc_walk(c, 0, 2, "file") || tc_open(c, 2, P9_DOTL_RDWR) || tc_walk(c, 0, 3, "out");
}

/* An earlier input may have removed what the session needs: then the share is rebuilt. */
static void start_session(void)
{
	if (!open_session())
		return;
	make_share();
	if (open_session())
		abort();
}

/* Append request T to the seed stream in BUF. */
static size_t seed_put(uint8_t *buf, size_t used, struct p9_fcall t)
{
	t.tag = used % 1000;
	return used + p9_encode(&t, buf + used, FUZZ_MSIZE - used);
}

static void write_seeds(const char *dir)
{
	static uint8_t buf[FUZZ_MSIZE];
	const struct p9_fcall streams[][6] = {
		{ { .type = P9_TWALK, .u.twalk = { 0, 4, 2, { { "dir", 3 }, { "x", 1 } } } },
		  { .type = P9_TLCREATE, .u.tlcreate = { 1, { "new", 3 }, P9_DOTL_RDWR, 0644, 0 } },
		  { .type = P9_TWRITE, .u.twrite = { 1, 0, 5, (const uint8_t *)"hello" } },
		  { .type = P9_TREAD, .u.tread = { 1, 0, 100 } } },
		{ { .type = P9_TREADDIR, .u.tread = { 1, 0, 4096 } },
		  { .type = P9_TLOPEN, .u.tlopen = { 1, P9_DOTL_RDONLY } },
		  { .type = P9_TREADDIR, .u.tread = { 1, 0, 4096 } },
		  { .type = P9_TGETATTR, .u.tgetattr = { 3, P9_GETATTR_BASIC } },
		  { .type = P9_TREADLINK, .u.tfid = { 3 } } },
		{ { .type = P9_TMKDIR, .u.tmkdir = { 1, { "d", 1 }, 0755, 0 } },
		  { .type = P9_TSYMLINK, .u.tsymlink = { 1, { "l", 1 }, { "../..", 5 }, 0 } },
		  { .type = P9_TRENAMEAT, .u.trenameat = { 1, { "d", 1 }, 0, { "e", 1 } } },
		  { .type = P9_TLINK, .u.tlink = { 1, 2, { "h", 1 } } },
		  { .type = P9_TUNLINKAT, .u.tunlinkat = { 0, { "e", 1 }, P9_AT_REMOVEDIR } },
		  { .type = P9_TSTATFS, .u.tfid = { 0 } } },
		{ { .type = P9_TXATTRWALK, .u.txattrwalk = { 2, 5, { "", 0 } } },
		  { .type = P9_TREAD, .u.tread = { 5, 0, 100 } },
		  { .type = P9_TXATTRCREATE, .u.txattrcreate = { 2, { "user.a", 6 }, 2, 0 } },
		  { .type = P9_TWRITE, .u.twrite = { 2, 0, 2, (const uint8_t *)"ab" } },
		  { .type = P9_TCLUNK, .u.tfid = { 2 } } },
		{ { .type = P9_TSETATTR, .u.tsetattr = { 2, { .valid = P9_SETATTR_SIZE, .size = 3 } } },
		  { .type = P9_TLOCK, .u.tlock = { 2, { P9_LOCK_WRLCK, 0, 0, 10, 1, { "c", 1 } } } },
		  { .type = P9_TGETLOCK, .u.tlock = { 2, { P9_LOCK_RDLCK, 0, 0, 10, 1, { "c", 1 } } } },
		  { .type = P9_TFSYNC, .u.tfsync = { 2, 0 } },
		  { .type = P9_TREMOVE, .u.tfid = { 2 } },
		  { .type = P9_TVERSION, .u.version = { 8192, { P9_PROTO_L, 8 } } } },
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		size_t used = 0;
		FILE *f;

		for (size_t k = 0; k < 6 && streams[i][k].type; k++)
			used = seed_put(buf, used, streams[i][k]);
		snprintf(path, sizeof(path), "%s/seed-%zu", dir, i);
		f = fopen(path, "w");
		if (!f || fwrite(buf, 1, used, f) != used || fclose(f))
			abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(base, sizeof(base), "%s/fuzz_p9.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base))
		abort();
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	if (mkdir(outside, 0755))
		abort();
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	make_share();
	if (getenv("P9_FUZZ_SEEDS"))
		write_seeds(getenv("P9_FUZZ_SEEDS"));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char check[160];

	if (++runs % RESET_EVERY == 0)
		make_share();
	start_session();
	/* The input is a stream of messages; each size field says where the next starts. */
	while (size >= 4) {
		size_t len = p9_msg_size(data);

		if (len > size)
			len = size;
		if (len < 4)
			len = 4;
		if (len > FUZZ_MSIZE)
			len = FUZZ_MSIZE;
		memcpy(c->req, data, len);
		serve(len);
		data += len;
		size -= len;
	}
	/* the secret and its directory are as they were */
	snprintf(check, sizeof(check), "%s/secret", outside);
	if (access(check, F_OK))
		abort();
	return 0;
}
