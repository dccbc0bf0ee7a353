// SPDX-License-Identifier: MIT
/*
 * The 9P2000.L wire format (see p9.h).  Each message's fields are listed
 * once, in xfer_body, and that list drives both directions: a cursor
 * either reads a field from the buffer into the structure or writes it
 * from the structure into the buffer.
 */
#include <errno.h>
#include <string.h>

#include "p9.h"

struct cursor {
	uint8_t *buf;
	size_t pos, end;
	int encode;
	int bad; /* ran past the end, or a count over its limit */
};

/* Space for N more bytes, or mark the cursor bad. */
static uint8_t *take(struct cursor *c, size_t n)
{
	uint8_t *p;

	if (c->bad || n > c->end - c->pos) {
		c->bad = 1;
		return NULL;
	}
	p = c->buf + c->pos;
	c->pos += n;
	return p;
}

static void x_le(struct cursor *c, uint64_t *v, int bytes)
{
	uint8_t *p = take(c, bytes);
	uint64_t r = 0;

	if (!p)
		return;
	if (c->encode) {
		for (int i = 0; i < bytes; i++)
			p[i] = *v >> (8 * i);
		return;
	}
	for (int i = 0; i < bytes; i++)
		r |= (uint64_t)p[i] << (8 * i);
	*v = r;
}

static void x_u8(struct cursor *c, uint8_t *v)
{
	uint64_t t = *v;

	x_le(c, &t, 1);
	*v = t;
}

static void x_u16(struct cursor *c, uint16_t *v)
{
	uint64_t t = *v;

	x_le(c, &t, 2);
	*v = t;
}

static void x_u32(struct cursor *c, uint32_t *v)
{
	uint64_t t = *v;

	x_le(c, &t, 4);
	*v = t;
}

static void x_u64(struct cursor *c, uint64_t *v)
{
	x_le(c, v, 8);
}

/* LEN bytes at *DATA: pointed at when decoding, copied in when encoding. */
static void x_bytes(struct cursor *c, const uint8_t **data, size_t len)
{
	uint8_t *p = take(c, len);

	if (!p)
		return;
	if (!c->encode)
		*data = p;
	else if (len && *data != p)
		memmove(p, *data, len);
}

static void x_str(struct cursor *c, struct p9_str *s)
{
	const uint8_t *d = (const uint8_t *)s->s;

	x_u16(c, &s->len);
	if (c->encode && s->len && !s->s) {
		c->bad = 1;
		return;
	}
	x_bytes(c, &d, s->len);
	if (!c->encode)
		s->s = c->bad ? "" : (const char *)d;
}

static void x_qid(struct cursor *c, struct p9_qid *q)
{
	x_u8(c, &q->type);
	x_u32(c, &q->version);
	x_u64(c, &q->path);
}

static void x_data(struct cursor *c, uint32_t *count, const uint8_t **data)
{
	x_u32(c, count);
	x_bytes(c, data, *count);
}

/* A u16 count of at most P9_MAX_WALK. */
static void x_walk_count(struct cursor *c, uint16_t *n)
{
	x_u16(c, n);
	if (*n > P9_MAX_WALK) {
		c->bad = 1;
		*n = 0;
	}
}

static void x_flock(struct cursor *c, struct p9_flock *l, int with_flags)
{
	x_u8(c, &l->type);
	if (with_flags)
		x_u32(c, &l->flags);
	x_u64(c, &l->start);
	x_u64(c, &l->length);
	x_u32(c, &l->proc_id);
	x_str(c, &l->client_id);
}

static void x_attr(struct cursor *c, struct p9_attr *a)
{
	uint64_t *fields[] = {
		&a->nlink, &a->rdev, &a->size, &a->blksize, &a->blocks,
		&a->atime_sec, &a->atime_nsec, &a->mtime_sec, &a->mtime_nsec,
		&a->ctime_sec, &a->ctime_nsec, &a->btime_sec, &a->btime_nsec,
		&a->gen, &a->data_version,
	};

	x_u64(c, &a->valid);
	x_qid(c, &a->qid);
	x_u32(c, &a->mode);
	x_u32(c, &a->uid);
	x_u32(c, &a->gid);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		x_u64(c, fields[i]);
}

