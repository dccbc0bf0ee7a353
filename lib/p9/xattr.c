// SPDX-License-Identifier: MIT
/*
 * Extended attributes over 9P.  Txattrwalk makes a fid whose reads
 * return one attribute's value (or, for the empty name, the list of
 * names); Txattrcreate turns a fid into one whose writes collect a value
 * that Tclunk then sets (or, empty with XATTR_REPLACE, removes: that is
 * how the client sends removexattr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "p9_internal.h"

#define XATTR_TRIES 4 /* an attribute growing between sizing and reading it */

struct xpath {
	char path[32 + P9_MAX_NAME + 1];
	int nofollow; /* the l* calls: the path names a symlink */
};

/*
 * The path the xattr calls reach F's file by: its /proc/self/fd link, or
 * for a symlink (which that link would follow) the link's name under its
 * directory's /proc/self/fd link, once the name is known to still hold
 * it.  Called with f->lock held.
 */
static int xattr_path(struct fid *f, struct xpath *x)
{
	int err;

	x->nofollow = S_ISLNK(f->type);
	if (!x->nofollow) {
		proc_fd_path(x->path, f->fd);
		return 0;
	}
	err = fid_still_named(f);
	if (err)
		return err;
	if ((size_t)snprintf(x->path, sizeof(x->path), "/proc/self/fd/%d/%s", f->dirfd,
			     f->name) >= sizeof(x->path))
		return -ENAMETOOLONG;
	return 0;
}

/* One call of getxattr or listxattr (NAME NULL), by path. */
static ssize_t xattr_get(const struct xpath *x, const char *name, void *buf, size_t size)
{
	ssize_t n;

	if (name)
		n = x->nofollow ? lgetxattr(x->path, name, buf, size) :
				  getxattr(x->path, name, buf, size);
	else
		n = x->nofollow ? llistxattr(x->path, buf, size) : listxattr(x->path, buf, size);
	return n < 0 ? -errno : n;
}

/* An xattr name out of a message: 1..255 bytes, no NUL; empty only if EMPTY_OK. */
static int get_xattr_name(const struct p9_str *in, char out[P9_MAX_NAME + 1], int empty_ok)
{
	if ((!in->len && !empty_ok) || memchr(in->s, '\0', in->len))
		return -EINVAL;
	if (in->len > P9_MAX_NAME)
		return -ERANGE;
	memcpy(out, in->s, in->len);
	out[in->len] = '\0';
	return 0;
}

/* Read the value (or the name list) into a new buffer; returns its size or -errno. */
static ssize_t xattr_fetch(struct fid *f, const char *name, uint8_t **out)
{
	struct xpath x;
	ssize_t n = -ERANGE;
	uint8_t *buf;
	int err;

	pthread_mutex_lock(&f->lock);
	err = xattr_path(f, &x);
	pthread_mutex_unlock(&f->lock);
	if (err)
		return err;
	for (int i = 0; i < XATTR_TRIES && n == -ERANGE; i++) {
		n = xattr_get(&x, name, NULL, 0);
		if (n < 0)
			return n;
		if (n > P9_MAX_XATTR)
			return -E2BIG;
		buf = malloc(n ? n : 1);
		if (!buf)
			return -ENOMEM;
		n = xattr_get(&x, name, buf, n);
		if (n >= 0) {
			*out = buf;
			return n;
		}
		free(buf);
	}
	return n;
}

int op_xattrwalk(struct req *q)
{
	char name[P9_MAX_NAME + 1];
	struct fid *f, *nf;
	uint8_t *buf = NULL;
	ssize_t n;
	int err;

	err = get_xattr_name(&q->t->u.txattrwalk.name, name, 1);
	if (err)
		return err;
	f = file_fid(q, q->t->u.txattrwalk.fid, &err);
	if (!f)
		return err;
	n = xattr_fetch(f, name[0] ? name : NULL, &buf);
	nf = n < 0 ? NULL : fid_alloc(q->t->u.txattrwalk.newfid, f->uid);
	if (nf) {
		nf->kind = FID_XATTR_READ;
		nf->xbuf = buf;
		nf->xsize = n;
		buf = NULL;
		err = fid_insert(q->s, nf, nf->num == f->num);
		if (!err)
			q->r->u.rxattrwalk.size = n;
		fid_put(q->s, nf);
	} else {
		err = n < 0 ? n : -ENOMEM;
	}
	free(buf);
	fid_put(q->s, f);
	return err;
}

