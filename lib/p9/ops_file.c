// SPDX-License-Identifier: MIT
/*
 * 9P requests on open files: Tlopen, Tlcreate, Tread, Twrite, Treaddir,
 * Tfsync, Tlock and Tgetlock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "p9_internal.h"

/*
 * The host's open flags for the client's.  Flags that would make the
 * server block or misbehave are dropped: O_NONBLOCK and O_ASYNC mean
 * nothing here, O_DIRECT would need aligned buffers, O_NOATIME needs
 * ownership, O_CREAT and O_EXCL belong to Tlcreate.
 */
static int open_flags(uint32_t flags, int *writes)
{
	int o;

	switch (flags & P9_DOTL_ACCMODE) {
	case P9_DOTL_RDONLY: o = O_RDONLY; break;
	case P9_DOTL_WRONLY: o = O_WRONLY; break;
	case P9_DOTL_RDWR:   o = O_RDWR; break;
	default:	     return -EINVAL;
	}
	if (flags & P9_DOTL_TRUNC)
		o |= O_TRUNC;
	if (flags & P9_DOTL_APPEND)
		o |= O_APPEND;
	if (flags & P9_DOTL_DSYNC)
		o |= O_DSYNC;
	if (flags & P9_DOTL_SYNC)
		o |= O_SYNC;
	*writes = (o & O_ACCMODE) != O_RDONLY || (o & O_TRUNC);
	return o;
}

/* The descriptor Tlopen or Tlcreate gave F (or -1), its type and kind. */
static int fid_open_fd(struct fid *f, mode_t *type, enum fid_kind *kind)
{
	int fd;

	pthread_mutex_lock(&f->lock);
	fd = f->open_fd;
	if (type)
		*type = f->type;
	if (kind)
		*kind = f->kind;
	pthread_mutex_unlock(&f->lock);
	return fd;
}

int op_lopen(struct req *q)
{
	uint32_t flags = q->t->u.tlopen.flags;
	int err = 0, writes, o, fd = -1;
	struct fid *f;
	struct stat st;

	o = open_flags(flags, &writes);
	if (o < 0)
		return o;
	if (writes && READ_ONLY(q))
		return -EROFS;
	f = file_fid(q, q->t->u.tlopen.fid, &err);
	if (!f)
		return err;
	pthread_mutex_lock(&f->lock);
	if (f->open_fd >= 0)
		err = -EBADF;
	else if (S_ISDIR(f->type))
		err = writes ? -EISDIR : 0;
	else if ((flags & P9_DOTL_DIRECTORY))
		err = -ENOTDIR;
	else if (S_ISLNK(f->type))
		err = -ELOOP;
	else if (!S_ISREG(f->type))
		err = -ENXIO; /* fifos and devices would block or reach the host's devices */
	if (!err) {
		if (S_ISDIR(f->type))
			fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		else
			fd = open_fd_path(f->fd, o);
		if (fd < 0)
			err = S_ISDIR(f->type) ? -errno : fd;
	}
	if (!err && fstat(fd, &st))
		err = -errno;
	if (!err) {
		f->open_fd = fd;
		f->dir_next = 0;
		qid_of(q->s, &st, &q->r->u.ropen.qid);
		q->r->u.ropen.iounit = 0; /* the client then uses msize - P9_IOHDR_SIZE */
	} else if (fd >= 0) {
		close(fd);
	}
	pthread_mutex_unlock(&f->lock);
	fid_put(q->s, f);
	return err;
}

/*
 * Open NAME in directory DIRFD for Tlcreate.  A new file is made with
 * O_EXCL; if it exists and the client did not ask for O_EXCL, the
 * existing file is opened instead, but only a regular one.  Returns the
 * open descriptor and its O_PATH twin in *PATH_FD, or -errno.
 */
