// SPDX-License-Identifier: MIT
/* The user's utility VM: started on demand, stopped when idle (see vm.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

/* Nested KVM under emulation is slow: give a first boot plenty of time. */
#define VM_START_TIMEOUT_MS  180000
#define VM_STOP_TIMEOUT_S    30

static void runtime_path(char *dst, size_t len, const struct wsl_paths *p, const char *name)
{
	snprintf(dst, len, "%s/%s", p->runtime, name);
}

static int open_lock(const struct wsl_paths *p, const char *name)
{
	char path[600];
	int fd;

	if (mkdir_private(p->runtime))
		return -1;
	runtime_path(path, sizeof(path), p, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		pr_err("cannot open %s: %s", path, strerror(errno));
	return fd;
}

bool vm_running(const struct wsl_paths *p, char *socket, size_t len)
{
	int fd = open_lock(p, "vm.lock");
	bool running;

	if (fd < 0)
		return false;
	running = flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	if (running && socket)
		runtime_path(socket, len, p, "vsock");
	return running;
}

/* Is DISTRO among the VM's disks? */
static bool vm_has_distro(const struct wsl_paths *p, const char *distro)
{
	char path[600], line[256];
	bool found = false;
	FILE *f;

	runtime_path(path, sizeof(path), p, "vm.distros");
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, distro, strlen(distro)) && line[strlen(distro)] == ' ';
	fclose(f);
	return found;
}

static void report_crash(const struct wsl_paths *p)
{
	char path[600], why[512];
	FILE *f;

	runtime_path(path, sizeof(path), p, "vm.crashed");
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(why, sizeof(why), f)) {
		why[strcspn(why, "\n")] = '\0';
		pr_err("the last VM stopped unexpectedly (%s); starting a fresh one", why);
	}
	fclose(f);
	unlink(path);
}

int vm_shutdown(const struct wsl_paths *p)
{
	struct proto_buf b = { 0 };
	struct guest_conn c;
	struct proto_msg m;
	char socket[600];
	int fd;

	if (!vm_running(p, socket, sizeof(socket)))
		return 0;
	if (!guest_connect(&c, socket, PROTO_PORT)) {
		proto_put_empty(&b, PROTO_SHUTDOWN, c.next_id++);
		guest_request(&c, &b, &m);
		proto_buf_free(&b);
		guest_close(&c);
	}
	/* The service lets go of vm.lock when wslvm has exited. */
	fd = open_lock(p, "vm.lock");
	if (fd < 0)
		return -1;
	for (int i = 0; i < VM_STOP_TIMEOUT_S * 10; i++) {
		if (!flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd);
			return 0;
		}
		usleep(100000);
	}
	close(fd);
	pr_err("the VM did not stop within %d s", VM_STOP_TIMEOUT_S);
	return -1;
}

/* Start the service, detached, and wait for its word that the VM is ready. */
static int vm_start(const struct wsl_paths *p, const struct wsl_config *c)
{
	char msg[1024];
	int pipefd[2], status;
	ssize_t n = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC)) {
		pr_err("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/*
		 * Nothing of ours but the pipe goes with the service: in particular
		 * not our descriptors of start.lock and sessions.lock, whose locks
		 * (flock belongs to the open file, not the process) would otherwise
		 * outlive this command and block every later one and the idle check.
		 */
		close(pipefd[0]);
		close_fds_except(pipefd[1]);
		setsid();
		if (fork() == 0)
			vm_service_main(p, c, pipefd[1]);
		_exit(0);
	}
	close(pipefd[1]);
	waitpid(pid, &status, 0);
	{
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };

		if (poll(&pfd, 1, VM_START_TIMEOUT_MS) == 1)
			n = read(pipefd[0], msg, sizeof(msg) - 1);
	}
	close(pipefd[0]);
	if (n <= 0) {
		pr_err("the VM did not become ready within %d s (console: %s/vm.log)",
		       VM_START_TIMEOUT_MS / 1000, p->runtime);
		return -1;
	}
	msg[n] = '\0';
	if (strcmp(msg, "OK")) {
		pr_err("%s", msg);
		return -1;
	}
	return 0;
}

int vm_session_begin(struct vm_session *s, const struct wsl_paths *p,
		     const struct wsl_config *c, const char *distro)
{
	int start_fd;

	s->sessions_fd = open_lock(p, "sessions.lock");
	if (s->sessions_fd < 0)
		return -1;
	/* Waits while an idle VM is being shut down. */
	if (flock(s->sessions_fd, LOCK_SH)) {
		pr_err("cannot lock sessions.lock: %s", strerror(errno));
		goto fail;
	}
	start_fd = open_lock(p, "start.lock");
	if (start_fd < 0 || flock(start_fd, LOCK_EX))
		goto fail;
	report_crash(p);
	if (vm_running(p, s->socket, sizeof(s->socket)) && *distro &&
	    !vm_has_distro(p, distro)) {
		/* Imported after the VM started: a new VM attaches its disk, if no one is using this one. */
		if (flock(s->sessions_fd, LOCK_EX | LOCK_NB)) {
			pr_err("%s was imported after the VM started and other wsl commands are "
			       "running; run it when they are done, or after wsl --shutdown", distro);
			close(start_fd);
			goto fail;
		}
		vm_shutdown(p);
		flock(s->sessions_fd, LOCK_SH);
	}
	if (!vm_running(p, s->socket, sizeof(s->socket)) && vm_start(p, c)) {
		close(start_fd);
		goto fail;
	}
	runtime_path(s->socket, sizeof(s->socket), p, "vsock");
	close(start_fd);
	return 0;
fail:
	close(s->sessions_fd);
	s->sessions_fd = -1;
	return -1;
}

void vm_session_end(struct vm_session *s)
{
	if (s->sessions_fd >= 0)
		close(s->sessions_fd);
	s->sessions_fd = -1;
}
