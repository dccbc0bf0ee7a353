// SPDX-License-Identifier: MIT
/*
 * The 9P server, request by request, with the host's own view of the
 * share as the oracle: what a request did must show there, and what the
 * host did must show in the replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "p9_fixture.h"

static void test_version(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall t = { .type = P9_TVERSION, .u.version = { 1 << 30, tc_str("9P2000.L") } };

	/* capped at the server's maximum */
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.version.msize, TC_MSIZE);
	assert_int_equal(p9_server_msize(c->s), TC_MSIZE);
	assert_memory_equal(c->r.u.version.version.s, "9P2000.L", 8);
	/* a new version dropped fid 0 */
	assert_int_equal(tc_getattr(c, 0), -EBADF);
	/* a version we do not speak: "unknown", and nothing else works */
	t.u.version.version = tc_str("9P2000.u");
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.version.version.len, 7);
	assert_memory_equal(c->r.u.version.version.s, "unknown", 7);
	assert_int_equal(tc_attach(c, 0, 0), -EPROTO);
	t.u.version = (typeof(t.u.version)){ 100, tc_str("9P2000.L") };
	assert_int_equal(tc_rpc(c, &t), -EINVAL);
	assert_int_equal(tc_version(c, 8192), 0);
	assert_int_equal(c->r.u.version.msize, 8192);
	assert_int_equal(tc_attach(c, 0, 0), 0);
	assert_int_equal(c->r.u.qid.type, P9_QTDIR);
}