static int create_open(int dirfd, const char *name, int o, uint32_t flags, mode_t mode,
		       int *created, int *path_fd)
{
	struct stat st;
	int fd;

	*created = 1;
	fd = open_beneath(dirfd, name, o | O_CREAT | O_EXCL, mode);
	if (fd >= 0) {
		*path_fd = open_fd_path(fd, O_PATH);
		if (*path_fd < 0) {
			close(fd);
			return *path_fd;
		}
		return fd;
	}
	if (fd != -EEXIST || (flags & P9_DOTL_EXCL))
		return fd;
	*created = 0;
	*path_fd = open_beneath(dirfd, name, O_PATH, 0);
	if (*path_fd < 0)
		return *path_fd;
	fd = stat_fd(*path_fd, &st);
	if (!fd)
		fd = S_ISREG(st.st_mode) ? open_fd_path(*path_fd, o) :
		     S_ISDIR(st.st_mode) ? -EISDIR : -ENXIO;
	if (fd < 0)
		close(*path_fd);
	return fd;
}

int op_lcreate(struct req *q)
{
	const struct p9_fcall *t = q->t;
	char name[P9_MAX_NAME + 1];
	int err, o, writes, fd = -1, pfd = -1, created = 0;
	struct fid *f, *nf = NULL;
	struct stat st;

	if (READ_ONLY(q))
		return -EROFS;
	err = get_name(&t->u.tlcreate.name, name);
	if (err)
		return err;
	o = open_flags(t->u.tlcreate.flags, &writes);
	if (o < 0)
		return o;
	f = file_fid(q, t->u.tlcreate.fid, &err);
	if (!f)
		return err;
	nf = fid_alloc(f->num, f->uid);
	if (!nf)
		err = -ENOMEM;
	pthread_mutex_lock(&f->lock);
	if (!err && (f->open_fd >= 0 || !S_ISDIR(f->type)))
		err = f->open_fd >= 0 ? -EBADF : -ENOTDIR;
	if (!err) {
		fd = create_open(f->fd, name, o, t->u.tlcreate.flags, t->u.tlcreate.mode,
				 &created, &pfd);
		if (fd < 0)
			err = fd;
	}
	if (!err && created) {
		give_owner(pfd, f->uid, t->u.tlcreate.gid);
		exact_mode(pfd, t->u.tlcreate.mode);
	}
	if (!err) {
		nf->open_fd = fd;
		err = child_fid_fill(nf, f->fd, name, pfd);
	} else if (fd >= 0) {
		close(fd);
	}
	pthread_mutex_unlock(&f->lock);
	if (!err && fstat(nf->open_fd, &st))
		err = -errno;
	/* The fid now names the new file, open. */
	if (!err)
		err = fid_insert(q->s, nf, 1);
	if (!err) {
		qid_of(q->s, &st, &q->r->u.ropen.qid);
		q->r->u.ropen.iounit = 0;
	}
	fid_put(q->s, nf);
	fid_put(q->s, f);
	return err;
}

