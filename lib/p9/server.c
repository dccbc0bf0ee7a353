// SPDX-License-Identifier: MIT
/*
 * The 9P2000.L server (see p9.h): the session, its fid table, and the
 * requests that make or drop fids (version, attach, walk, clunk, flush).
 * The file operations live in ops_file.c, ops_node.c and xattr.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p9_internal.h"

/* --- fids ----------------------------------------------------------------- */

static unsigned int bucket(uint32_t num)
{
	return (num * 2654435761u) % FID_BUCKETS;
}

struct fid *fid_alloc(uint32_t num, uint32_t uid)
{
	struct fid *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->num = num;
	f->uid = uid;
	f->refs = 1;
	f->fd = f->dirfd = f->open_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void fid_free(struct fid *f)
{
	int fds[] = { f->fd, f->dirfd, f->open_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(f->name);
	free(f->xname);
	free(f->xbuf);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* The fid numbered NUM with a reference for the caller, or NULL. */
struct fid *fid_get(struct p9_server *s, uint32_t num)
{
	struct fid *f;

	pthread_mutex_lock(&s->lock);
	for (f = s->table[bucket(num)]; f; f = f->next)
		if (f->num == num)
			break;
	if (f)
		f->refs++;
	pthread_mutex_unlock(&s->lock);
	return f;
}

void fid_put(struct p9_server *s, struct fid *f)
{
	unsigned int left;

	if (!f)
		return;
	pthread_mutex_lock(&s->lock);
	left = --f->refs;
	pthread_mutex_unlock(&s->lock);
	if (!left)
		fid_free(f);
}

/*
 * Put F (holding the caller's reference, which stays the caller's) in the
 * table.  A fid of the same number is an error unless REPLACE: then it
 * leaves the table, as after a walk or create onto the fid itself.
 */
int fid_insert(struct p9_server *s, struct fid *f, int replace)
{
	struct fid **p, *old = NULL;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	for (p = &s->table[bucket(f->num)]; *p; p = &(*p)->next)
		if ((*p)->num == f->num)
			break;
	if (*p && !replace) {
		err = -EBADF;
	} else if (!*p && s->nfids >= s->max_fids) {
		err = -EMFILE;
	} else {
		if (*p) {
			old = *p;
			*p = old->next;
		} else {
			s->nfids++;
		}
		f->next = s->table[bucket(f->num)];
		s->table[bucket(f->num)] = f;
		f->refs++;
	}
	pthread_mutex_unlock(&s->lock);
	fid_put(s, old);
	return err;
}

/* Take fid NUM out of the table; the table's reference becomes the caller's. */
struct fid *fid_take(struct p9_server *s, uint32_t num)
{
	struct fid **p, *f;

	pthread_mutex_lock(&s->lock);
	for (p = &s->table[bucket(num)]; *p; p = &(*p)->next)
		if ((*p)->num == num)
			break;
	f = *p;
	if (f) {
		*p = f->next;
		s->nfids--;
	}
	pthread_mutex_unlock(&s->lock);
	return f;
}

static void fids_drop_all(struct p9_server *s)
{
	struct fid *list = NULL, *f;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < FID_BUCKETS; i++) {
		while ((f = s->table[i])) {
			s->table[i] = f->next;
			f->next = list;
			list = f;
		}
	}
	s->nfids = 0;
	pthread_mutex_unlock(&s->lock);
	while ((f = list)) {
		list = f->next;
		fid_put(s, f);
	}
}

struct fid *file_fid(struct req *q, uint32_t num, int *err)
{
	struct fid *f = fid_get(q->s, num);
	enum fid_kind kind;

	if (f) {
		pthread_mutex_lock(&f->lock);
		kind = f->kind;
		pthread_mutex_unlock(&f->lock);
		if (kind == FID_FILE)
			return f;
		fid_put(q->s, f);
	}
	*err = -EBADF;
	return NULL;
}

/*
 * After OLDNAME in directory OLDDIR became NEWNAME in NEWDIRFD, the fids
 * that named it follow it.  (Fids below a renamed directory need nothing:
 * they hold the directory itself.)
 */
void fids_renamed(struct p9_server *s, const struct stat *olddir, const char *oldname,
		  int newdirfd, const struct stat *newdir, const char *newname)
{
	struct fid *f;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < FID_BUCKETS; i++) {
		for (f = s->table[i]; f; f = f->next) {
			char *name;
			int fd;

			pthread_mutex_lock(&f->lock);
			if (f->dirfd >= 0 && f->dir_dev == olddir->st_dev &&
			    f->dir_ino == olddir->st_ino && !strcmp(f->name, oldname)) {
				name = strdup(newname);
				fd = fcntl(newdirfd, F_DUPFD_CLOEXEC, 0);
				if (name && fd >= 0) {
					close(f->dirfd);
					free(f->name);
					f->dirfd = fd;
					f->name = name;
					f->dir_dev = newdir->st_dev;
					f->dir_ino = newdir->st_ino;
				} else {
					/* Out of descriptors: the fid goes stale (ESTALE). */
					free(name);
					if (fd >= 0)
						close(fd);
				}
			}
			pthread_mutex_unlock(&f->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* --- the session ------------------------------------------------------------ */

static int op_version(struct req *q)
{
	const struct p9_str *v = &q->t->u.version.version;
	uint32_t msize = q->t->u.version.msize;
	int known = v->len == strlen(P9_PROTO_L) && !memcmp(v->s, P9_PROTO_L, v->len);

	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	if (msize > q->s->max_msize)
		msize = q->s->max_msize;
	/* A new version starts a new session: every fid goes. */
	fids_drop_all(q->s);
	pthread_mutex_lock(&q->s->lock);
	q->s->msize = known ? msize : 0;
	pthread_mutex_unlock(&q->s->lock);
	q->r->u.version.msize = msize;
	q->r->u.version.version.s = known ? P9_PROTO_L : "unknown";
	q->r->u.version.version.len = strlen(q->r->u.version.version.s);
	return 0;
}

static int op_attach(struct req *q)
{
	struct p9_server *s = q->s;
	struct fid *f;
	struct stat st;
	int err;

	if (q->t->u.tattach.afid != P9_NOFID)
		return -EBADF; /* no Tauth, so no afid */
	f = fid_alloc(q->t->u.tattach.fid, q->t->u.tattach.n_uname);
	if (!f)
		return -ENOMEM;
	f->type = S_IFDIR;
	f->fd = fcntl(s->root_fd, F_DUPFD_CLOEXEC, 0);
	err = f->fd < 0 ? -errno : stat_fd(f->fd, &st);
	if (!err)
		err = fid_insert(s, f, 0);
	if (!err)
		qid_of(s, &st, &q->r->u.qid);
	fid_put(s, f);
	return err;
}

static int walk_clone(struct fid *from, struct fid *to)
{
	pthread_mutex_lock(&from->lock);
	to->type = from->type;
	to->dir_dev = from->dir_dev;
	to->dir_ino = from->dir_ino;
	to->fd = fcntl(from->fd, F_DUPFD_CLOEXEC, 0);
	if (from->dirfd >= 0)
		to->dirfd = fcntl(from->dirfd, F_DUPFD_CLOEXEC, 0);
	if (from->name)
		to->name = strdup(from->name);
	pthread_mutex_unlock(&from->lock);
	if (to->fd < 0 || (from->dirfd >= 0 && to->dirfd < 0))
		return -EMFILE;
	return from->name && !to->name ? -ENOMEM : 0;
}

/*
 * Twalk: one name at a time, each opened O_PATH under the one before.
 * If the first name fails the walk fails; if a later one does, the reply
 * holds the qids of those that worked and newfid is not made.
 */
static int op_walk(struct req *q)
{
	const struct p9_fcall *t = q->t;
	uint16_t n = t->u.twalk.nwname, i;
	char name[P9_MAX_NAME + 1];
	int err = 0, cur, parent = -1;
	struct fid *f, *nf;
	struct stat st;

	f = file_fid(q, t->u.twalk.fid, &err);
	if (!f)
		return err;
	nf = fid_alloc(t->u.twalk.newfid, f->uid);
	if (!nf) {
		fid_put(q->s, f);
		return -ENOMEM;
	}
	if (n == 0) {
		err = walk_clone(f, nf);
		goto insert;
	}
	pthread_mutex_lock(&f->lock);
	cur = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&f->lock);
	if (cur < 0) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++) {
		int fd;

		err = get_name(&t->u.twalk.wname[i], name);
		if (err)
			break;
		fd = open_beneath(cur, name, O_PATH, 0);
		if (fd < 0) {
			err = fd;
			break;
		}
		err = stat_fd(fd, &st);
		if (err) {
			close(fd);
			break;
		}
		qid_of(q->s, &st, &q->r->u.rwalk.wqid[i]);
		if (parent >= 0)
			close(parent);
		parent = cur;
		cur = fd;
	}
	q->r->u.rwalk.nwqid = i;
	if (i < n) {
		close(cur);
		if (parent >= 0)
			close(parent);
		if (i > 0)
			err = 0; /* a partial walk is a success with fewer qids */
		goto out;
	}
	err = child_fid_fill(nf, parent, name, cur);
	close(parent);
insert:
	if (!err)
		err = fid_insert(q->s, nf, nf->num == f->num);
out:
	fid_put(q->s, nf);
	fid_put(q->s, f);
	return err;
}

static int op_clunk(struct req *q)
{
	struct fid *f = fid_take(q->s, q->t->u.tfid.fid);
	int err = 0;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	if (f->kind == FID_XATTR_WRITE)
		err = xattr_commit(f);
	pthread_mutex_unlock(&f->lock);
	fid_put(q->s, f);
	return err;
}

static int dispatch(struct req *q)
{
	switch (q->t->type) {
	case P9_TVERSION:	return op_version(q);
	case P9_TATTACH:	return op_attach(q);
	case P9_TFLUSH:		return 0; /* served whole, none is pending here (vmm/virtio_9p.c orders Rflush after it) */
	case P9_TWALK:		return op_walk(q);
	case P9_TCLUNK:		return op_clunk(q);
	case P9_TREMOVE:	return op_remove(q);
	case P9_TLOPEN:		return op_lopen(q);
	case P9_TLCREATE:	return op_lcreate(q);
	case P9_TREAD:		return op_read(q);
	case P9_TWRITE:		return op_write(q);
	case P9_TREADDIR:	return op_readdir(q);
	case P9_TFSYNC:		return op_fsync(q);
	case P9_TLOCK:		return op_lock(q);
	case P9_TGETLOCK:	return op_getlock(q);
	case P9_TGETATTR:	return op_getattr(q);
	case P9_TSETATTR:	return op_setattr(q);
	case P9_TREADLINK:	return op_readlink(q);
	case P9_TSTATFS:	return op_statfs(q);
	case P9_TMKDIR:		return op_mkdir(q);
	case P9_TSYMLINK:	return op_symlink(q);
	case P9_TMKNOD:		return op_mknod(q);
	case P9_TLINK:		return op_link(q);
	case P9_TRENAME:	return op_rename(q);
	case P9_TRENAMEAT:	return op_renameat(q);
	case P9_TUNLINKAT:	return op_unlinkat(q);
	case P9_TXATTRWALK:	return op_xattrwalk(q);
	case P9_TXATTRCREATE:	return op_xattrcreate(q);
	default:		return -EOPNOTSUPP; /* Tauth, 9P2000 and 9P2000.u, replies */
	}
}

int serve_fcall(struct req *q, int err)
{
	uint32_t msize = p9_server_msize(q->s);

	if (q->cap > UINT32_MAX)
		q->cap = UINT32_MAX;
	if (msize && q->cap > msize)
		q->cap = msize;
	memset(q->r, 0, sizeof(*q->r));
	q->r->type = q->t->type + 1;
	q->r->tag = q->t->tag;
	if (!err && !msize && q->t->type != P9_TVERSION)
		err = -EPROTO; /* nothing before Tversion */
	return err ? err : dispatch(q);
}

size_t p9_server_handle(struct p9_server *s, const void *req, size_t len, void *reply,
			size_t cap)
{
	struct p9_fcall t, r;
	struct req q = { .s = s, .t = &t, .r = &r, .buf = reply, .cap = cap };
	size_t n;
	int err;

	if (cap < P9_RLERROR_SIZE)
		return 0;
	err = serve_fcall(&q, p9_decode(req, len, &t));
	if (!err) {
		n = p9_encode(&r, reply, q.cap);
		if (n)
			return n;
		err = -EMSGSIZE;
	}
	memset(&r, 0, sizeof(r));
	r.type = P9_RLERROR;
	r.tag = t.tag;
	r.u.rlerror.ecode = -err;
	return p9_encode(&r, reply, cap);
}

uint32_t p9_server_msize(struct p9_server *s)
{
	uint32_t m;

	pthread_mutex_lock(&s->lock);
	m = s->msize;
	pthread_mutex_unlock(&s->lock);
	return m;
}

int p9_server_create(const struct p9_server_config *cfg, struct p9_server **out)
{
	struct p9_server *s;
	struct stat st;
	char path[32];
	int fd;

	*out = NULL;
	if (!cfg || !cfg->root || (cfg->max_msize && cfg->max_msize < P9_MIN_MSIZE))
		return -EINVAL;
	fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	proc_fd_path(path, fd);
	if (stat_fd(fd, &st) || access(path, F_OK)) {
		/* no /proc/self/fd: the server could not open what its fids hold */
		close(fd);
		return -ENOSYS;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->root_fd = fd;
	s->root_dev = st.st_dev;
	s->root_ino = st.st_ino;
	s->flags = cfg->flags;
	s->max_msize = cfg->max_msize ? cfg->max_msize : P9_DEFAULT_MSIZE;
	s->max_fids = cfg->max_fids ? cfg->max_fids : P9_DEFAULT_FIDS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->dev_lock, NULL);
	*out = s;
	return 0;
}

void p9_server_destroy(struct p9_server *s)
{
	if (!s)
		return;
	fids_drop_all(s);
	close(s->root_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->dev_lock);
	free(s);
}
