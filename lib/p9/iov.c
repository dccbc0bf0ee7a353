// SPDX-License-Identifier: MIT
/*
 * p9_server_handlev: requests and replies scattered over buffers, as a
 * virtio device finds them in its descriptors.  Tread and Twrite move
 * their data between the file and those pieces directly (preadv,
 * pwritev); every other message is gathered into a buffer, served by
 * p9_server_handle and its reply scattered back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "p9_internal.h"

#define SMALL_MSG  8192 /* messages bounced through the stack rather than the heap */
#define TREAD_SIZE 23	/* header + fid[4] offset[8] count[4] */

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len < SIZE_MAX - t ? iov[i].iov_len : SIZE_MAX - t;
	return t;
}

/* Copy LEN bytes from byte OFF of IOV on into DST; returns the bytes copied. */
static size_t gather(void *dst, const struct iovec *iov, int n, size_t off, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, k;

		if (off >= l) {
			off -= l;
			continue;
		}
		k = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

/* Copy LEN bytes of SRC into IOV from its byte OFF on; returns the bytes copied. */
static size_t scatter(const struct iovec *iov, int n, size_t off, const void *src, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, k;

		if (off >= l) {
			off -= l;
			continue;
		}
		k = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t iov_copy_out(const struct iovec *iov, int n, const void *src, size_t len)
{
	return scatter(iov, n, 0, src, len);
}

size_t iov_copy_in(void *dst, const struct iovec *iov, int n, size_t len)
{
	return gather(dst, iov, n, 0, len);
}

/* The pieces of IOV holding its bytes OFF..OFF+LEN, into OUT; returns how many. */
static int slice(struct iovec *out, const struct iovec *iov, int n, size_t off, size_t len)
{
	int k = 0;

	for (int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = l - off < len ? l - off : len;
		len -= out[k++].iov_len;
		off = 0;
	}
	return k;
}

static size_t reply_small(const struct iovec *reply, int nreply, const struct p9_fcall *r)
{
	uint8_t buf[64];
	size_t n = p9_encode(r, buf, sizeof(buf));

	return scatter(reply, nreply, 0, buf, n);
}

static size_t reply_error(const struct iovec *reply, int nreply, uint16_t tag, int err)
{
	struct p9_fcall r = { .type = P9_RLERROR, .tag = tag, .u.rlerror = { -err } };

	return reply_small(reply, nreply, &r);
}

/* Tread: the file's data lands in the reply's pieces after the header. */
static size_t handle_read(struct p9_server *s, const uint8_t *hdr, const struct iovec *reply,
			  int nreply, size_t cap)
{
	struct iovec data[P9_MAX_IOV];
	struct p9_fcall t, r;
	struct req q = { .s = s, .t = &t, .r = &r, .cap = cap, .data_iov = data };
	uint32_t msize = p9_server_msize(s), room;
	uint8_t head[P9_RREAD_HEADER];
	int err = p9_decode(hdr, TREAD_SIZE, &t);

	if (msize && cap > msize)
		cap = msize;
	room = cap - P9_RREAD_HEADER < t.u.tread.count ? cap - P9_RREAD_HEADER : t.u.tread.count;
	q.data_niov = slice(data, reply, nreply, P9_RREAD_HEADER, room);
	err = serve_fcall(&q, err);
	if (err)
		return reply_error(reply, nreply, t.tag, err);
	p9_encode_rread_header(head, t.tag, r.u.rread.count);
	scatter(reply, nreply, 0, head, sizeof(head));
	return P9_RREAD_HEADER + r.u.rread.count;
}

/* Twrite: the data goes to the file from the request's pieces after the header. */
static size_t handle_write(struct p9_server *s, const uint8_t *hdr, const struct iovec *req,
			   int nreq, size_t total, const struct iovec *reply, int nreply,
			   size_t cap)
{
	struct iovec data[P9_MAX_IOV];
	struct p9_fcall t, r;
	struct req q = { .s = s, .t = &t, .r = &r, .cap = cap, .data_iov = data };
	int err = p9_decode_twrite_header(hdr, total, &t);

	if (!err)
		q.data_niov = slice(data, req, nreq, P9_TWRITE_HEADER, t.u.twrite.count);
	err = serve_fcall(&q, err);
	if (err)
		return reply_error(reply, nreply, t.tag, err);
	return reply_small(reply, nreply, &r);
}

/* Anything else: gathered into a buffer, served, and the reply scattered. */
static size_t handle_bounced(struct p9_server *s, const struct iovec *req, int nreq, size_t total,
			     const struct iovec *reply, int nreply, size_t cap)
{
	uint8_t small_in[SMALL_MSG], small_out[SMALL_MSG], *in = small_in, *out = small_out;
	uint32_t msize = p9_server_msize(s);
	size_t n = 0;

	if (cap > (msize ? msize : s->max_msize))
		cap = msize ? msize : s->max_msize;
	if (total > SMALL_MSG)
		in = malloc(total);
	if (cap > SMALL_MSG)
		out = malloc(cap);
	if (in && out) {
		gather(in, req, nreq, 0, total);
		n = p9_server_handle(s, in, total, out, cap);
		n = scatter(reply, nreply, 0, out, n);
	} else {
		n = reply_error(reply, nreply, P9_NOTAG, -ENOMEM);
	}
	if (in != small_in)
		free(in);
	if (out != small_out)
		free(out);
	return n;
}

size_t p9_server_handlev(struct p9_server *s, const struct iovec *req, int nreq,
			 const struct iovec *reply, int nreply)
{
	size_t cap, total, got;
	uint8_t hdr[P9_TWRITE_HEADER];
	struct p9_peek peek = { .tag = P9_NOTAG };

	if (nreq < 0 || nreply < 0)
		return 0;
	cap = iov_total(reply, nreply);
	if (cap < P9_RLERROR_SIZE)
		return 0;
	total = iov_total(req, nreq);
	got = gather(hdr, req, nreq, 0, sizeof(hdr));
	p9_peek(hdr, got, &peek);
	if (nreq > P9_MAX_IOV || nreply > P9_MAX_IOV)
		return reply_error(reply, nreply, peek.tag, -EINVAL);
	/* A message longer than any msize: refused before it is gathered. */
	if (total > s->max_msize)
		return reply_error(reply, nreply, peek.tag, -EMSGSIZE);
	if (peek.type == P9_TREAD && total == TREAD_SIZE)
		return handle_read(s, hdr, reply, nreply, cap);
	if (got == P9_TWRITE_HEADER && peek.type == P9_TWRITE)
		return handle_write(s, hdr, req, nreq, total, reply, nreply, cap);
	return handle_bounced(s, req, nreq, total, reply, nreply, cap);
}
