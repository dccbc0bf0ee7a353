// SPDX-License-Identifier: MIT
/*
 * p9-tool: lets the 9P test scripts drive the server and check what the
 * Linux client did (not a test itself).
 *
 *   p9-tool serve [--ro] [--msize N] [--log FILE] DIR -- CMD [ARGS...]
 *	Serve DIR over a socketpair and run CMD with the other end as
 *	descriptor 3, so that CMD can be
 *	"mount -t 9p -o trans=fd,rfdno=3,wfdno=3,...".  The server stays in
 *	the background until the stream ends (the file system is
 *	unmounted); it then writes "p9-tool serve: clean end" or the error
 *	to FILE, which also gets the server's stderr.  p9-tool's status is
 *	CMD's.
 *   p9-tool xattr get|list|set|remove PATH [NAME [VALUE]]
 *   p9-tool lock CLIENT-PATH HOST-PATH
 *	Take a write lock on CLIENT-PATH (a file on the 9P mount) and check
 *	that the host sees it on HOST-PATH (the same file in the share),
 *	then that it goes away with an unlock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "p9.h"

static int usage(void)
{
	fprintf(stderr, "usage: p9-tool serve [--ro] [--msize N] [--log FILE] DIR -- CMD...\n"
			"       p9-tool xattr get|list|set|remove PATH [NAME [VALUE]]\n"
			"       p9-tool lock CLIENT-PATH HOST-PATH\n");
	return 2;
}

/*
 * The serving child: it keeps only its end of the socketpair, so that it
 * sees the end of the stream when the client side is gone (other servers'
 * client ends, inherited, would keep their streams open).
 */
static void serve(const struct p9_server_config *cfg, int fd, const char *log)
{
	struct p9_server *s;
	int err;

	if (dup2(fd, 3) < 0)
		_exit(1);
	for (int i = 4; i < 1024; i++)
		close(i);
	/*
	 * Out of the way of the caller's pipes (it may wait for them to
	 * close); what goes to stderr, a sanitizer's report included, goes
	 * to the log.
	 */
	if (!freopen("/dev/null", "w", stdout) || !freopen(log ? log : "/dev/null", "w", stderr))
		_exit(1);
	err = p9_server_create(cfg, &s);
	if (!err) {
		err = p9_server_serve_stream(s, 3, 3);
		p9_server_destroy(s);
	}
	if (err)
		fprintf(stderr, "p9-tool serve: %s\n", strerror(-err));
	else
		fprintf(stderr, "p9-tool serve: clean end\n");
	fflush(stderr); /* freopen made it a buffered file stream */
	_exit(err ? 1 : 0);
}

static int cmd_serve(int argc, char **argv)
{
	struct p9_server_config cfg = { 0 };
	const char *log = NULL;
	struct p9_server *s;
	struct rlimit rl;
	int i, sv[2], err;
	pid_t pid;

	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--ro"))
			cfg.flags |= P9_SERVER_READONLY;
		else if (!strcmp(argv[i], "--msize") && i + 1 < argc)
			cfg.max_msize = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log = argv[++i];
		else if (!cfg.root)
			cfg.root = argv[i];
		else
			return usage();
	}
	if (!cfg.root || i + 1 >= argc)
		return usage();
	/* Each fid holds descriptors: take all the process may have. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Report a bad share here; the child opens its own. */
	err = p9_server_create(&cfg, &s);
	if (err) {
		fprintf(stderr, "p9-tool serve: %s: %s\n", cfg.root, strerror(-err));
		return 1;
	}
	p9_server_destroy(s);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("p9-tool serve: socketpair");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("p9-tool serve: fork");
		return 1;
	}
	if (pid == 0)
		serve(&cfg, sv[0], log);
	close(sv[0]);
	if (dup2(sv[1], 3) < 0) {
		perror("p9-tool serve: dup2");
		return 1;
	}
	if (sv[1] != 3)
		close(sv[1]);
	else
		fcntl(3, F_SETFD, 0); /* dup2 onto itself kept close-on-exec */
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "p9-tool serve: %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}

static int cmd_xattr(int argc, char **argv)
{
	char buf[P9_MAX_XATTR];
	ssize_t n;

	if (argc < 4)
		return usage();
	if (!strcmp(argv[2], "get") && argc == 5) {
		n = getxattr(argv[3], argv[4], buf, sizeof(buf));
		if (n >= 0)
			fwrite(buf, 1, n, stdout);
	} else if (!strcmp(argv[2], "list") && argc == 4) {
		n = listxattr(argv[3], buf, sizeof(buf));
		for (ssize_t i = 0; i < n; i += strlen(buf + i) + 1)
			printf("%s\n", buf + i);
	} else if (!strcmp(argv[2], "set") && argc == 6) {
		n = setxattr(argv[3], argv[4], argv[5], strlen(argv[5]), 0);
	} else if (!strcmp(argv[2], "remove") && argc == 5) {
		n = removexattr(argv[3], argv[4]);
	} else {
		return usage();
	}
	if (n < 0) {
		fprintf(stderr, "p9-tool xattr %s %s: %s\n", argv[2], argv[3], strerror(errno));
		return 1;
	}
	return 0;
}

/* The type of the lock the host sees on PATH over bytes 0..99 (F_UNLCK if none). */
static int host_lock_type(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
	int fd = open(path, O_RDWR), r;

	if (fd < 0)
		return -1;
	r = fcntl(fd, F_OFD_GETLK, &fl);
	close(fd);
	return r ? -1 : fl.l_type;
}

static int cmd_lock(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20 };
	int fd, held, after;

	if (argc != 4)
		return usage();
	fd = open(argv[2], O_RDWR);
	if (fd < 0 || fcntl(fd, F_SETLK, &fl)) {
		fprintf(stderr, "p9-tool lock: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	held = host_lock_type(argv[3]);
	fl.l_type = F_UNLCK;
	if (fcntl(fd, F_SETLK, &fl)) {
		fprintf(stderr, "p9-tool lock: unlock %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	after = host_lock_type(argv[3]);
	close(fd);
	if (held != F_WRLCK || after != F_UNLCK) {
		fprintf(stderr, "p9-tool lock: the host saw %d while locked, %d after (want %d, %d)\n",
			held, after, F_WRLCK, F_UNLCK);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(argv[1], "xattr"))
		return cmd_xattr(argc, argv);
	if (!strcmp(argv[1], "lock"))
		return cmd_lock(argc, argv);
	return usage();
}