static void test_create_write_read(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	char buf[64] = "";
	struct stat st;
	FILE *f;

	assert_int_equal(tc_walk(c, 0, 1, ""), 0);
	assert_int_equal(tc_create(c, 1, "f", P9_DOTL_RDWR, 0640), 0);
	assert_int_equal(c->r.u.ropen.qid.type, P9_QTFILE);
	assert_int_equal(tc_write(c, 1, 0, "hello world", 11), 11);
	assert_int_equal(tc_write(c, 1, 6, "WORLD", 5), 5);
	f = fopen(fx_path(fx, "f"), "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "hello WORLD");
	assert_int_equal(stat(fx_path(fx, "f"), &st), 0);
	/* exactly the mode asked for, whatever the server's umask */
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(tc_read(c, P9_TREAD, 1, 6, 100), 5);
	assert_memory_equal(c->r.u.rread.data, "WORLD", 5);
	assert_int_equal(tc_read(c, P9_TREAD, 1, 11, 100), 0);
	assert_int_equal(tc_getattr(c, 1), 0);
	assert_int_equal(c->r.u.rgetattr.size, 11);
	assert_int_equal(c->r.u.rgetattr.mode, S_IFREG | 0640);
	assert_int_equal(c->r.u.rgetattr.qid.path, st.st_ino);
	assert_int_equal(tc_clunk(c, 1), 0);
	/* open again, by walk: O_TRUNC empties it */
	assert_int_equal(tc_walk(c, 0, 2, "f"), 0);
	assert_int_equal(tc_open(c, 2, P9_DOTL_WRONLY | P9_DOTL_TRUNC), 0);
	assert_int_equal(stat(fx_path(fx, "f"), &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(tc_open(c, 2, P9_DOTL_RDONLY), -EBADF); /* already open */
	assert_int_equal(tc_read(c, P9_TREAD, 2, 0, 10), -EBADF); /* opened write-only */
	assert_int_equal(tc_clunk(c, 2), 0);
	assert_int_equal(tc_clunk(c, 2), -EBADF);
	/* Tlcreate of an existing name: opened unless O_EXCL */
	assert_int_equal(tc_walk(c, 0, 3, ""), 0);
	assert_int_equal(tc_create(c, 3, "f", P9_DOTL_RDWR | P9_DOTL_EXCL, 0600), -EEXIST);
	assert_int_equal(tc_create(c, 3, "f", P9_DOTL_RDWR, 0600), 0);
	assert_int_equal(stat(fx_path(fx, "f"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
}

static void test_large_reads_fit_msize(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	size_t size = 3 * TC_MSIZE + 1000, got = 0;
	uint8_t *data = malloc(size);
	FILE *f;

	assert_non_null(data);
	for (size_t i = 0; i < size; i++)
		data[i] = i * 7 + (i >> 12);
	f = fopen(fx_path(fx, "big"), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	fclose(f);
	assert_int_equal(tc_walk(c, 0, 1, "big"), 0);
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDONLY), 0);
	while (got < size) {
		/* a count far beyond msize is cut to what fits */
		int n = tc_read(c, P9_TREAD, 1, got, UINT32_MAX);

		assert_true(n > 0);
		assert_true(c->rlen <= TC_MSIZE);
		assert_memory_equal(c->r.u.rread.data, data + got, n);
		got += n;
	}
	assert_int_equal(tc_read(c, P9_TREAD, 1, got, UINT32_MAX), 0);
	/* a message of exactly msize is served */
	assert_int_equal(tc_walk(c, 0, 2, ""), 0);
	assert_int_equal(tc_create(c, 2, "copy", P9_DOTL_WRONLY, 0600), 0);
	assert_int_equal(tc_write(c, 2, 0, data, TC_MSIZE - P9_TWRITE_HEADER),
			 TC_MSIZE - P9_TWRITE_HEADER);
	free(data);
}

static void test_directories_links_nodes(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall t = { .type = P9_TSYMLINK,
			      .u.tsymlink = { 0, tc_str("sl"), tc_str("some/where"), 0 } };
	char target[64] = "";
	struct stat a, b;

	assert_int_equal(tc_mkdir(c, 0, "dir", 0751), 0);
	assert_int_equal(c->r.u.qid.type, P9_QTDIR);
	assert_int_equal(stat(fx_path(fx, "dir"), &a), 0);
	assert_true(S_ISDIR(a.st_mode));
	assert_int_equal(a.st_mode & 07777, 0751);
	assert_int_equal(tc_mkdir(c, 0, "dir", 0751), -EEXIST);

	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.qid.type, P9_QTSYMLINK);
	assert_int_equal(readlink(fx_path(fx, "sl"), target, sizeof(target)), 10);
	assert_string_equal(target, "some/where");
	assert_int_equal(tc_walk(c, 0, 1, "sl"), 0);
	assert_int_equal(tc_fid_op(c, P9_TREADLINK, 1), 0);
	assert_int_equal(c->r.u.rreadlink.target.len, 10);
	assert_memory_equal(c->r.u.rreadlink.target.s, "some/where", 10);
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDONLY), -ELOOP);

	fx_write_file(fx_path(fx, "file"), "x");
	assert_int_equal(tc_walk(c, 0, 2, "file"), 0);
	assert_int_equal(tc_fid_op(c, P9_TREADLINK, 2), -EINVAL);
	t = (struct p9_fcall){ .type = P9_TLINK, .u.tlink = { 0, 2, tc_str("hard") } };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(stat(fx_path(fx, "file"), &a), 0);
	assert_int_equal(stat(fx_path(fx, "hard"), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_nlink, 2);
	/* a hard link to the symlink itself, not what it points to */
	t.u.tlink = (typeof(t.u.tlink)){ 0, 1, tc_str("hard-sl") };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(lstat(fx_path(fx, "hard-sl"), &b), 0);
	assert_true(S_ISLNK(b.st_mode));

	t = (struct p9_fcall){ .type = P9_TMKNOD,
			       .u.tmknod = { 0, tc_str("fifo"), S_IFIFO | 0620, 0, 0, 0 } };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(stat(fx_path(fx, "fifo"), &a), 0);
	assert_true(S_ISFIFO(a.st_mode));
	assert_int_equal(a.st_mode & 07777, 0620);
	t.u.tmknod.mode = S_IFDIR | 0755;
	assert_int_equal(tc_rpc(c, &t), -EINVAL);
	if (geteuid() == 0) {
		t.u.tmknod = (typeof(t.u.tmknod)){ 0, tc_str("null"), S_IFCHR | 0666, 1, 3, 0 };
		assert_int_equal(tc_rpc(c, &t), 0);
		assert_int_equal(stat(fx_path(fx, "null"), &a), 0);
		assert_true(S_ISCHR(a.st_mode));
		assert_int_equal(a.st_rdev, makedev(1, 3));
	}

	t = (struct p9_fcall){ .type = P9_TUNLINKAT, .u.tunlinkat = { 0, tc_str("dir"), 0 } };
	assert_int_equal(tc_rpc(c, &t), -EISDIR);
	t.u.tunlinkat.flags = P9_AT_REMOVEDIR;
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(access(fx_path(fx, "dir"), F_OK), -1);
	t.u.tunlinkat = (typeof(t.u.tunlinkat)){ 0, tc_str("hard"), 0 };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(access(fx_path(fx, "hard"), F_OK), -1);
	/* Tremove: the fid's file goes, and so does the fid */
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 2), 0);
	assert_int_equal(access(fx_path(fx, "file"), F_OK), -1);
	assert_int_equal(tc_getattr(c, 2), -EBADF);
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 0), -EBUSY); /* not the share root */
}

