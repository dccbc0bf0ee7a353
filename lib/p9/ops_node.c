// SPDX-License-Identifier: MIT
/*
 * 9P requests on files by fid and name: attributes, links, directories,
 * special files, renames and removal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "p9_internal.h"

#define NSEC_PER_SEC 1000000000ULL

int op_getattr(struct req *q)
{
	struct p9_attr *a = &q->r->u.rgetattr;
	struct fid *f;
	struct stat st;
	int err = 0;

	f = file_fid(q, q->t->u.tgetattr.fid, &err);
	if (!f)
		return err;
	err = stat_fd(f->fd, &st);
	fid_put(q->s, f);
	if (err)
		return err;
	/* Everything stat tells, whatever was asked: the client takes what is valid. */
	a->valid = P9_GETATTR_BASIC;
	qid_of(q->s, &st, &a->qid);
	a->mode = st.st_mode;
	a->uid = st.st_uid;
	a->gid = st.st_gid;
	a->nlink = st.st_nlink;
	a->rdev = st.st_rdev;
	a->size = st.st_size;
	a->blksize = st.st_blksize;
	a->blocks = st.st_blocks;
	a->atime_sec = st.st_atim.tv_sec;
	a->atime_nsec = st.st_atim.tv_nsec;
	a->mtime_sec = st.st_mtim.tv_sec;
	a->mtime_nsec = st.st_mtim.tv_nsec;
	a->ctime_sec = st.st_ctim.tv_sec;
	a->ctime_nsec = st.st_ctim.tv_nsec;
	return 0;
}

static int set_size(struct fid *f, uint64_t size)
{
	char path[32];
	int fd;

	if (S_ISDIR(f->type))
		return -EISDIR;
	if (!S_ISREG(f->type))
		return -EINVAL;
	if (size > INT64_MAX)
		return -EFBIG;
	/* The fid's own descriptor if it writes: the file's mode may no longer allow opening it. */
	pthread_mutex_lock(&f->lock);
	fd = f->open_fd;
	if (fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY && !ftruncate(fd, size))
		fd = -2;
	pthread_mutex_unlock(&f->lock);
	if (fd == -2)
		return 0;
	proc_fd_path(path, f->fd);
	return truncate(path, size) ? -errno : 0;
}

static int set_times(struct fid *f, const struct p9_setattr *a)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

	if (a->valid & P9_SETATTR_ATIME) {
		ts[0].tv_nsec = UTIME_NOW;
		if (a->valid & P9_SETATTR_ATIME_SET) {
			if (a->atime_nsec >= NSEC_PER_SEC || a->atime_sec > INT64_MAX)
				return -EINVAL;
			ts[0] = (struct timespec){ a->atime_sec, a->atime_nsec };
		}
	}
	if (a->valid & P9_SETATTR_MTIME) {
		ts[1].tv_nsec = UTIME_NOW;
		if (a->valid & P9_SETATTR_MTIME_SET) {
			if (a->mtime_nsec >= NSEC_PER_SEC || a->mtime_sec > INT64_MAX)
				return -EINVAL;
			ts[1] = (struct timespec){ a->mtime_sec, a->mtime_nsec };
		}
	}
	if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/*
 * Owner first (it clears set-id bits), then mode, size and times last
 * (a truncation would move mtime).  A lone CTIME is a no-op: the host
 * updates ctime itself with every other change.
 */