int op_xattrcreate(struct req *q)
{
	uint64_t size = q->t->u.txattrcreate.size;
	uint32_t flags = q->t->u.txattrcreate.flags;
	char name[P9_MAX_NAME + 1];
	struct fid *f;
	int err;

	if (READ_ONLY(q))
		return -EROFS;
	err = get_xattr_name(&q->t->u.txattrcreate.name, name, 0);
	if (err)
		return err;
	if (size > P9_MAX_XATTR)
		return -E2BIG;
	if (flags & ~(P9_XATTR_CREATE | P9_XATTR_REPLACE))
		return -EINVAL;
	f = file_fid(q, q->t->u.txattrcreate.fid, &err);
	if (!f)
		return err;
	pthread_mutex_lock(&f->lock);
	if (f->kind != FID_FILE) {
		err = -EBADF;
	} else {
		f->xname = strdup(name);
		f->xbuf = calloc(1, size ? size : 1);
		if (!f->xname || !f->xbuf) {
			err = -ENOMEM;
		} else {
			f->kind = FID_XATTR_WRITE;
			f->xsize = size;
			f->xfilled = 0;
			f->xflags = flags;
		}
	}
	pthread_mutex_unlock(&f->lock);
	fid_put(q->s, f);
	return err;
}

int xattr_read(struct req *q, struct fid *f)
{
	uint64_t off = q->t->u.tread.offset;
	uint32_t count = q->t->u.tread.count;
	uint8_t *data = q->data_iov ? NULL : q->buf + P9_RREAD_HEADER;

	if (count > q->cap - P9_RREAD_HEADER)
		count = q->cap - P9_RREAD_HEADER;
	pthread_mutex_lock(&f->lock);
	if (off >= f->xsize)
		count = 0;
	else if (count > f->xsize - off)
		count = f->xsize - off;
	if (data)
		memcpy(data, f->xbuf + (count ? off : 0), count);
	else
		count = iov_copy_out(q->data_iov, q->data_niov, f->xbuf + (count ? off : 0), count);
	pthread_mutex_unlock(&f->lock);
	q->r->u.rread.count = count;
	q->r->u.rread.data = data;
	return 0;
}

int xattr_write(struct req *q, struct fid *f)
{
	uint64_t off = q->t->u.twrite.offset;
	uint32_t count = q->t->u.twrite.count;
	int err = 0;

	pthread_mutex_lock(&f->lock);
	if (off > f->xsize || count > f->xsize - off) {
		err = -ENOSPC; /* more than Txattrcreate announced */
	} else {
		if (q->data_iov)
			iov_copy_in(f->xbuf + off, q->data_iov, q->data_niov, count);
		else
			memcpy(f->xbuf + off, q->t->u.twrite.data, count);
		if (off + count > f->xfilled)
			f->xfilled = off + count;
	}
	pthread_mutex_unlock(&f->lock);
	q->r->u.rwrite.count = count;
	return err;
}

/* Tclunk of a Txattrcreate fid: set (or remove) the attribute.  f->lock is held. */
int xattr_commit(struct fid *f)
{
	struct xpath x;
	int err, r;

	if (f->xfilled != f->xsize)
		return -EINVAL; /* the value was not written whole */
	err = xattr_path(f, &x);
	if (err)
		return err;
	if (!f->xsize && (f->xflags & P9_XATTR_REPLACE))
		r = x.nofollow ? lremovexattr(x.path, f->xname) : removexattr(x.path, f->xname);
	else if (x.nofollow)
		r = lsetxattr(x.path, f->xname, f->xbuf, f->xsize, f->xflags);
	else
		r = setxattr(x.path, f->xname, f->xbuf, f->xsize, f->xflags);
	return r ? -errno : 0;
}