/* All entries, through replies of COUNT bytes; returns how many. */
static int list_dir(struct tclient *c, uint32_t fid, uint32_t count, char names[][32], int max)
{
	uint64_t off = 0;
	int n = 0, got;

	while ((got = tc_read(c, P9_TREADDIR, fid, off, count)) > 0) {
		const uint8_t *p = c->r.u.rread.data;
		size_t left = got;
		struct p9_dirent d;

		assert_true((uint32_t)got <= count);
		while (p9_get_dirent(&p, &left, &d) == 1) {
			assert_true(n < max && d.name.len < 32);
			memcpy(names[n], d.name.s, d.name.len);
			names[n++][d.name.len] = '\0';
			off = d.offset;
		}
		assert_int_equal(left, 0);
	}
	assert_int_equal(got, 0);
	return n;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_readdir(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	static char names[300][32], again[300][32];
	char path[64];
	int n;

	assert_int_equal(mkdir(fx_path(fx, "d"), 0755), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "d/entry-%03d", i);
		fx_write_file(fx_path(fx, path), "");
	}
	assert_int_equal(tc_walk(c, 0, 1, "d"), 0);
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY), 0);
	/* small replies: every one resumes where the last stopped */
	n = list_dir(c, 1, 100, names, 300);
	assert_int_equal(n, 202);
	qsort(names, n, sizeof(names[0]), cmp_names);
	assert_string_equal(names[0], ".");
	assert_string_equal(names[1], "..");
	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "entry-%03d", i);
		assert_string_equal(names[i + 2], path);
	}
	/* from offset 0 again, in big replies: the same entries */
	assert_int_equal(list_dir(c, 1, 65536, again, 300), 202);
	qsort(again, n, sizeof(again[0]), cmp_names);
	assert_memory_equal(names, again, sizeof(names[0]) * n);
	/* a reply too small for one entry is an error, not the end */
	assert_int_equal(tc_read(c, P9_TREADDIR, 1, 0, 10), -EINVAL);
	assert_int_equal(tc_walk(c, 0, 2, "d"), 0);
	assert_int_equal(tc_read(c, P9_TREADDIR, 2, 0, 4096), -EBADF); /* not open */
	assert_int_equal(tc_open(c, 2, P9_DOTL_WRONLY), -EISDIR);
}

/* A fid keeps naming its file when the client renames the file or its directory. */
static void test_renames_carry_fids(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall t = { .type = P9_TRENAMEAT,
			      .u.trenameat = { 1, tc_str("x"), 2, tc_str("y") } };

	assert_int_equal(mkdir(fx_path(fx, "a"), 0755), 0);
	assert_int_equal(mkdir(fx_path(fx, "b"), 0755), 0);
	fx_write_file(fx_path(fx, "a/x"), "payload");
	assert_int_equal(tc_walk(c, 0, 1, "a"), 0);
	assert_int_equal(tc_walk(c, 0, 2, "b"), 0);
	assert_int_equal(tc_walk(c, 0, 3, "a/x"), 0);
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(access(fx_path(fx, "b/y"), F_OK), 0);
	/* fid 3 opens b/y now, and Tremove removes b/y */
	assert_int_equal(tc_open(c, 3, P9_DOTL_RDONLY), 0);
	assert_int_equal(tc_read(c, P9_TREAD, 3, 0, 100), 7);
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 3), 0);
	assert_int_equal(access(fx_path(fx, "b/y"), F_OK), -1);

	/* Trename moves the fid's own file; a fid below a renamed directory follows it */
	fx_write_file(fx_path(fx, "a/z"), "z");
	assert_int_equal(tc_walk(c, 0, 4, "a/z"), 0);
	assert_int_equal(tc_walk(c, 0, 5, "a"), 0);
	t = (struct p9_fcall){ .type = P9_TRENAME, .u.trename = { 5, 0, tc_str("a2") } };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(access(fx_path(fx, "a2/z"), F_OK), 0);
	t.u.trename = (typeof(t.u.trename)){ 4, 2, tc_str("moved") };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(access(fx_path(fx, "b/moved"), F_OK), 0);
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 4), 0);
	assert_int_equal(access(fx_path(fx, "b/moved"), F_OK), -1);

	/* renamed behind the server's back: the name is stale, not someone else's */
	fx_write_file(fx_path(fx, "b/w"), "w");
	assert_int_equal(tc_walk(c, 0, 6, "b/w"), 0);
	assert_int_equal(rename(fx_path(fx, "b/w"), fx_path(fx, "b/w2")), 0);
	fx_write_file(fx_path(fx, "b/w"), "another file");
	assert_int_equal(tc_fid_op(c, P9_TREMOVE, 6), -ESTALE);
	assert_int_equal(access(fx_path(fx, "b/w"), F_OK), 0);
}