int op_setattr(struct req *q)
{
	const struct p9_setattr *a = &q->t->u.tsetattr.attr;
	struct fid *f;
	char path[32];
	int err = 0;

	if (READ_ONLY(q))
		return -EROFS;
	f = file_fid(q, q->t->u.tsetattr.fid, &err);
	if (!f)
		return err;
	if (a->valid & (P9_SETATTR_UID | P9_SETATTR_GID)) {
		uid_t u = a->valid & P9_SETATTR_UID ? a->uid : (uid_t)-1;
		gid_t g = a->valid & P9_SETATTR_GID ? a->gid : (gid_t)-1;

		if (fchownat(f->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			err = -errno;
	}
	if (!err && (a->valid & P9_SETATTR_MODE)) {
		proc_fd_path(path, f->fd);
		if (S_ISLNK(f->type))
			err = -EOPNOTSUPP;
		else if (chmod(path, a->mode & 07777))
			err = -errno;
	}
	if (!err && (a->valid & P9_SETATTR_SIZE))
		err = set_size(f, a->size);
	if (!err && (a->valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)))
		err = set_times(f, a);
	fid_put(q->s, f);
	return err;
}

int op_readlink(struct req *q)
{
	char *target = (char *)q->buf + P9_HEADER_SIZE + 2;
	size_t room = q->cap - P9_HEADER_SIZE - 2;
	struct fid *f;
	int err = 0;
	ssize_t n;

	f = file_fid(q, q->t->u.tfid.fid, &err);
	if (!f)
		return err;
	if (room > P9_MAX_TARGET + 1)
		room = P9_MAX_TARGET + 1;
	if (!S_ISLNK(f->type))
		err = -EINVAL;
	else if ((n = readlinkat(f->fd, "", target, room)) < 0)
		err = -errno;
	else if ((size_t)n == room)
		err = -ENAMETOOLONG;
	else
		q->r->u.rreadlink.target = (struct p9_str){ target, n };
	fid_put(q->s, f);
	return err;
}

int op_statfs(struct req *q)
{
	struct p9_statfs *r = &q->r->u.rstatfs;
	struct statfs sf;
	struct fid *f;
	int err = 0;

	f = file_fid(q, q->t->u.tfid.fid, &err);
	if (!f)
		return err;
	if (fstatfs(f->fd, &sf))
		err = -errno;
	fid_put(q->s, f);
	if (err)
		return err;
	r->type = sf.f_type;
	r->bsize = sf.f_bsize;
	r->blocks = sf.f_blocks;
	r->bfree = sf.f_bfree;
	r->bavail = sf.f_bavail;
	r->files = sf.f_files;
	r->ffree = sf.f_ffree;
	r->fsid = (uint32_t)sf.f_fsid.__val[0] | (uint64_t)(uint32_t)sf.f_fsid.__val[1] << 32;
	r->namelen = sf.f_namelen;
	return 0;
}

/*
 * The common end of Tmkdir, Tsymlink and Tmknod: NAME now exists in
 * DIRFD; give it to the guest user and answer with its qid.
 */
static int made(struct req *q, int dirfd, const char *name, uint32_t uid, uint32_t gid,
		mode_t mode)
{
	struct stat st;
	int fd, err;

	fd = open_beneath(dirfd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	give_owner(fd, uid, gid);
	exact_mode(fd, mode);
	err = stat_fd(fd, &st);
	close(fd);
	if (!err)
		qid_of(q->s, &st, &q->r->u.qid);
	return err;
}

/* A directory fid and a checked new name in it: what every creation starts with. */
static struct fid *dir_and_name(struct req *q, uint32_t dfid, const struct p9_str *in,
				char name[P9_MAX_NAME + 1], int *err)
{
	struct fid *d;

	*err = READ_ONLY(q) ? -EROFS : get_name(in, name);
	if (*err)
		return NULL;
	d = file_fid(q, dfid, err);
	if (d && !S_ISDIR(d->type)) {
		fid_put(q->s, d);
		*err = -ENOTDIR;
		return NULL;
	}
	return d;
}

int op_mkdir(struct req *q)
{
	char name[P9_MAX_NAME + 1];
	struct fid *d;
	int err;

	d = dir_and_name(q, q->t->u.tmkdir.dfid, &q->t->u.tmkdir.name, name, &err);
	if (!d)
		return err;
	if (mkdirat(d->fd, name, q->t->u.tmkdir.mode & 07777))
		err = -errno;
	else
		err = made(q, d->fd, name, d->uid, q->t->u.tmkdir.gid, q->t->u.tmkdir.mode);
	fid_put(q->s, d);
	return err;
}

int op_symlink(struct req *q)
{
	const struct p9_str *t = &q->t->u.tsymlink.target;
	char name[P9_MAX_NAME + 1], target[P9_MAX_TARGET + 1];
	struct fid *d;
	int err;

	/* The target is only text for the client to follow; the server never does. */
	if (t->len == 0 || memchr(t->s, '\0', t->len))
		return -EINVAL;
	if (t->len > P9_MAX_TARGET)
		return -ENAMETOOLONG;
	memcpy(target, t->s, t->len);
	target[t->len] = '\0';
	d = dir_and_name(q, q->t->u.tsymlink.fid, &q->t->u.tsymlink.name, name, &err);
	if (!d)
		return err;
	if (symlinkat(target, d->fd, name))
		err = -errno;
	else
		err = made(q, d->fd, name, d->uid, q->t->u.tsymlink.gid, 0);
	fid_put(q->s, d);
	return err;
}

int op_mknod(struct req *q)
{
	uint32_t mode = q->t->u.tmknod.mode;
	char name[P9_MAX_NAME + 1];
	struct fid *d;
	int err;

	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK:
		break;
	case 0:
		mode |= S_IFREG;
		break;
	default:
		return -EINVAL;
	}
	d = dir_and_name(q, q->t->u.tmknod.dfid, &q->t->u.tmknod.name, name, &err);
	if (!d)
		return err;
	if (mknodat(d->fd, name, mode & (S_IFMT | 07777),
		    makedev(q->t->u.tmknod.major, q->t->u.tmknod.minor)))
		err = -errno;
	else
		err = made(q, d->fd, name, d->uid, q->t->u.tmknod.gid, mode);
	fid_put(q->s, d);
	return err;
}

/*
 * Tlink: a new name for the fid's file.  Through /proc/self/fd it is the
 * very file the fid holds; a symlink (which that link would follow) is
 * linked by its name after checking the name still holds it.
 */
int op_link(struct req *q)
{
	char name[P9_MAX_NAME + 1], path[32];
	struct fid *d, *f;
	int err;

	d = dir_and_name(q, q->t->u.tlink.dfid, &q->t->u.tlink.name, name, &err);
	if (!d)
		return err;
	f = file_fid(q, q->t->u.tlink.fid, &err);
	if (f) {
		pthread_mutex_lock(&f->lock);
		if (S_ISDIR(f->type)) {
			err = -EPERM;
		} else if (S_ISLNK(f->type)) {
			err = fid_still_named(f);
			if (!err && linkat(f->dirfd, f->name, d->fd, name, 0))
				err = -errno;
		} else {
			proc_fd_path(path, f->fd);
			if (linkat(AT_FDCWD, path, d->fd, name, AT_SYMLINK_FOLLOW))
				err = -errno;
		}
		pthread_mutex_unlock(&f->lock);
		fid_put(q->s, f);
	}
	fid_put(q->s, d);
	return err;
}

/* Rename OLDNAME in OD to NEWNAME in ND, then let the fids follow. */
static int rename_in(struct req *q, int od, const char *oldname, int nd, const char *newname)
{
	struct stat a, b;

	if (stat_fd(od, &a) || stat_fd(nd, &b))
		return -errno;
	if (renameat(od, oldname, nd, newname))
		return -errno;
	fids_renamed(q->s, &a, oldname, nd, &b, newname);
	return 0;
}

int op_renameat(struct req *q)
{
	char oldname[P9_MAX_NAME + 1], newname[P9_MAX_NAME + 1];
	struct fid *od, *nd;
	int err;

	od = dir_and_name(q, q->t->u.trenameat.olddfid, &q->t->u.trenameat.oldname, oldname,
			  &err);
	if (!od)
		return err;
	nd = dir_and_name(q, q->t->u.trenameat.newdfid, &q->t->u.trenameat.newname, newname,
			  &err);
	if (nd) {
		err = rename_in(q, od->fd, oldname, nd->fd, newname);
		fid_put(q->s, nd);
	}
	fid_put(q->s, od);
	return err;
}

/* Trename: the fid's own file, by the name it was walked to (checked first). */
int op_rename(struct req *q)
{
	char newname[P9_MAX_NAME + 1];
	struct fid *f, *nd;
	char *oldname = NULL;
	int err, od = -1;

	nd = dir_and_name(q, q->t->u.trename.dfid, &q->t->u.trename.name, newname, &err);
	if (!nd)
		return err;
	f = file_fid(q, q->t->u.trename.fid, &err);
	if (f) {
		pthread_mutex_lock(&f->lock);
		err = fid_still_named(f);
		if (!err) {
			od = fcntl(f->dirfd, F_DUPFD_CLOEXEC, 0);
			oldname = strdup(f->name);
			if (od < 0 || !oldname)
				err = -ENOMEM;
		}
		pthread_mutex_unlock(&f->lock);
		/* rename_in updates fids, f among them: not under f's lock. */
		if (!err)
			err = rename_in(q, od, oldname, nd->fd, newname);
		if (od >= 0)
			close(od);
		free(oldname);
		fid_put(q->s, f);
	}
	fid_put(q->s, nd);
	return err;
}

int op_unlinkat(struct req *q)
{
	char name[P9_MAX_NAME + 1];
	struct fid *d;
	int err;

	d = dir_and_name(q, q->t->u.tunlinkat.dfid, &q->t->u.tunlinkat.name, name, &err);
	if (!d)
		return err;
	if (unlinkat(d->fd, name, q->t->u.tunlinkat.flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0))
		err = -errno;
	fid_put(q->s, d);
	return err;
}

/* Tremove: unlink the fid's file and clunk the fid, whatever happens. */
int op_remove(struct req *q)
{
	struct fid *f = fid_take(q->s, q->t->u.tfid.fid);
	int err;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	err = READ_ONLY(q) ? -EROFS : f->kind != FID_FILE ? -EBADF : fid_still_named(f);
	if (!err && unlinkat(f->dirfd, f->name, S_ISDIR(f->type) ? AT_REMOVEDIR : 0))
		err = -errno;
	pthread_mutex_unlock(&f->lock);
	fid_put(q->s, f);
	return err;
}
