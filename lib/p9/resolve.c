// SPDX-License-Identifier: MIT
/*
 * How the 9P server names files without ever leaving the share: single
 * names checked and opened with openat2 under a directory descriptor,
 * /proc/self/fd for the calls that have no descriptor form, and qids.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "p9_internal.h"

/* openat2 may ask for a retry when a rename raced the lookup. */
#define OPENAT2_TRIES 16

/*
 * Copy a path component out of a message.  Empty names, names with '/'
 * or NUL, "." and ".." are refused: each could reach something other
 * than a child of the directory it is looked up in.
 */
int get_name(const struct p9_str *in, char out[P9_MAX_NAME + 1])
{
	if (in->len == 0)
		return -EINVAL;
	if (in->len > P9_MAX_NAME)
		return -ENAMETOOLONG;
	if (memchr(in->s, '/', in->len) || memchr(in->s, '\0', in->len))
		return -EINVAL;
	if (in->s[0] == '.' && (in->len == 1 || (in->len == 2 && in->s[1] == '.')))
		return -EINVAL;
	memcpy(out, in->s, in->len);
	out[in->len] = '\0';
	return 0;
}

/*
 * Open NAME (one component, from get_name) under DIRFD.  No symlink is
 * followed, not even as the last component (O_PATH | O_NOFOLLOW then
 * gives the link itself), and the kernel refuses anything resolving
 * outside DIRFD.  Returns the descriptor or -errno.
 */
int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	/* openat2 refuses O_PATH with any flag but O_CLOEXEC, O_NOFOLLOW, O_DIRECTORY */
	int noctty = flags & O_PATH ? 0 : O_NOCTTY;
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW | noctty),
		.mode = (flags & O_CREAT) ? (mode & 07777) : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	for (int i = 0; i < OPENAT2_TRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	return -errno;
}

void proc_fd_path(char buf[32], int fd)
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/*
 * Open, with FLAGS, exactly the file an O_PATH descriptor holds: through
 * its /proc/self/fd link, which the kernel resolves to that file and not
 * by name, so no rename can swap it.
 */
int open_fd_path(int fd, int flags)
{
	char path[32];
	int r;

	proc_fd_path(path, fd);
	do
		r = open(path, flags | O_CLOEXEC | O_NOCTTY);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int stat_fd(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/*
 * qid.path is the inode number; a file on another device mounted inside
 * the share gets that device's index in the top byte, so two devices'
 * inode numbers do not collide.
 */
uint64_t qid_path(struct p9_server *s, dev_t dev, ino_t ino)
{
	uint64_t idx = QID_DEVS;

	if (dev == s->root_dev)
		return ino;
	pthread_mutex_lock(&s->dev_lock);
	for (unsigned int i = 0; i < s->ndevs; i++)
		if (s->devs[i] == dev)
			idx = i;
	if (idx == QID_DEVS && s->ndevs < QID_DEVS) {
		idx = s->ndevs;
		s->devs[s->ndevs++] = dev;
	}
	pthread_mutex_unlock(&s->dev_lock);
	/* Index 0 is the share's own device (ino alone); past the table, 255. */
	return (ino & ((1ULL << 56) - 1)) ^ ((idx + 1) << 56);
}

void qid_of(struct p9_server *s, const struct stat *st, struct p9_qid *qid)
{
	qid->type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK :
									     P9_QTFILE;
	/* A client caching data compares versions: any write changes it. */
	qid->version = S_ISREG(st->st_mode) ?
			       (uint32_t)(st->st_mtim.tv_sec ^ st->st_mtim.tv_nsec ^
					  (st->st_size << 8)) :
			       0;
	qid->path = qid_path(s, st->st_dev, st->st_ino);
}

/*
 * Whether the fid's directory still holds the fid's file under its name:
 * the calls that work on a name (unlink, rename, and a few on symlinks)
 * check this first, so a file moved behind the server's back is not
 * mistaken for another.  Called with f->lock held.
 */
int fid_still_named(struct fid *f)
{
	struct stat a, b;

	if (f->dirfd < 0)
		return -EBUSY; /* the share root has no name to act on */
	if (fstatat(f->dirfd, f->name, &a, AT_SYMLINK_NOFOLLOW) || stat_fd(f->fd, &b))
		return -ESTALE;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -ESTALE;
	return 0;
}

/*
 * A file the guest created belongs to the guest user who created it.  A
 * server without CAP_CHOWN cannot give it away and leaves it its own:
 * that is not an error for the guest.
 */
void give_owner(int fd, uint32_t uid, uint32_t gid)
{
	uid_t u = uid == P9_NONUNAME ? (uid_t)-1 : uid;

	if (fchownat(fd, "", u, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) && u != (uid_t)-1)
		(void)!fchownat(fd, "", -1, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

/*
 * The guest applied its umask already; the server's own must not take
 * more bits away from a file it just made.  (A directory keeps the
 * set-group-ID bit it inherited from its parent.)
 */
void exact_mode(int fd, mode_t mode)
{
	struct stat st;
	char path[32];

	if (stat_fd(fd, &st) || S_ISLNK(st.st_mode))
		return;
	mode &= 07777;
	if (S_ISDIR(st.st_mode))
		mode |= st.st_mode & S_ISGID;
	if ((st.st_mode & 07777) == mode)
		return;
	proc_fd_path(path, fd);
	(void)!chmod(path, mode);
}

/*
 * Make F name the file FD (an O_PATH descriptor, which F takes over even
 * on failure) found as NAME in DIRFD (which F duplicates).
 */
int child_fid_fill(struct fid *f, int dirfd, const char *name, int fd)
{
	struct stat d, st;

	f->fd = fd;
	if (stat_fd(fd, &st) || stat_fd(dirfd, &d))
		return -errno;
	f->type = st.st_mode & S_IFMT;
	f->dir_dev = d.st_dev;
	f->dir_ino = d.st_ino;
	f->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (f->dirfd < 0)
		return -errno;
	f->name = strdup(name);
	return f->name ? 0 : -ENOMEM;
}
