/* SPDX-License-Identifier: MIT */
#ifndef OPENWSL_P9_INTERNAL_H
#define OPENWSL_P9_INTERNAL_H

/* What the files of the 9P server share: fids, the server, request context. */
#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "p9.h"

#define FID_BUCKETS 1024 /* hash chains of the fid table */
#define QID_DEVS    254	 /* other devices under one share told apart in qid.path */

enum fid_kind {
	FID_FILE,	  /* names a file of the share */
	FID_XATTR_READ,	  /* after Txattrwalk: reads return the value (or name list) */
	FID_XATTR_WRITE,  /* after Txattrcreate: writes fill the value, Tclunk sets it */
};

struct fid {
	uint32_t num;
	unsigned int refs; /* the table's and each request's; under server->lock */
	struct fid *next;  /* hash chain; under server->lock */
	uint32_t uid;	   /* n_uname of the attach it descends from */

	/*
	 * Set when the fid is made, then changed only under lock: a rename
	 * moves dirfd/name, Tlopen sets open_fd, readdir moves dir_next.
	 */
	pthread_mutex_t lock;
	enum fid_kind kind;
	int fd;		  /* O_PATH | O_NOFOLLOW: the file itself */
	int dirfd;	  /* O_PATH: the directory holding it; -1 for the share root */
	char *name;	  /* its name in dirfd */
	dev_t dir_dev;	  /* dirfd's identity, to find fids a rename moves */
	ino_t dir_ino;
	mode_t type;	  /* S_IFMT of the file */
	int open_fd;	  /* after Tlopen or Tlcreate; -1 before */
	uint64_t dir_next; /* readdir: the offset open_fd stands at */

	char *xname;	  /* xattr fids: the name, the value and its size */
	uint8_t *xbuf;
	size_t xsize, xfilled;
	int xflags;
};

struct p9_server {
	int root_fd; /* O_PATH of the share */
	dev_t root_dev;
	ino_t root_ino;
	unsigned int flags;
	uint32_t max_msize, max_fids;

	/*
	 * Lock order: lock, then a fid's lock.  Nothing holding a fid's
	 * lock takes this one (fid_get, fid_put and fid_insert are called
	 * with no fid locked).
	 */
	pthread_mutex_t lock;
	uint32_t msize; /* 0 until Tversion */
	uint32_t nfids;
	struct fid *table[FID_BUCKETS];

	pthread_mutex_t dev_lock; /* a leaf: taken with or without the others */
	dev_t devs[QID_DEVS];	  /* devs[i] is told by (i + 1) << 56 in qid.path */
	unsigned int ndevs;
};

/* One request being served. */
struct req {
	struct p9_server *s;
	const struct p9_fcall *t;
	struct p9_fcall *r;  /* the reply; type and tag are set by the caller */
	uint8_t *buf;	     /* the reply buffer, for data read straight into it */
	size_t cap;	     /* its usable size: min(transport's, msize) */
	/*
	 * From p9_server_handlev, for Tread and Twrite: where the data goes
	 * (the reply's pieces after its header, at most cap - P9_RREAD_HEADER
	 * bytes) or comes from (the request's, count bytes).  buf is unused.
	 */
	const struct iovec *data_iov;
	int data_niov;
};

#define READ_ONLY(q) ((q)->s->flags & P9_SERVER_READONLY)

/* server.c: serve a decoded request (ERR: how decoding went); fills q->r or returns -errno */
int serve_fcall(struct req *q, int err);

/* iov.c */
size_t iov_copy_out(const struct iovec *iov, int n, const void *src, size_t len);
size_t iov_copy_in(void *dst, const struct iovec *iov, int n, size_t len);

/* server.c: the fid table */
struct fid *fid_get(struct p9_server *s, uint32_t num);
void fid_put(struct p9_server *s, struct fid *f);
struct fid *fid_alloc(uint32_t num, uint32_t uid);
int fid_insert(struct p9_server *s, struct fid *f, int replace);
struct fid *fid_take(struct p9_server *s, uint32_t num);
void fids_renamed(struct p9_server *s, const struct stat *olddir, const char *oldname,
		  int newdirfd, const struct stat *newdir, const char *newname);
/* A fid of kind FID_FILE, or NULL and *err = -EBADF. */
struct fid *file_fid(struct req *q, uint32_t num, int *err);

/* resolve.c */
int get_name(const struct p9_str *in, char out[P9_MAX_NAME + 1]);
int open_beneath(int dirfd, const char *name, int flags, mode_t mode);
int open_fd_path(int fd, int flags);
void proc_fd_path(char buf[32], int fd);
void qid_of(struct p9_server *s, const struct stat *st, struct p9_qid *qid);
uint64_t qid_path(struct p9_server *s, dev_t dev, ino_t ino);
int stat_fd(int fd, struct stat *st);
int fid_still_named(struct fid *f);
void give_owner(int fd, uint32_t uid, uint32_t gid);
void exact_mode(int fd, mode_t mode);
int child_fid_fill(struct fid *f, int dirfd, const char *name, int fd);

/* the handlers: each fills q->r and returns 0, or returns -errno */
int op_lopen(struct req *q);
int op_lcreate(struct req *q);
int op_read(struct req *q);
int op_write(struct req *q);
int op_readdir(struct req *q);
int op_fsync(struct req *q);
int op_lock(struct req *q);
int op_getlock(struct req *q);
int op_getattr(struct req *q);
int op_setattr(struct req *q);
int op_readlink(struct req *q);
int op_statfs(struct req *q);
int op_mkdir(struct req *q);
int op_symlink(struct req *q);
int op_mknod(struct req *q);
int op_link(struct req *q);
int op_rename(struct req *q);
int op_renameat(struct req *q);
int op_unlinkat(struct req *q);
int op_remove(struct req *q);
int op_xattrwalk(struct req *q);
int op_xattrcreate(struct req *q);
int xattr_read(struct req *q, struct fid *f);
int xattr_write(struct req *q, struct fid *f);
int xattr_commit(struct fid *f);

#endif
