// SPDX-License-Identifier: MIT
/*
 * Running the kernel's own make, reproducibly: a clean environment (only
 * PATH and HOME come from outside), a fixed build timestamp, user, host
 * and version, and the build directory mapped away from file names.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "mkwslimage.h"

static void child_exec(const char *dir, int out, const char *const *argv, char *const *envp)
{
	if (out >= 0) {
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		if (out > STDERR_FILENO)
			close(out);
	}
	if (dir && chdir(dir) < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		_exit(127);
	}
	if (envp)
		execvpe(argv[0], (char *const *)argv, envp);
	else
		execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int wait_child(pid_t pid, const char *what)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			pr_err("%s: %s", what, strerror(errno));
			return -1;
		}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	pr_err("%s: killed by signal %d", what, WTERMSIG(st));
	return -1;
}

int run_logged(const char *dir, const char *log, const char *const *argv)
{
	int out = -1;
	pid_t pid;

	if (log) {
		out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (out < 0) {
			pr_err("%s: %s", log, strerror(errno));
			return -1;
		}
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		if (out >= 0)
			close(out);
		return -1;
	}
	if (pid == 0)
		child_exec(dir, out, argv, NULL);
	if (out >= 0)
		close(out);
	return wait_child(pid, argv[0]);
}

void kernel_timestamp(long long epoch, char *buf, size_t len)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* The format of date(1) in the C locale; scripts parse it with "date -d". */
	strftime(buf, len, "%a %b %e %H:%M:%S UTC %Y", &tm);
}

/* The environment make runs in: nothing the caller's shell or make set. */
static char **make_env(const struct kernel_make *km)
{
	char stamp[64], **env = calloc(16, sizeof(char *));
	const char *path = getenv("PATH"), *home = getenv("HOME");
	int n = 0, ok = 1;

	if (!env)
		return NULL;
	kernel_timestamp(km->epoch, stamp, sizeof(stamp));
#define ADD(...) (ok = ok && asprintf(&env[n++], __VA_ARGS__) >= 0)
	ADD("PATH=%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	ADD("HOME=%s", home ? home : "/");
	ADD("LC_ALL=C");
	ADD("TZ=UTC");
	ADD("SOURCE_DATE_EPOCH=%lld", km->epoch);
	ADD("KBUILD_BUILD_TIMESTAMP=%s", stamp);
	ADD("KBUILD_BUILD_USER=openwsl");
	ADD("KBUILD_BUILD_HOST=openwsl");
	ADD("KBUILD_BUILD_VERSION=1");
	/* The tree's path must not reach the image: map it to ".". */
	ADD("KCFLAGS=-ffile-prefix-map=%s/=", km->dir);
	ADD("KAFLAGS=-ffile-prefix-map=%s/=", km->dir);
#undef ADD
	if (!ok) {
		for (n = 0; env[n]; n++)
			free(env[n]);
		free(env);
		return NULL;
	}
	return env;
}

static void free_env(char **env)
{
	int i;

	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* Shows how far make got: the count of compile steps and the latest one. */
struct build_line {
	int tty;
	unsigned long steps;
	struct timespec last;
	char buf[512];
	size_t len;
};

static void build_line_feed(struct build_line *bl, const char *label, const char *s, size_t n)
{
	struct timespec now;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		const char *l;

		if (c != '\n') {
			if (bl->len < sizeof(bl->buf) - 1)
				bl->buf[bl->len++] = c;
			continue;
		}
		bl->buf[bl->len] = '\0';
		bl->len = 0;
		/* kbuild's quiet lines: "  CC      kernel/fork.o" */
		l = bl->buf;
		if (strncmp(l, "  ", 2) || l[2] == ' ')
			continue;
		bl->steps++;
		if (!bl->tty)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - bl->last.tv_sec) * 1000 +
			    (now.tv_nsec - bl->last.tv_nsec) / 1000000 < 100)
			continue;
		bl->last = now;
		fprintf(stderr, "\r%s: %lu steps  %.60s\033[K", label, bl->steps, l + 2);
	}
}

static void show_tail(const char *log, int lines)
{
	char *text = NULL;
	size_t cap = 0;
	long count = 0, skip;
	FILE *f = fopen(log, "r");

	if (!f)
		return;
	while (getline(&text, &cap, f) >= 0)
		count++;
	skip = count > lines ? count - lines : 0;
	rewind(f);
	while (getline(&text, &cap, f) >= 0)
		if (skip-- <= 0)
			fprintf(stderr, "  | %s", text);
	free(text);
	fclose(f);
}

int kernel_make_run(const struct kernel_make *km, const char *label, const char *const *args)
{
	struct build_line bl = { .tty = isatty(STDERR_FILENO) };
	const char *argv[32];
	char jobs[32], chunk[4096];
	char **env = make_env(km);
	int pfd[2], log, n = 0, st;
	pid_t pid;
	ssize_t r;

	if (!env) {
		pr_err("out of memory");
		return -1;
	}
	snprintf(jobs, sizeof(jobs), "-j%d", km->jobs > 0 ? km->jobs : 1);
	argv[n++] = "make";
	argv[n++] = jobs;
	argv[n++] = "ARCH=x86_64";
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;

	log = open(km->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0) {
		pr_err("%s: %s", km->log, strerror(errno));
		free_env(env);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		pr_err("pipe: %s", strerror(errno));
		close(log);
		free_env(env);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		close(log);
		free_env(env);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_exec(km->dir, pfd[1], argv, env);
	}
	close(pfd[1]);
	free_env(env);
	while ((r = read(pfd[0], chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (write(log, chunk, r) != r) {
			pr_err("%s: %s", km->log, strerror(errno));
			kill(pid, SIGTERM);
			break;
		}
		build_line_feed(&bl, label, chunk, r);
	}
	close(pfd[0]);
	close(log);
	st = wait_child(pid, "make");
	if (bl.tty && bl.steps)
		fprintf(stderr, "\r%s: %lu steps\033[K\n", label, bl.steps);
	if (st != 0) {
		pr_err("%s: make %s failed; the end of %s:", label, argv[n - 1], km->log);
		show_tail(km->log, 30);
		return -1;
	}
	return 0;
}
