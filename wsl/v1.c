// SPDX-License-Identifier: MIT
/*
 * Running a version-1 distro: its root is a host directory, run on the
 * host's kernel in new mount, PID, UTS and IPC namespaces (no VM), with
 * the process on our own terminal or pipes.  A small PID 1 of the new
 * namespace waits for the process and hands back its status; when it
 * ends, everything left in the namespace ends with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "v1.h"

/* The user, from the distro's own /etc/passwd (no NSS: it would load the distro's libraries). */
static int find_user(const char *root, const char *name, struct passwd *out, char *buf, size_t len)
{
	char path[700];
	struct passwd *pw;
	FILE *f;

	snprintf(path, sizeof(path), "%s/etc/passwd", root);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while ((pw = fgetpwent(f)))
		if (!strcmp(pw->pw_name, name))
			break;
	if (pw) {
		snprintf(buf, len, "%s%c%s%c%s", pw->pw_name, 0, pw->pw_dir, 0, pw->pw_shell);
		*out = *pw;
		out->pw_name = buf;
		out->pw_dir = buf + strlen(buf) + 1;
		out->pw_shell = out->pw_dir + strlen(out->pw_dir) + 1;
	}
	fclose(f);
	return pw ? 0 : -1;
}

static int mount_system(void)
{
	mkdir("proc", 0555);
	mkdir("sys", 0555);
	mkdir("dev", 0755);
	mkdir("run", 0755);
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ||
	    mount("/sys", "sys", NULL, MS_BIND | MS_REC, NULL) ||
	    mount("/dev", "dev", NULL, MS_BIND | MS_REC, NULL) ||
	    mount("tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"))
		return -1;
	/* Best effort: a private pty instance, so the distro sees its own ptys only. */
	if (!mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		   "newinstance,ptmxmode=0666,mode=0620"))
		mount("dev/pts/ptmx", "dev/ptmx", NULL, MS_BIND, NULL);
	return 0;
}

static void exec_command(const struct run_options *o, const struct passwd *pw)
{
	char *login[2], argv0[300], *env[8];
	const char *base;
	int n = 0;

	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		pr_err("cannot become %s: %s", pw->pw_name, strerror(errno));
		_exit(126);
	}
	if (chdir(o->cwd && *o->cwd ? o->cwd : pw->pw_dir) && chdir("/"))
		_exit(126);
	if (asprintf(&env[n], "HOME=%s", pw->pw_dir) > 0)
		n++;
	if (asprintf(&env[n], "USER=%s", pw->pw_name) > 0)
		n++;
	if (asprintf(&env[n], "LOGNAME=%s", pw->pw_name) > 0)
		n++;
	if (asprintf(&env[n], "SHELL=%s", pw->pw_shell) > 0)
		n++;
	env[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	if (getenv("TERM") && asprintf(&env[n], "TERM=%s", getenv("TERM")) > 0)
		n++;
	env[n] = NULL;
	environ = env;
	if (!o->argc) {
		base = strrchr(pw->pw_shell, '/');
		snprintf(argv0, sizeof(argv0), "-%s", base ? base + 1 : pw->pw_shell);
		login[0] = argv0;
		login[1] = NULL;
		execv(pw->pw_shell, login);
		pr_err("%s: %s", pw->pw_shell, strerror(errno));
	} else {
		execvp(o->argv[0], o->argv);
		pr_err("%s: %s", o->argv[0], strerror(errno));
	}
	_exit(errno == ENOENT ? 127 : 126);
}

/* PID 1 of the namespace: set it up, run the command, pass on its status. */
static void namespace_init(const struct distro_record *r, const struct run_options *o,
			   const struct passwd *pw)
{
	int status;
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(r->rootfs, r->rootfs, NULL, MS_BIND | MS_REC, NULL) || chdir(r->rootfs) ||
	    mount_system() || sethostname(r->name, strlen(r->name)) || chroot(".") ||
	    chdir("/")) {
		pr_err("%s: setting up its namespaces: %s", r->name, strerror(errno));
		_exit(126);
	}
	/* Keyboard signals are for the command, not for this PID 1. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGTSTP, SIG_DFL);
		exec_command(o, pw);
	}
	for (;;) {
		pid_t done = wait(&status);

		if (done == pid)
			break;
		if (done < 0 && errno == ECHILD)
			_exit(126);
	}
	_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

int v1_run(const struct distro_record *r, const struct run_options *o)
{
	const char *user = o->user ? o->user : (*r->default_user ? r->default_user : "root");
	struct passwd pw;
	char pwbuf[1024];
	int status;
	pid_t pid;

	if (find_user(r->rootfs, user, &pw, pwbuf, sizeof(pwbuf))) {
		pr_err("%s: no user '%s' in its /etc/passwd", r->name, user);
		return 1;
	}
	/*
	 * A child unshares, so this process stays in the host's namespaces; its
	 * own child is PID 1 of the new PID namespace.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		pid_t init;

		if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC)) {
			pr_err("%s is a version 1 distro, run in namespaces on this kernel, which "
			       "needs root (or CAP_SYS_ADMIN): %s", r->name, strerror(errno));
			_exit(1);
		}
		init = fork();
		if (init == 0)
			namespace_init(r, o, &pw);
		if (init < 0 || waitpid(init, &status, 0) < 0)
			_exit(1);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