static void x_setattr(struct cursor *c, struct p9_setattr *a)
{
	x_u32(c, &a->valid);
	x_u32(c, &a->mode);
	x_u32(c, &a->uid);
	x_u32(c, &a->gid);
	x_u64(c, &a->size);
	x_u64(c, &a->atime_sec);
	x_u64(c, &a->atime_nsec);
	x_u64(c, &a->mtime_sec);
	x_u64(c, &a->mtime_nsec);
}

static void x_statfs(struct cursor *c, struct p9_statfs *s)
{
	x_u32(c, &s->type);
	x_u32(c, &s->bsize);
	x_u64(c, &s->blocks);
	x_u64(c, &s->bfree);
	x_u64(c, &s->bavail);
	x_u64(c, &s->files);
	x_u64(c, &s->ffree);
	x_u64(c, &s->fsid);
	x_u32(c, &s->namelen);
}

/* The fields of each message after the header; -EOPNOTSUPP for an unknown type. */
static int xfer_body(struct cursor *c, struct p9_fcall *f)
{
	switch (f->type) {
	case P9_TVERSION:
	case P9_RVERSION:
		x_u32(c, &f->u.version.msize);
		x_str(c, &f->u.version.version);
		break;
	case P9_TAUTH:
		x_u32(c, &f->u.tauth.afid);
		x_str(c, &f->u.tauth.uname);
		x_str(c, &f->u.tauth.aname);
		x_u32(c, &f->u.tauth.n_uname);
		break;
	case P9_TATTACH:
		x_u32(c, &f->u.tattach.fid);
		x_u32(c, &f->u.tattach.afid);
		x_str(c, &f->u.tattach.uname);
		x_str(c, &f->u.tattach.aname);
		x_u32(c, &f->u.tattach.n_uname);
		break;
	case P9_RAUTH:
	case P9_RATTACH:
	case P9_RSYMLINK:
	case P9_RMKNOD:
	case P9_RMKDIR:
		x_qid(c, &f->u.qid);
		break;
	case P9_RLERROR:
		x_u32(c, &f->u.rlerror.ecode);
		break;
	case P9_TFLUSH:
		x_u16(c, &f->u.tflush.oldtag);
		break;
	case P9_TWALK:
		x_u32(c, &f->u.twalk.fid);
		x_u32(c, &f->u.twalk.newfid);
		x_walk_count(c, &f->u.twalk.nwname);
		for (int i = 0; i < f->u.twalk.nwname; i++)
			x_str(c, &f->u.twalk.wname[i]);
		break;
	case P9_RWALK:
		x_walk_count(c, &f->u.rwalk.nwqid);
		for (int i = 0; i < f->u.rwalk.nwqid; i++)
			x_qid(c, &f->u.rwalk.wqid[i]);
		break;
	case P9_TLOPEN:
		x_u32(c, &f->u.tlopen.fid);
		x_u32(c, &f->u.tlopen.flags);
		break;
	case P9_RLOPEN:
	case P9_RLCREATE:
		x_qid(c, &f->u.ropen.qid);
		x_u32(c, &f->u.ropen.iounit);
		break;
	case P9_TLCREATE:
		x_u32(c, &f->u.tlcreate.fid);
		x_str(c, &f->u.tlcreate.name);
		x_u32(c, &f->u.tlcreate.flags);
		x_u32(c, &f->u.tlcreate.mode);
		x_u32(c, &f->u.tlcreate.gid);
		break;
	case P9_TSYMLINK:
		x_u32(c, &f->u.tsymlink.fid);
		x_str(c, &f->u.tsymlink.name);
		x_str(c, &f->u.tsymlink.target);
		x_u32(c, &f->u.tsymlink.gid);
		break;
	case P9_TMKNOD:
		x_u32(c, &f->u.tmknod.dfid);
		x_str(c, &f->u.tmknod.name);
		x_u32(c, &f->u.tmknod.mode);
		x_u32(c, &f->u.tmknod.major);
		x_u32(c, &f->u.tmknod.minor);
		x_u32(c, &f->u.tmknod.gid);
		break;
	case P9_TMKDIR:
		x_u32(c, &f->u.tmkdir.dfid);
		x_str(c, &f->u.tmkdir.name);
		x_u32(c, &f->u.tmkdir.mode);
		x_u32(c, &f->u.tmkdir.gid);
		break;
	case P9_TRENAME:
		x_u32(c, &f->u.trename.fid);
		x_u32(c, &f->u.trename.dfid);
		x_str(c, &f->u.trename.name);
		break;
	case P9_TLINK:
		x_u32(c, &f->u.tlink.dfid);
		x_u32(c, &f->u.tlink.fid);
		x_str(c, &f->u.tlink.name);
		break;
	case P9_TRENAMEAT:
		x_u32(c, &f->u.trenameat.olddfid);
		x_str(c, &f->u.trenameat.oldname);
		x_u32(c, &f->u.trenameat.newdfid);
		x_str(c, &f->u.trenameat.newname);
		break;
	case P9_TUNLINKAT:
		x_u32(c, &f->u.tunlinkat.dfid);
		x_str(c, &f->u.tunlinkat.name);
		x_u32(c, &f->u.tunlinkat.flags);
		break;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TREADLINK:
	case P9_TSTATFS:
		x_u32(c, &f->u.tfid.fid);
		break;
	case P9_RREADLINK:
		x_str(c, &f->u.rreadlink.target);
		break;
	case P9_TGETATTR:
		x_u32(c, &f->u.tgetattr.fid);
		x_u64(c, &f->u.tgetattr.mask);
		break;
	case P9_RGETATTR:
		x_attr(c, &f->u.rgetattr);
		break;
	case P9_TSETATTR:
		x_u32(c, &f->u.tsetattr.fid);
		x_setattr(c, &f->u.tsetattr.attr);
		break;
	case P9_TXATTRWALK:
		x_u32(c, &f->u.txattrwalk.fid);
		x_u32(c, &f->u.txattrwalk.newfid);
		x_str(c, &f->u.txattrwalk.name);
		break;
	case P9_RXATTRWALK:
		x_u64(c, &f->u.rxattrwalk.size);
		break;
	case P9_TXATTRCREATE:
		x_u32(c, &f->u.txattrcreate.fid);
		x_str(c, &f->u.txattrcreate.name);
		x_u64(c, &f->u.txattrcreate.size);
		x_u32(c, &f->u.txattrcreate.flags);
		break;
	case P9_TREAD:
	case P9_TREADDIR:
		x_u32(c, &f->u.tread.fid);
		x_u64(c, &f->u.tread.offset);
		x_u32(c, &f->u.tread.count);
		break;
	case P9_RREAD:
	case P9_RREADDIR:
		x_data(c, &f->u.rread.count, &f->u.rread.data);
		break;
	case P9_TWRITE:
		x_u32(c, &f->u.twrite.fid);
		x_u64(c, &f->u.twrite.offset);
		x_data(c, &f->u.twrite.count, &f->u.twrite.data);
		break;
	case P9_RWRITE:
		x_u32(c, &f->u.rwrite.count);
		break;
	case P9_TFSYNC:
		x_u32(c, &f->u.tfsync.fid);
		x_u32(c, &f->u.tfsync.datasync);
		break;
	case P9_TLOCK:
		x_u32(c, &f->u.tlock.fid);
		x_flock(c, &f->u.tlock.lock, 1);
		break;
	case P9_RLOCK:
		x_u8(c, &f->u.rlock.status);
		break;
	case P9_TGETLOCK:
		x_u32(c, &f->u.tlock.fid);
		x_flock(c, &f->u.tlock.lock, 0);
		break;
	case P9_RGETLOCK:
		x_flock(c, &f->u.rgetlock, 0);
		break;
	case P9_RSTATFS:
		x_statfs(c, &f->u.rstatfs);
		break;
	case P9_RCLUNK:
	case P9_RREMOVE:
	case P9_RFLUSH:
	case P9_RSETATTR:
	case P9_RXATTRCREATE:
	case P9_RRENAME:
	case P9_RRENAMEAT:
	case P9_RUNLINKAT:
	case P9_RLINK:
	case P9_RFSYNC:
		break;
	default:
		return -EOPNOTSUPP;
	}
	return 0;
}

