/* SPDX-License-Identifier: MIT */
#ifndef OPENWSL_P9_H
#define OPENWSL_P9_H

/*
 * 9P2000.L, as the Linux v9fs client speaks it: the wire format (one
 * encoder and one decoder, used by the server, the tests and the fuzz
 * target) and a server that shares one host directory.
 *
 * Every message is size[4] type[1] tag[2] followed by its fields, all
 * little-endian; a string is a u16 length and that many bytes, no NUL.
 * The decoder checks every length and count against the message and
 * points into it (strings, read/write data): nothing is copied.
 *
 * The server (p9_server_*) keeps, for every fid, an O_PATH descriptor of
 * the file it names and of the directory holding it.  A walk resolves one
 * name at a time with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from
 * such a descriptor, and names with '/', "." or ".." are refused, so no
 * request reaches outside the share: symlinks are never followed on the
 * server (the client resolves them), and renames cannot race a path
 * lookup because there is no path lookup.  Where a call has no *at form
 * that takes an O_PATH descriptor (open, chmod, truncate, xattrs, link)
 * the server goes through /proc/self/fd/N of that descriptor, which names
 * exactly the file the fid holds: /proc must be mounted.
 */
#include <stddef.h>
#include <stdint.h>

#define P9_PROTO_L	  "9P2000.L"
#define P9_HEADER_SIZE	  7	  /* size[4] type[1] tag[2] */
#define P9_RLERROR_SIZE	  11	  /* the smallest reply buffer a transport may pass */
#define P9_RREAD_HEADER	  11	  /* Rread and Rreaddir: header + count[4] */
#define P9_TWRITE_HEADER  23	  /* header + fid[4] offset[8] count[4] */
#define P9_IOHDR_SIZE	  24	  /* what the client keeps out of msize for that header */
#define P9_MIN_MSIZE	  4096
#define P9_DEFAULT_MSIZE  (1024 * 1024 + P9_IOHDR_SIZE)
#define P9_NOTAG	  0xffff
#define P9_NOFID	  0xffffffffu
#define P9_NONUNAME	  0xffffffffu /* n_uname when the client sends none */
#define P9_MAX_WALK	  16	  /* names in one Twalk */
#define P9_MAX_NAME	  255	  /* one path component */
#define P9_MAX_TARGET	  4095	  /* a symlink's target */
#define P9_MAX_XATTR	  65536	  /* an xattr value, or the list of names */
#define P9_DEFAULT_FIDS	  65536	  /* fids one session may hold */
#define P9_DIRENT_FIXED	  24	  /* qid[13] offset[8] type[1] name length[2] */

enum p9_type {
	P9_TLERROR = 6,	P9_RLERROR,
	P9_TSTATFS = 8,	P9_RSTATFS,
	P9_TLOPEN = 12,	P9_RLOPEN,
	P9_TLCREATE,	P9_RLCREATE,
	P9_TSYMLINK,	P9_RSYMLINK,
	P9_TMKNOD,	P9_RMKNOD,
	P9_TRENAME,	P9_RRENAME,
	P9_TREADLINK,	P9_RREADLINK,
	P9_TGETATTR,	P9_RGETATTR,
	P9_TSETATTR,	P9_RSETATTR,
	P9_TXATTRWALK = 30, P9_RXATTRWALK,
	P9_TXATTRCREATE, P9_RXATTRCREATE,
	P9_TREADDIR = 40, P9_RREADDIR,
	P9_TFSYNC = 50,	P9_RFSYNC,
	P9_TLOCK,	P9_RLOCK,
	P9_TGETLOCK,	P9_RGETLOCK,
	P9_TLINK = 70,	P9_RLINK,
	P9_TMKDIR,	P9_RMKDIR,
	P9_TRENAMEAT,	P9_RRENAMEAT,
	P9_TUNLINKAT,	P9_RUNLINKAT,
	P9_TVERSION = 100, P9_RVERSION,
	P9_TAUTH,	P9_RAUTH,
	P9_TATTACH,	P9_RATTACH,
	P9_TFLUSH = 108, P9_RFLUSH,
	P9_TWALK,	P9_RWALK,
	P9_TREAD = 116,	P9_RREAD,
	P9_TWRITE,	P9_RWRITE,
	P9_TCLUNK,	P9_RCLUNK,
	P9_TREMOVE,	P9_RREMOVE,
};