int op_read(struct req *q)
{
	uint64_t off = q->t->u.tread.offset;
	uint32_t count = q->t->u.tread.count;
	uint8_t *data = q->data_iov ? NULL : q->buf + P9_RREAD_HEADER;
	struct fid *f = fid_get(q->s, q->t->u.tread.fid);
	enum fid_kind kind;
	int fd, err = 0;
	mode_t type;
	ssize_t n;

	if (!f)
		return -EBADF;
	fd = fid_open_fd(f, &type, &kind);
	if (kind == FID_XATTR_READ) {
		err = xattr_read(q, f);
		fid_put(q->s, f);
		return err;
	}
	if (kind != FID_FILE || fd < 0)
		err = -EBADF;
	else if (S_ISDIR(type))
		err = -EISDIR;
	else if (off > INT64_MAX)
		err = -EINVAL;
	if (count > q->cap - P9_RREAD_HEADER)
		count = q->cap - P9_RREAD_HEADER;
	if (!err) {
		/*
		 * Straight from the file into the reply (p9_encode leaves it
		 * there), or into the reply's pieces.
		 */
		do
			n = q->data_iov ? preadv(fd, q->data_iov, q->data_niov, off) :
					  pread(fd, data, count, off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			err = -errno;
		else
			q->r->u.rread = (typeof(q->r->u.rread)){ .count = n, .data = data };
	}
	fid_put(q->s, f);
	return err;
}

int op_write(struct req *q)
{
	uint64_t off = q->t->u.twrite.offset;
	struct fid *f = fid_get(q->s, q->t->u.twrite.fid);
	enum fid_kind kind;
	int fd, err = 0;
	ssize_t n;

	if (!f)
		return -EBADF;
	fd = fid_open_fd(f, NULL, &kind);
	if (kind == FID_XATTR_WRITE) {
		err = xattr_write(q, f);
		fid_put(q->s, f);
		return err;
	}
	if (kind != FID_FILE || fd < 0)
		err = -EBADF;
	else if (READ_ONLY(q))
		err = -EROFS;
	else if (off > INT64_MAX)
		err = -EINVAL;
	if (!err) {
		const uint8_t *data = q->t->u.twrite.data;
		uint32_t count = q->t->u.twrite.count;

		do
			n = q->data_iov ? pwritev(fd, q->data_iov, q->data_niov, off) :
					  pwrite(fd, data, count, off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			err = -errno;
		else
			q->r->u.rwrite.count = n;
	}
	fid_put(q->s, f);
	return err;
}

/* What getdents64 fills in. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define DIRENT_BUF 8192

static uint8_t dtype_qid(unsigned char d_type)
{
	return d_type == DT_DIR ? P9_QTDIR : d_type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

/*
 * Fill OUT (CAP bytes) with the entries of directory FD from where it
 * stands; leaves FD just after the last entry that fit and returns the
 * bytes used, or -errno.  *NEXT becomes the offset after that entry.
 */
static long fill_dirents(struct p9_server *s, int fd, const struct stat *dir, uint8_t *out,
			 size_t cap, uint64_t *next)
{
	union {
		struct linux_dirent64 d;
		char bytes[DIRENT_BUF];
	} buf;
	size_t used = 0;

	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf.bytes, sizeof(buf));

		if (n < 0)
			return used ? (long)used : -errno;
		if (n == 0)
			return used;
		for (long pos = 0; pos < n;) {
			struct linux_dirent64 *d = (void *)(buf.bytes + pos);
			uint64_t ino = d->d_ino;
			struct p9_dirent e;
			size_t len;

			pos += d->d_reclen;
			/* The share root's ".." would describe the directory above it. */
			if (dir->st_ino == s->root_ino && dir->st_dev == s->root_dev &&
			    !strcmp(d->d_name, ".."))
				ino = s->root_ino;
			e.qid.type = dtype_qid(d->d_type);
			e.qid.version = 0;
			e.qid.path = qid_path(s, dir->st_dev, ino);
			e.offset = d->d_off;
			e.type = d->d_type;
			e.name.s = d->d_name;
			e.name.len = strlen(d->d_name);
			len = p9_put_dirent(out + used, cap - used, &e);
			if (!len) {
				/* Full: the next Treaddir starts at this entry. */
				if (lseek(fd, *next, SEEK_SET) < 0)
					return -errno;
				return used ? (long)used : -EINVAL;
			}
			used += len;
			*next = d->d_off;
		}
	}
}

int op_readdir(struct req *q)
{
	uint64_t off = q->t->u.tread.offset;
	uint32_t count = q->t->u.tread.count;
	uint8_t *data = q->buf + P9_RREAD_HEADER;
	struct fid *f;
	struct stat st;
	int err = 0;
	long n;

	f = file_fid(q, q->t->u.tread.fid, &err);
	if (!f)
		return err;
	if (count > q->cap - P9_RREAD_HEADER)
		count = q->cap - P9_RREAD_HEADER;
	pthread_mutex_lock(&f->lock);
	if (f->open_fd < 0 || !S_ISDIR(f->type))
		err = f->open_fd < 0 ? -EBADF : -ENOTDIR;
	else if (off > INT64_MAX)
		err = -EINVAL;
	else if (fstat(f->open_fd, &st))
		err = -errno;
	/* Offsets are the file system's own directory cookies (d_off). */
	if (!err && off != f->dir_next) {
		if (lseek(f->open_fd, off, SEEK_SET) < 0)
			err = -errno;
		else
			f->dir_next = off;
	}
	if (!err) {
		n = fill_dirents(q->s, f->open_fd, &st, data, count, &f->dir_next);
		if (n < 0)
			err = n;
		else
			q->r->u.rread = (typeof(q->r->u.rread)){ .count = n, .data = data };
	}
	pthread_mutex_unlock(&f->lock);
	fid_put(q->s, f);
	return err;
}