uint32_t p9_msg_size(const void *buf)
{
	const uint8_t *p = buf;

	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

int p9_peek(const void *buf, size_t len, struct p9_peek *p)
{
	const uint8_t *b = buf;

	if (len < P9_HEADER_SIZE)
		return -EBADMSG;
	p->type = b[4];
	p->tag = b[5] | b[6] << 8;
	p->first = 0;
	for (size_t i = P9_HEADER_SIZE; i < len && i < P9_HEADER_SIZE + 4; i++)
		p->first |= (uint32_t)b[i] << 8 * (i - P9_HEADER_SIZE);
	return 0;
}

int p9_decode(const void *buf, size_t len, struct p9_fcall *f)
{
	struct cursor c = { .buf = (uint8_t *)buf, .end = len };
	uint32_t size = 0;
	int err;

	memset(f, 0, sizeof(*f));
	f->tag = P9_NOTAG;
	x_u32(&c, &size);
	x_u8(&c, &f->type);
	x_u16(&c, &f->tag);
	if (c.bad)
		return -EBADMSG;
	if (size != len)
		return -EBADMSG;
	err = xfer_body(&c, f);
	if (err)
		return err;
	if (c.bad || c.pos != len)
		return -EBADMSG;
	return 0;
}

size_t p9_encode(const struct p9_fcall *f, void *buf, size_t cap)
{
	struct cursor c = { .buf = buf, .end = cap, .encode = 1 };
	/* The cursor only reads from F when encoding. */
	struct p9_fcall *m = (struct p9_fcall *)f;
	uint32_t size = 0;
	uint64_t t;

	if (cap > UINT32_MAX)
		c.end = UINT32_MAX;
	x_u32(&c, &size);
	x_u8(&c, &m->type);
	x_u16(&c, &m->tag);
	if (xfer_body(&c, m) || c.bad)
		return 0;
	t = c.pos;
	c.pos = 0;
	x_le(&c, &t, 4);
	return t;
}

int p9_decode_twrite_header(const void *hdr, size_t total, struct p9_fcall *f)
{
	struct cursor c = { .buf = (uint8_t *)hdr, .end = P9_TWRITE_HEADER };
	uint32_t size = 0;

	memset(f, 0, sizeof(*f));
	x_u32(&c, &size);
	x_u8(&c, &f->type);
	x_u16(&c, &f->tag);
	x_u32(&c, &f->u.twrite.fid);
	x_u64(&c, &f->u.twrite.offset);
	x_u32(&c, &f->u.twrite.count);
	if (c.bad || f->type != P9_TWRITE || size != total ||
	    f->u.twrite.count != total - P9_TWRITE_HEADER)
		return -EBADMSG;
	return 0;
}

void p9_encode_rread_header(void *buf, uint16_t tag, uint32_t count)
{
	struct cursor c = { .buf = buf, .end = P9_RREAD_HEADER, .encode = 1 };
	uint32_t size = P9_RREAD_HEADER + count;
	uint8_t type = P9_RREAD;

	x_u32(&c, &size);
	x_u8(&c, &type);
	x_u16(&c, &tag);
	x_u32(&c, &count);
}

size_t p9_put_dirent(void *buf, size_t cap, const struct p9_dirent *d)
{
	struct cursor c = { .buf = buf, .end = cap, .encode = 1 };
	struct p9_dirent *m = (struct p9_dirent *)d;

	x_qid(&c, &m->qid);
	x_u64(&c, &m->offset);
	x_u8(&c, &m->type);
	x_str(&c, &m->name);
	return c.bad ? 0 : c.pos;
}

int p9_get_dirent(const uint8_t **p, size_t *left, struct p9_dirent *d)
{
	struct cursor c = { .buf = (uint8_t *)*p, .end = *left };

	if (!*left)
		return 0;
	x_qid(&c, &d->qid);
	x_u64(&c, &d->offset);
	x_u8(&c, &d->type);
	x_str(&c, &d->name);
	if (c.bad)
		return -EBADMSG;
	*p += c.pos;
	*left -= c.pos;
	return 1;
}

const char *p9_type_name(uint8_t type)
{
	static const char *const names[] = {
		[P9_TLERROR] = "Tlerror", [P9_RLERROR] = "Rlerror",
		[P9_TSTATFS] = "Tstatfs", [P9_RSTATFS] = "Rstatfs",
		[P9_TLOPEN] = "Tlopen", [P9_RLOPEN] = "Rlopen",
		[P9_TLCREATE] = "Tlcreate", [P9_RLCREATE] = "Rlcreate",
		[P9_TSYMLINK] = "Tsymlink", [P9_RSYMLINK] = "Rsymlink",
		[P9_TMKNOD] = "Tmknod", [P9_RMKNOD] = "Rmknod",
		[P9_TRENAME] = "Trename", [P9_RRENAME] = "Rrename",
		[P9_TREADLINK] = "Treadlink", [P9_RREADLINK] = "Rreadlink",
		[P9_TGETATTR] = "Tgetattr", [P9_RGETATTR] = "Rgetattr",
		[P9_TSETATTR] = "Tsetattr", [P9_RSETATTR] = "Rsetattr",
		[P9_TXATTRWALK] = "Txattrwalk", [P9_RXATTRWALK] = "Rxattrwalk",
		[P9_TXATTRCREATE] = "Txattrcreate", [P9_RXATTRCREATE] = "Rxattrcreate",
		[P9_TREADDIR] = "Treaddir", [P9_RREADDIR] = "Rreaddir",
		[P9_TFSYNC] = "Tfsync", [P9_RFSYNC] = "Rfsync",
		[P9_TLOCK] = "Tlock", [P9_RLOCK] = "Rlock",
		[P9_TGETLOCK] = "Tgetlock", [P9_RGETLOCK] = "Rgetlock",
		[P9_TLINK] = "Tlink", [P9_RLINK] = "Rlink",
		[P9_TMKDIR] = "Tmkdir", [P9_RMKDIR] = "Rmkdir",
		[P9_TRENAMEAT] = "Trenameat", [P9_RRENAMEAT] = "Rrenameat",
		[P9_TUNLINKAT] = "Tunlinkat", [P9_RUNLINKAT] = "Runlinkat",
		[P9_TVERSION] = "Tversion", [P9_RVERSION] = "Rversion",
		[P9_TAUTH] = "Tauth", [P9_RAUTH] = "Rauth",
		[P9_TATTACH] = "Tattach", [P9_RATTACH] = "Rattach",
		[P9_TFLUSH] = "Tflush", [P9_RFLUSH] = "Rflush",
		[P9_TWALK] = "Twalk", [P9_RWALK] = "Rwalk",
		[P9_TREAD] = "Tread", [P9_RREAD] = "Rread",
		[P9_TWRITE] = "Twrite", [P9_RWRITE] = "Rwrite",
		[P9_TCLUNK] = "Tclunk", [P9_RCLUNK] = "Rclunk",
		[P9_TREMOVE] = "Tremove", [P9_RREMOVE] = "Rremove",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "?";
}