/* qid.type */
#define P9_QTDIR     0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE    0x00

/* Tlopen and Tlcreate flags (the client's, translated to the host's O_*). */
#define P9_DOTL_ACCMODE	  00000003
#define P9_DOTL_RDONLY	  00000000
#define P9_DOTL_WRONLY	  00000001
#define P9_DOTL_RDWR	  00000002
#define P9_DOTL_CREATE	  00000100
#define P9_DOTL_EXCL	  00000200
#define P9_DOTL_TRUNC	  00001000
#define P9_DOTL_APPEND	  00002000
#define P9_DOTL_DSYNC	  00010000
#define P9_DOTL_DIRECTORY 00200000
#define P9_DOTL_SYNC	  04000000

#define P9_AT_REMOVEDIR	  0x200 /* Tunlinkat flags */

/* Tgetattr request mask and Rgetattr valid mask */
#define P9_GETATTR_MODE	  0x0001
#define P9_GETATTR_NLINK  0x0002
#define P9_GETATTR_UID	  0x0004
#define P9_GETATTR_GID	  0x0008
#define P9_GETATTR_RDEV	  0x0010
#define P9_GETATTR_ATIME  0x0020
#define P9_GETATTR_MTIME  0x0040
#define P9_GETATTR_CTIME  0x0080
#define P9_GETATTR_INO	  0x0100
#define P9_GETATTR_SIZE	  0x0200
#define P9_GETATTR_BLOCKS 0x0400
#define P9_GETATTR_BASIC  0x07ff

/* Tsetattr valid mask */
#define P9_SETATTR_MODE	     0x0001
#define P9_SETATTR_UID	     0x0002
#define P9_SETATTR_GID	     0x0004
#define P9_SETATTR_SIZE	     0x0008
#define P9_SETATTR_ATIME     0x0010
#define P9_SETATTR_MTIME     0x0020
#define P9_SETATTR_CTIME     0x0040
#define P9_SETATTR_ATIME_SET 0x0080 /* else ATIME means "now" */
#define P9_SETATTR_MTIME_SET 0x0100

/* Tlock and Tgetlock */
#define P9_LOCK_RDLCK	    0
#define P9_LOCK_WRLCK	    1
#define P9_LOCK_UNLCK	    2
#define P9_LOCK_SUCCESS	    0
#define P9_LOCK_BLOCKED	    1
#define P9_LOCK_ERROR	    2
#define P9_LOCK_FLAGS_BLOCK 1

/* Txattrcreate flags: Linux's XATTR_CREATE and XATTR_REPLACE. */
#define P9_XATTR_CREATE	 1
#define P9_XATTR_REPLACE 2

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

/* A string inside a message: not NUL-terminated. */
struct p9_str {
	const char *s;
	uint16_t len;
};

struct p9_attr { /* Rgetattr */
	uint64_t valid;
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec;
	uint64_t ctime_sec, ctime_nsec, btime_sec, btime_nsec;
	uint64_t gen, data_version;
};