static void test_setattr(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall t = { .type = P9_TSETATTR };
	struct p9_setattr *a = &t.u.tsetattr.attr;
	struct stat st;

	fx_write_file(fx_path(fx, "f"), "0123456789");
	assert_int_equal(tc_walk(c, 0, 1, "f"), 0);
	t.u.tsetattr.fid = 1;
	*a = (struct p9_setattr){ .valid = P9_SETATTR_MODE, .mode = 04711 };
	assert_int_equal(tc_rpc(c, &t), 0);
	*a = (struct p9_setattr){ .valid = P9_SETATTR_SIZE, .size = 4 };
	assert_int_equal(tc_rpc(c, &t), 0);
	*a = (struct p9_setattr){
		.valid = P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME |
			 P9_SETATTR_MTIME_SET,
		.atime_sec = 1000000000, .atime_nsec = 5,
		.mtime_sec = 981173106, .mtime_nsec = 123456789,
	};
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(stat(fx_path(fx, "f"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04711);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(st.st_atim.tv_sec, 1000000000);
	assert_int_equal(st.st_atim.tv_nsec, 5);
	assert_int_equal(st.st_mtim.tv_sec, 981173106);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	/* the reply of getattr says the same */
	assert_int_equal(tc_getattr(c, 1), 0);
	assert_int_equal(c->r.u.rgetattr.mtime_sec, 981173106);
	assert_int_equal(c->r.u.rgetattr.mtime_nsec, 123456789);
	assert_int_equal(c->r.u.rgetattr.size, 4);
	/* MTIME without MTIME_SET is "now" */
	*a = (struct p9_setattr){ .valid = P9_SETATTR_MTIME };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(stat(fx_path(fx, "f"), &st), 0);
	assert_true(st.st_mtim.tv_sec > time(NULL) - 60);
	*a = (struct p9_setattr){ .valid = P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET,
				  .mtime_nsec = 1000000000 };
	assert_int_equal(tc_rpc(c, &t), -EINVAL);
	if (geteuid() == 0) {
		*a = (struct p9_setattr){ .valid = P9_SETATTR_UID | P9_SETATTR_GID, .uid = 1234,
					  .gid = 5678 };
		assert_int_equal(tc_rpc(c, &t), 0);
		assert_int_equal(stat(fx_path(fx, "f"), &st), 0);
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 5678);
		/* files a user makes are that user's: the uid of its attach */
		assert_int_equal(tc_attach(c, 10, 4321), 0);
		assert_int_equal(tc_create(c, 10, "mine", P9_DOTL_WRONLY, 0600), 0);
		assert_int_equal(stat(fx_path(fx, "mine"), &st), 0);
		assert_int_equal(st.st_uid, 4321);
	}
}

static void test_statfs_fsync_locks(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall t = { .type = P9_TLOCK };
	struct p9_flock *l = &t.u.tlock.lock;
	struct statfs sf;

	assert_int_equal(tc_fid_op(c, P9_TSTATFS, 0), 0);
	assert_int_equal(statfs(fx->share, &sf), 0);
	assert_int_equal(c->r.u.rstatfs.type, (uint32_t)sf.f_type);
	assert_int_equal(c->r.u.rstatfs.bsize, sf.f_bsize);
	assert_int_equal(c->r.u.rstatfs.blocks, sf.f_blocks);

	fx_write_file(fx_path(fx, "f"), "data");
	assert_int_equal(tc_walk(c, 0, 1, "f"), 0);
	t = (struct p9_fcall){ .type = P9_TFSYNC, .u.tfsync = { 1, 0 } };
	assert_int_equal(tc_rpc(c, &t), -EBADF); /* not open */
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDWR), 0);
	assert_int_equal(tc_rpc(c, &t), 0);
	t.u.tfsync.datasync = 1;
	assert_int_equal(tc_rpc(c, &t), 0);

	/* two fids, two opens of one file: their locks conflict */
	assert_int_equal(tc_walk(c, 0, 2, "f"), 0);
	assert_int_equal(tc_open(c, 2, P9_DOTL_RDWR), 0);
	t = (struct p9_fcall){ .type = P9_TLOCK, .u.tlock = { 1, { P9_LOCK_WRLCK, 0, 0, 10, 1,
								  tc_str("a") } } };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.rlock.status, P9_LOCK_SUCCESS);
	t.u.tlock.fid = 2;
	l->flags = P9_LOCK_FLAGS_BLOCK; /* never waits: the client retries */
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.rlock.status, P9_LOCK_BLOCKED);
	t.type = P9_TGETLOCK;
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.rgetlock.type, P9_LOCK_WRLCK);
	assert_int_equal(c->r.u.rgetlock.start, 0);
	assert_int_equal(c->r.u.rgetlock.length, 10);
	/* unlocked by the first: the second gets it */
	t = (struct p9_fcall){ .type = P9_TLOCK, .u.tlock = { 1, { P9_LOCK_UNLCK, 0, 0, 10, 1,
								  tc_str("a") } } };
	assert_int_equal(tc_rpc(c, &t), 0);
	t.u.tlock.fid = 2;
	l->type = P9_LOCK_WRLCK;
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.rlock.status, P9_LOCK_SUCCESS);
	/* clunking the fid drops its locks */
	assert_int_equal(tc_clunk(c, 2), 0);
	t.u.tlock.fid = 1;
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.rlock.status, P9_LOCK_SUCCESS);
	l->type = 7;
	assert_int_equal(tc_rpc(c, &t), -EINVAL);
	l->type = P9_LOCK_RDLCK;
	l->start = UINT64_MAX;
	assert_int_equal(tc_rpc(c, &t), -EINVAL);
}

