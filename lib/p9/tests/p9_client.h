/* SPDX-License-Identifier: MIT */
#ifndef OPENWSL_P9_CLIENT_H
#define OPENWSL_P9_CLIENT_H

/*
 * A small 9P client for the tests and the fuzz target: it encodes a
 * request with the codec, hands it to p9_server_handle, and decodes the
 * reply, which must be well formed, carry the request's tag and be
 * either the matching R-message or Rlerror.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p9.h"

#define TC_BAD_REPLY (-100000) /* the reply broke the protocol */
#define TC_MSIZE     (256 * 1024)

struct tclient {
	struct p9_server *s;
	uint8_t req[TC_MSIZE], rep[TC_MSIZE];
	struct p9_fcall r; /* the last reply */
	size_t rlen;
	uint16_t tag;
};

static inline struct p9_str tc_str(const char *s)
{
	return (struct p9_str){ s, (uint16_t)strlen(s) };
}

/* Serve one request already encoded in c->req. */
static inline int tc_raw(struct tclient *c, size_t len, uint8_t type, uint16_t tag)
{
	c->rlen = p9_server_handle(c->s, c->req, len, c->rep, sizeof(c->rep));
	if (!c->rlen || p9_decode(c->rep, c->rlen, &c->r) || c->r.tag != tag)
		return TC_BAD_REPLY;
	if (c->r.type == P9_RLERROR)
		return c->r.u.rlerror.ecode ? -(int)c->r.u.rlerror.ecode : TC_BAD_REPLY;
	return c->r.type == type + 1 ? 0 : TC_BAD_REPLY;
}

/* 0, -errno from Rlerror, or TC_BAD_REPLY. */
static inline int tc_rpc(struct tclient *c, struct p9_fcall *t)
{
	size_t len;

	t->tag = t->type == P9_TVERSION ? P9_NOTAG : c->tag++ % P9_NOTAG;
	len = p9_encode(t, c->req, sizeof(c->req));
	if (!len)
		return TC_BAD_REPLY;
	return tc_raw(c, len, t->type, t->tag);
}

static inline int tc_version(struct tclient *c, uint32_t msize)
{
	struct p9_fcall t = { .type = P9_TVERSION, .u.version = { msize, tc_str(P9_PROTO_L) } };

	return tc_rpc(c, &t);
}

static inline int tc_attach(struct tclient *c, uint32_t fid, uint32_t uid)
{
	struct p9_fcall t = { .type = P9_TATTACH,
			      .u.tattach = { fid, P9_NOFID, tc_str("u"), tc_str(""), uid } };

	return tc_rpc(c, &t);
}

/* Walk N names; returns -errno, or the number of qids in Rwalk. */
static inline int tc_walkv(struct tclient *c, uint32_t fid, uint32_t newfid, int n,
			   const struct p9_str *names)
{
	struct p9_fcall t = { .type = P9_TWALK, .u.twalk = { fid, newfid, (uint16_t)n } };
	int err;

	for (int i = 0; i < n && i < P9_MAX_WALK; i++)
		t.u.twalk.wname[i] = names[i];
	err = tc_rpc(c, &t);
	return err ? err : c->r.u.rwalk.nwqid;
}

/* Walk a '/'-separated PATH ("" clones): 0 when every name was walked. */
static inline int tc_walk(struct tclient *c, uint32_t fid, uint32_t newfid, const char *path)
{
	struct p9_str names[P9_MAX_WALK];
	int n = 0, r;

	while (*path && n < P9_MAX_WALK) {
		const char *end = strchr(path, '/');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		names[n++] = (struct p9_str){ path, (uint16_t)len };
		path += len + (end ? 1 : 0);
	}
	r = tc_walkv(c, fid, newfid, n, names);
	return r < 0 ? r : r == n ? 0 : -ENOENT;
}

static inline int tc_fid_op(struct tclient *c, uint8_t type, uint32_t fid)
{
	struct p9_fcall t = { .type = type, .u.tfid = { fid } };

	return tc_rpc(c, &t);
}

static inline int tc_clunk(struct tclient *c, uint32_t fid)
{
	return tc_fid_op(c, P9_TCLUNK, fid);
}

static inline int tc_open(struct tclient *c, uint32_t fid, uint32_t flags)
{
	struct p9_fcall t = { .type = P9_TLOPEN, .u.tlopen = { fid, flags } };

	return tc_rpc(c, &t);
}

static inline int tc_create(struct tclient *c, uint32_t fid, const char *name, uint32_t flags,
			    uint32_t mode)
{
	struct p9_fcall t = { .type = P9_TLCREATE,
			      .u.tlcreate = { fid, tc_str(name), flags, mode, 0 } };

	return tc_rpc(c, &t);
}

/* Returns the bytes read (in c->r.u.rread) or -errno. */
static inline int tc_read(struct tclient *c, uint8_t type, uint32_t fid, uint64_t off,
			  uint32_t count)
{
	struct p9_fcall t = { .type = type, .u.tread = { fid, off, count } };
	int err = tc_rpc(c, &t);

	return err ? err : (int)c->r.u.rread.count;
}

static inline int tc_write(struct tclient *c, uint32_t fid, uint64_t off, const void *data,
			   uint32_t count)
{
	struct p9_fcall t = { .type = P9_TWRITE, .u.twrite = { fid, off, count, data } };
	int err = tc_rpc(c, &t);

	return err ? err : (int)c->r.u.rwrite.count;
}

static inline int tc_mkdir(struct tclient *c, uint32_t dfid, const char *name, uint32_t mode)
{
	struct p9_fcall t = { .type = P9_TMKDIR, .u.tmkdir = { dfid, tc_str(name), mode, 0 } };

	return tc_rpc(c, &t);
}

static inline int tc_getattr(struct tclient *c, uint32_t fid)
{
	struct p9_fcall t = { .type = P9_TGETATTR, .u.tgetattr = { fid, P9_GETATTR_BASIC } };

	return tc_rpc(c, &t);
}

/* A server on ROOT with a session: version, then fid 0 attached as root. */
static inline int tc_start(struct tclient *c, const char *root, unsigned int flags)
{
	struct p9_server_config cfg = { .root = root, .flags = flags, .max_msize = TC_MSIZE };
	int err;

	memset(&c->r, 0, sizeof(c->r));
	c->tag = 1;
	err = p9_server_create(&cfg, &c->s);
	if (!err)
		err = tc_version(c, TC_MSIZE);
	if (!err)
		err = tc_attach(c, 0, 0);
	return err;
}

#endif