struct p9_setattr { /* Tsetattr */
	uint32_t valid, mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

struct p9_statfs { /* Rstatfs */
	uint32_t type, bsize;
	uint64_t blocks, bfree, bavail, files, ffree, fsid;
	uint32_t namelen;
};

struct p9_flock { /* Tlock (all fields), Tgetlock and Rgetlock (no flags) */
	uint8_t type;
	uint32_t flags;
	uint64_t start, length;
	uint32_t proc_id;
	struct p9_str client_id;
};

/*
 * One decoded message.  Which member of u holds its fields follows from
 * the type; messages with no fields (Rclunk, Rflush, ...) use none.
 */
struct p9_fcall {
	uint8_t type;
	uint16_t tag;
	union {
		struct { uint32_t msize; struct p9_str version; } version; /* T and R */
		struct { uint32_t afid; struct p9_str uname, aname; uint32_t n_uname; } tauth;
		struct {
			uint32_t fid, afid;
			struct p9_str uname, aname;
			uint32_t n_uname;
		} tattach;
		struct p9_qid qid; /* Rauth Rattach Rsymlink Rmknod Rmkdir */
		struct { uint32_t ecode; } rlerror;
		struct { uint16_t oldtag; } tflush;
		struct {
			uint32_t fid, newfid;
			uint16_t nwname;
			struct p9_str wname[P9_MAX_WALK];
		} twalk;
		struct { uint16_t nwqid; struct p9_qid wqid[P9_MAX_WALK]; } rwalk;
		struct { uint32_t fid, flags; } tlopen;
		struct { struct p9_qid qid; uint32_t iounit; } ropen; /* Rlopen Rlcreate */
		struct {
			uint32_t fid;
			struct p9_str name;
			uint32_t flags, mode, gid;
		} tlcreate;
		struct { uint32_t fid; struct p9_str name, target; uint32_t gid; } tsymlink;
		struct {
			uint32_t dfid;
			struct p9_str name;
			uint32_t mode, major, minor, gid;
		} tmknod;
		struct { uint32_t dfid; struct p9_str name; uint32_t mode, gid; } tmkdir;
		struct { uint32_t fid, dfid; struct p9_str name; } trename;
		struct { uint32_t dfid, fid; struct p9_str name; } tlink;
		struct {
			uint32_t olddfid;
			struct p9_str oldname;
			uint32_t newdfid;
			struct p9_str newname;
		} trenameat;
		struct { uint32_t dfid; struct p9_str name; uint32_t flags; } tunlinkat;
		/* Tclunk Tremove Treadlink Tstatfs */
		struct { uint32_t fid; } tfid;
		struct { struct p9_str target; } rreadlink;
		struct { uint32_t fid; uint64_t mask; } tgetattr;
		struct p9_attr rgetattr;
		struct { uint32_t fid; struct p9_setattr attr; } tsetattr;
		struct { uint32_t fid, newfid; struct p9_str name; } txattrwalk;
		struct { uint64_t size; } rxattrwalk;
		struct {
			uint32_t fid;
			struct p9_str name;
			uint64_t size;
			uint32_t flags;
		} txattrcreate;
		/* Tread Treaddir */
		struct { uint32_t fid; uint64_t offset; uint32_t count; } tread;
		/* Rread Rreaddir */
		struct { uint32_t count; const uint8_t *data; } rread;
		struct {
			uint32_t fid;
			uint64_t offset;
			uint32_t count;
			const uint8_t *data;
		} twrite;
		struct { uint32_t count; } rwrite;
		struct { uint32_t fid, datasync; } tfsync;
		struct { uint32_t fid; struct p9_flock lock; } tlock; /* Tlock Tgetlock */
		struct { uint8_t status; } rlock;
		struct p9_flock rgetlock;
		struct p9_statfs rstatfs;
	} u;
};

/*
 * Decode the one message in BUF (LEN bytes: exactly its size field).
 * Returns 0, -EBADMSG when it is malformed (a length or count beyond the
 * message, bytes left over, more than P9_MAX_WALK names) or -EOPNOTSUPP
 * for a type this file does not know.  type and tag are filled in
 * whenever the header could be read, so a server can answer with Rlerror.
 */
int p9_decode(const void *buf, size_t len, struct p9_fcall *f);

/*
 * Encode F into BUF (CAP bytes).  Returns the message size, or 0 when it
 * does not fit or F is not encodable (unknown type, more than
 * P9_MAX_WALK names or qids).  Data and strings that already sit where
 * they belong in BUF are not copied: a server may read file data straight
 * into BUF + P9_RREAD_HEADER and point rread.data there.
 */
size_t p9_encode(const struct p9_fcall *f, void *buf, size_t cap);

/* The size field of the message starting at BUF (at least 4 bytes). */
uint32_t p9_msg_size(const void *buf);

/*
 * For a transport that looks at a message around the server: its header,
 * read from the first LEN bytes at BUF, and the field after it (Tflush's
 * oldtag, the count of Rread and Rwrite) from as many of its bytes as LEN
 * holds, up to 4.  Returns 0, or -EBADMSG when LEN < P9_HEADER_SIZE.
 */
struct p9_peek {
	uint8_t type;
	uint16_t tag;
	uint32_t first;
};
int p9_peek(const void *buf, size_t len, struct p9_peek *p);

/*
 * For transports whose data is not next to its header (see
 * p9_server_handlev): decode a Twrite from its first P9_TWRITE_HEADER
 * bytes, given the message's whole length TOTAL (data stays NULL), and
 * write the P9_RREAD_HEADER bytes that precede COUNT bytes of Rread data.
 */
int p9_decode_twrite_header(const void *hdr, size_t total, struct p9_fcall *f);
void p9_encode_rread_header(void *buf, uint16_t tag, uint32_t count);

/* A directory entry of Rreaddir. */
struct p9_dirent {
	struct p9_qid qid;
	uint64_t offset; /* where the next Treaddir continues after this entry */
	uint8_t type;	 /* DT_* */
	struct p9_str name;
};

/* Append an entry at BUF (CAP bytes left); returns its size or 0 if it does not fit. */
size_t p9_put_dirent(void *buf, size_t cap, const struct p9_dirent *d);
/* Take the entry at *P (*LEFT bytes); returns 1, 0 at the end, -EBADMSG if truncated. */
int p9_get_dirent(const uint8_t **p, size_t *left, struct p9_dirent *d);

/* The name of a message type, for logs ("Twalk", "Rlerror", "?"). */
const char *p9_type_name(uint8_t type);

/* --- the server ---------------------------------------------------------- */

#define P9_SERVER_READONLY 0x1 /* every change is refused with EROFS */

/* One server shares one directory: Tattach's aname is not looked at. */
struct p9_server_config {
	const char *root;   /* the shared directory */
	unsigned int flags; /* P9_SERVER_* */
	uint32_t max_msize; /* 0: P9_DEFAULT_MSIZE */
	uint32_t max_fids;  /* 0: P9_DEFAULT_FIDS; each fid holds up to 3 descriptors */
};

struct p9_server;

/*
 * Open the share.  Returns 0 and the server in *OUT, or -errno (the root
 * cannot be opened or is not a directory, no /proc/self/fd, no memory).
 * The server owns one descriptor of the root; nothing else happens until
 * requests arrive.
 */
int p9_server_create(const struct p9_server_config *cfg, struct p9_server **out);
void p9_server_destroy(struct p9_server *s);

/*
 * Serve one request: REQ holds one whole message (LEN bytes, as the
 * transport received it); the reply is written to REPLY (CAP bytes, not
 * overlapping REQ: the request's strings and data are used where they
 * lie) and its length returned.  Never fails: a malformed or refused request gets
 * Rlerror (tag P9_NOTAG when even the header is unreadable); 0 is
 * returned only when CAP < P9_RLERROR_SIZE.  Replies never exceed the
 * negotiated msize nor CAP, so a transport sizes its reply buffers with
 * p9_server_msize (or P9_DEFAULT_MSIZE before Tversion).
 *
 * Thread-safe: several threads may serve requests of one session at
 * once (a fid is reference-counted, so a Tclunk racing a Tread on the
 * same fid is harmless).  Nothing blocks on the guest: Tlock never
 * waits (it answers P9_LOCK_BLOCKED and the client retries), and fifos
 * and devices are never opened.  File I/O is plain pread/pwrite straight
 * between the file and REQ/REPLY.
 */
size_t p9_server_handle(struct p9_server *s, const void *req, size_t len, void *reply,
			size_t cap);

/*
 * The same, for a request and a reply scattered over buffers (virtio
 * descriptors): REQ (NREQ pieces) holds one message, REPLY (NREPLY
 * pieces, CAP bytes in all) receives the reply, whose length is returned.
 * Tread data goes from the file straight into the reply's pieces after
 * its header (preadv) and Twrite data straight from the request's
 * (pwritev): no copy, wherever the guest put its pages.  Other messages
 * are gathered and scattered through a buffer.  More than P9_MAX_IOV
 * pieces on either side get Rlerror(EINVAL).
 */
#define P9_MAX_IOV 1024
struct iovec;
size_t p9_server_handlev(struct p9_server *s, const struct iovec *req, int nreq,
			 const struct iovec *reply, int nreply);

/* The msize negotiated by the last Tversion (0 before one). */
uint32_t p9_server_msize(struct p9_server *s);

/*
 * Serve a byte stream (a socket, a pipe pair, vsock) until end of file:
 * read size-prefixed messages from RFD, write each reply whole to WFD,
 * one request at a time.  Returns 0 at a clean end of stream, or -errno
 * (-EBADMSG for a size field outside P9_HEADER_SIZE..msize).
 */
int p9_server_serve_stream(struct p9_server *s, int rfd, int wfd);

#endif