int op_fsync(struct req *q)
{
	struct fid *f;
	int err = 0, fd;

	f = file_fid(q, q->t->u.tfsync.fid, &err);
	if (!f)
		return err;
	fd = fid_open_fd(f, NULL, NULL);
	if (fd < 0)
		err = -EBADF;
	else if (q->t->u.tfsync.datasync ? fdatasync(fd) : fsync(fd))
		err = -errno;
	fid_put(q->s, f);
	return err;
}

/* The host's struct flock for a 9P lock, or -EINVAL. */
static int to_flock(const struct p9_flock *l, struct flock *fl)
{
	static const short types[] = {
		[P9_LOCK_RDLCK] = F_RDLCK, [P9_LOCK_WRLCK] = F_WRLCK, [P9_LOCK_UNLCK] = F_UNLCK,
	};

	if (l->type > P9_LOCK_UNLCK || l->start > INT64_MAX || l->length > INT64_MAX ||
	    l->length > INT64_MAX - l->start)
		return -EINVAL;
	memset(fl, 0, sizeof(*fl));
	fl->l_type = types[l->type];
	fl->l_whence = SEEK_SET;
	fl->l_start = l->start;
	fl->l_len = l->length; /* 0: to the end of the file, as in 9P */
	return 0;
}

/*
 * Locks are open file description locks on the fid's descriptor, so
 * they conflict with the host's locks and with other fids', and go away
 * with the fid.  The server never waits: a conflict is P9_LOCK_BLOCKED,
 * and a client asked to wait (P9_LOCK_FLAGS_BLOCK) retries.
 */
int op_lock(struct req *q)
{
	struct flock fl;
	struct fid *f;
	int err = 0, fd;

	f = file_fid(q, q->t->u.tlock.fid, &err);
	if (!f)
		return err;
	fd = fid_open_fd(f, NULL, NULL);
	if (fd < 0)
		err = -EBADF;
	else
		err = to_flock(&q->t->u.tlock.lock, &fl);
	if (!err) {
		if (!fcntl(fd, F_OFD_SETLK, &fl))
			q->r->u.rlock.status = P9_LOCK_SUCCESS;
		else if (errno == EAGAIN || errno == EACCES)
			q->r->u.rlock.status = P9_LOCK_BLOCKED;
		else
			err = -errno;
	}
	fid_put(q->s, f);
	return err;
}

int op_getlock(struct req *q)
{
	const struct p9_flock *l = &q->t->u.tlock.lock;
	struct p9_flock *r = &q->r->u.rgetlock;
	struct flock fl;
	struct fid *f;
	int err = 0, fd;

	f = file_fid(q, q->t->u.tlock.fid, &err);
	if (!f)
		return err;
	fd = fid_open_fd(f, NULL, NULL);
	if (fd < 0)
		err = -EBADF;
	else
		err = to_flock(l, &fl);
	if (!err && l->type == P9_LOCK_UNLCK)
		err = -EINVAL;
	if (!err && fcntl(fd, F_OFD_GETLK, &fl))
		err = -errno;
	if (!err) {
		*r = *l;
		r->flags = 0;
		if (fl.l_type != F_UNLCK) {
			/* The lock in the way; an open file description lock has no pid. */
			r->type = fl.l_type == F_RDLCK ? P9_LOCK_RDLCK : P9_LOCK_WRLCK;
			r->start = fl.l_start;
			r->length = fl.l_len;
			r->proc_id = fl.l_pid > 0 ? (uint32_t)fl.l_pid : 0;
		} else {
			r->type = P9_LOCK_UNLCK;
		}
	}
	fid_put(q->s, f);
	return err;
}