static void test_xattrs(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	struct p9_fcall t;
	char buf[64];

	fx_write_file(fx_path(fx, "f"), "x");
	if (setxattr(fx_path(fx, "f"), "user.host", "from-host", 9, 0)) {
		skip(); /* the scratch file system has no user xattrs */
		return;
	}
	/* set: clone, create, write the value, clunk */
	assert_int_equal(tc_walk(c, 0, 1, "f"), 0);
	assert_int_equal(tc_walk(c, 1, 2, ""), 0);
	t = (struct p9_fcall){ .type = P9_TXATTRCREATE,
			       .u.txattrcreate = { 2, tc_str("user.guest"), 8, 0 } };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(tc_write(c, 2, 0, "from", 4), 4);
	assert_int_equal(tc_write(c, 2, 4, "-vm!", 4), 4);
	assert_int_equal(tc_write(c, 2, 8, "x", 1), -ENOSPC);
	assert_int_equal(tc_clunk(c, 2), 0);
	assert_int_equal(getxattr(fx_path(fx, "f"), "user.guest", buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "from-vm!", 8);
	/* get */
	t = (struct p9_fcall){ .type = P9_TXATTRWALK,
			       .u.txattrwalk = { 1, 3, tc_str("user.host") } };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(c->r.u.rxattrwalk.size, 9);
	assert_int_equal(tc_read(c, P9_TREAD, 3, 0, 100), 9);
	assert_memory_equal(c->r.u.rread.data, "from-host", 9);
	assert_int_equal(tc_read(c, P9_TREAD, 3, 4, 100), 5);
	assert_int_equal(tc_walk(c, 3, 4, ""), -EBADF); /* an xattr fid names no file */
	assert_int_equal(tc_clunk(c, 3), 0);
	/* list */
	t.u.txattrwalk = (typeof(t.u.txattrwalk)){ 1, 3, tc_str("") };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(tc_read(c, P9_TREAD, 3, 0, 100), 21);
	assert_true(memmem(c->r.u.rread.data, 21, "user.guest", 11) != NULL);
	assert_true(memmem(c->r.u.rread.data, 21, "user.host", 10) != NULL);
	assert_int_equal(tc_clunk(c, 3), 0);
	t.u.txattrwalk = (typeof(t.u.txattrwalk)){ 1, 3, tc_str("user.none") };
	assert_int_equal(tc_rpc(c, &t), -ENODATA);
	/* remove: empty with XATTR_REPLACE */
	assert_int_equal(tc_walk(c, 1, 2, ""), 0);
	t = (struct p9_fcall){ .type = P9_TXATTRCREATE,
			       .u.txattrcreate = { 2, tc_str("user.host"), 0, P9_XATTR_REPLACE } };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(tc_clunk(c, 2), 0);
	assert_int_equal(getxattr(fx_path(fx, "f"), "user.host", buf, sizeof(buf)), -1);
	/* a value not written whole is not set */
	assert_int_equal(tc_walk(c, 1, 2, ""), 0);
	t.u.txattrcreate = (typeof(t.u.txattrcreate)){ 2, tc_str("user.part"), 10, 0 };
	assert_int_equal(tc_rpc(c, &t), 0);
	assert_int_equal(tc_write(c, 2, 0, "abc", 3), 3);
	assert_int_equal(tc_clunk(c, 2), -EINVAL);
	assert_int_equal(getxattr(fx_path(fx, "f"), "user.part", buf, sizeof(buf)), -1);
	t.u.txattrcreate = (typeof(t.u.txattrcreate)){ 1, tc_str("user.big"), 1 << 20, 0 };
	assert_int_equal(tc_rpc(c, &t), -E2BIG);
}

/* A fifo or a device on the share is never opened by the server: no hang, no host device. */
static void test_special_files_are_not_opened(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;

	assert_int_equal(mkfifo(fx_path(fx, "fifo"), 0666), 0);
	assert_int_equal(tc_walk(c, 0, 1, "fifo"), 0);
	assert_int_equal(tc_open(c, 1, P9_DOTL_RDONLY), -ENXIO);
	assert_int_equal(tc_open(c, 1, P9_DOTL_WRONLY), -ENXIO);
	assert_int_equal(tc_walk(c, 0, 2, ""), 0);
	assert_int_equal(tc_create(c, 2, "fifo", P9_DOTL_RDWR, 0600), -ENXIO);
	assert_int_equal(tc_getattr(c, 1), 0);
	assert_int_equal(c->r.u.rgetattr.mode & S_IFMT, S_IFIFO);
}

/* Cut LEN bytes at BUF into up to MAX pieces of random sizes, some empty. */
static int split(struct iovec *iov, int max, void *buf, size_t len, unsigned int *seed)
{
	size_t off = 0;
	int n = 0;

	while (off < len && n < max - 1) {
		size_t k = rand_r(seed) % 4 == 0 ? 0 : rand_r(seed) % (len / 8 + 2);

		if (k > len - off)
			k = len - off;
		iov[n++] = (struct iovec){ (uint8_t *)buf + off, k };
		off += k;
	}
	iov[n++] = (struct iovec){ (uint8_t *)buf + off, len - off };
	return n;
}

/* REQ served through p9_server_handlev, request and reply cut in pieces: the same bytes. */
static void same_reply_in_pieces(struct tclient *c, const struct p9_fcall *req,
				 unsigned int *seed)
{
	static uint8_t in[TC_MSIZE], out[TC_MSIZE], want[TC_MSIZE];
	struct p9_fcall t = *req;
	struct iovec ri[64], ro[64];
	size_t len, n, m;

	t.tag = 42;
	len = p9_encode(&t, in, sizeof(in));
	assert_true(len > 0);
	n = p9_server_handle(c->s, in, len, want, sizeof(want));
	memset(out, 0, sizeof(out));
	m = p9_server_handlev(c->s, ri, split(ri, 64, in, len, seed), ro,
			      split(ro, 64, out, sizeof(out), seed));
	assert_int_equal(m, n);
	assert_memory_equal(out, want, n);
}

static void test_scattered_requests(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = &fx->c;
	static uint8_t data[200000], msg[TC_MSIZE], rep[64];
	struct iovec ri[64], ro[P9_MAX_IOV + 1];
	struct p9_fcall t;
	unsigned int seed = 7;
	size_t len;
	FILE *f;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i * 13 + (i >> 9);
	assert_int_equal(tc_walk(c, 0, 1, ""), 0);
	assert_int_equal(tc_create(c, 1, "f", P9_DOTL_RDWR, 0644), 0);
	/* Twrite in pieces: the header cut too, the data written from where it lies */
	t = (struct p9_fcall){ .type = P9_TWRITE, .tag = 5,
			       .u.twrite = { 1, 0, sizeof(data), data } };
	len = p9_encode(&t, msg, sizeof(msg));
	assert_int_equal(p9_server_handlev(c->s, ri, split(ri, 64, msg, len, &seed), ro,
					   split(ro, 8, rep, sizeof(rep), &seed)),
			 P9_RLERROR_SIZE);
	assert_int_equal(p9_decode(rep, P9_RLERROR_SIZE, &c->r), 0);
	assert_int_equal(c->r.type, P9_RWRITE);
	assert_int_equal(c->r.u.rwrite.count, sizeof(data));
	f = fopen(fx_path(fx, "f"), "r");
	assert_non_null(f);
	assert_int_equal(fread(msg, 1, sizeof(msg), f), sizeof(data));
	fclose(f);
	assert_memory_equal(msg, data, sizeof(data));
	/* every kind of reply, in pieces, is the reply in one buffer */
	assert_int_equal(mkdir(fx_path(fx, "d"), 0755), 0);
	assert_int_equal(tc_walk(c, 0, 2, "d"), 0);
	assert_int_equal(tc_open(c, 2, P9_DOTL_RDONLY), 0);
	for (int round = 0; round < 20; round++) {
		const struct p9_fcall reqs[] = {
			{ .type = P9_TREAD, .u.tread = { 1, round * 9999, UINT32_MAX } },
			{ .type = P9_TREAD, .u.tread = { 1, 199990, 100 } },
			{ .type = P9_TREAD, .u.tread = { 2, 0, 100 } },
			{ .type = P9_TREAD, .u.tread = { 99, 0, 100 } },
			{ .type = P9_TREADDIR, .u.tread = { 2, 0, 8192 } },
			{ .type = P9_TGETATTR, .u.tgetattr = { 1, P9_GETATTR_BASIC } },
			{ .type = P9_TWALK, .u.twalk = { 0, 3, 1, { { "..", 2 } } } },
			{ .type = P9_TWRITE, .u.twrite = { 1, 5, 3, (const uint8_t *)"abc" } },
			{ .type = P9_TWRITE, .u.twrite = { 2, 0, 3, (const uint8_t *)"abc" } },
		};

		for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
			same_reply_in_pieces(c, &reqs[i], &seed);
	}
	/* a damaged size field, in pieces */
	t = (struct p9_fcall){ .type = P9_TREAD, .tag = 6, .u.tread = { 1, 0, 10 } };
	len = p9_encode(&t, msg, sizeof(msg));
	msg[0]++;
	ri[0] = (struct iovec){ msg, 5 };
	ri[1] = (struct iovec){ msg + 5, len - 5 };
	ro[0] = (struct iovec){ rep, sizeof(rep) };
	assert_int_equal(p9_server_handlev(c->s, ri, 2, ro, 1), P9_RLERROR_SIZE);
	assert_int_equal(p9_decode(rep, P9_RLERROR_SIZE, &c->r), 0);
	assert_int_equal(c->r.u.rlerror.ecode, EBADMSG);
	assert_int_equal(c->r.tag, 6);
	/* too many pieces, or no room for a reply */
	msg[0]--;
	for (int i = 0; i <= P9_MAX_IOV; i++)
		ro[i] = (struct iovec){ rep, i ? 0 : sizeof(rep) };
	assert_int_equal(p9_server_handlev(c->s, ri, 2, ro, P9_MAX_IOV + 1), P9_RLERROR_SIZE);
	assert_int_equal(p9_decode(rep, P9_RLERROR_SIZE, &c->r), 0);
	assert_int_equal(c->r.u.rlerror.ecode, EINVAL);
	ro[0].iov_len = P9_RLERROR_SIZE - 1;
	assert_int_equal(p9_server_handlev(c->s, ri, 2, ro, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_create_write_read, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_large_reads_fit_msize, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_directories_links_nodes, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_readdir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_renames_carry_fids, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_setattr, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_statfs_fsync_locks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_special_files_are_not_opened, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_scattered_requests, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests_name("p9 server", tests, NULL, NULL);
}
