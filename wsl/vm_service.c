// SPDX-License-Identifier: MIT
/*
 * The background service that owns the user's VM: it runs wslvm with the
 * distros' disks, tells the starting wsl command when the init is ready,
 * and stops the VM after vmIdleTimeout with no wsl command running.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "mounts.h"
#include "vm.h"

#define VM_READY_TIMEOUT_MS 180000
#define VM_STOP_TIMEOUT_S   30
#define VM_MAX_DISKS	    8	/* wslvm's limit of virtio-blk disks */
/* wslvm --net's NAT: the guest's fixed address, its gateway and DNS relay. */
#define VM_NET_CMDLINE	    "wsl.address=10.0.2.15/24 wsl.gateway=10.0.2.2 wsl.dns=10.0.2.3"

struct service {
	const struct wsl_paths *p;
	const struct wsl_config *c;
	int ready_fd;
	pid_t vmm;
};

static void runtime_path(char *dst, size_t len, const struct wsl_paths *p, const char *name)
{
	snprintf(dst, len, "%s/%s", p->runtime, name);
}

/* Tell the starting command why we failed, and stop. */
static void __attribute__((noreturn, format(printf, 2, 3)))
service_fail(struct service *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->ready_fd >= 0 && write(s->ready_fd, msg, n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1) < 0)
		_exit(1);
	if (s->vmm > 0)
		kill(s->vmm, SIGKILL);
	_exit(1);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -1;
	strcpy(addr.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 4)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The host's name, made safe for the kernel command line. */
static void vm_hostname(char *dst, size_t len)
{
	char host[64] = "wsl";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (char *h = host; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '-')
			*h = '-';
	snprintf(dst, len, "%s", host);
}

static char *arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *arg(const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Start wslvm with every version-2 distro's disk; record which. */
static void start_vmm(struct service *s)
{
	char *argv[24 + 2 * VM_MAX_DISKS], cmdline[4096], host[64], path[600], log[600];
	char distros_text[4096] = "";
	struct distro_record *list;
	struct store st;
	int n, argc = 0, disks = 0, len, logfd;

	if (access("/dev/kvm", R_OK | W_OK))
		service_fail(s, "/dev/kvm is not usable here (%s): enable virtualization in the "
			     "firmware, load kvm-intel or kvm-amd, and join the kvm group",
			     strerror(errno));
	if (access(s->c->kernel, R_OK))
		service_fail(s, "the kernel %s is missing (set kernel= in %s, or run make)",
			     s->c->kernel, s->p->config);
	if (access(s->c->initramfs, R_OK))
		service_fail(s, "the initramfs %s is missing (set initramfs= in %s, or run make)",
			     s->c->initramfs, s->p->config);
	vm_hostname(host, sizeof(host));
	len = snprintf(cmdline, sizeof(cmdline), "quiet wsl.hostname=%s wsl.reclaim=%s %s", host,
		       s->c->auto_memory_reclaim, VM_NET_CMDLINE);

	argv[argc++] = arg("%s/wslvm", s->p->exe_dir);
	argv[argc++] = "--kernel";
	argv[argc++] = (char *)s->c->kernel;
	argv[argc++] = "--initrd";
	argv[argc++] = (char *)s->c->initramfs;
	argv[argc++] = "--memory";
	argv[argc++] = arg("%lluM", (unsigned long long)(s->c->memory >> 20));
	argv[argc++] = "--cpus";
	argv[argc++] = arg("%u", s->c->processors);
	argv[argc++] = "--vsock";
	argv[argc++] = arg("%s/vsock", s->p->runtime);
	argv[argc++] = "--rng";
	/* Free page reporting: what the guest frees goes back to this machine. */
	argv[argc++] = "--balloon";
	/* The distros' network: user-mode NAT, this machine's loopback at 10.0.2.2. */
	argv[argc++] = "--net";

	if (store_open(&st, s->p, false))
		service_fail(s, "cannot read the distro store");
	list = store_list(&st, &n);
	store_close(&st);
	for (int i = 0; i < n && disks < VM_MAX_DISKS; i++) {
		if (list[i].version != 2)
			continue;
		argv[argc++] = "--disk";
		argv[argc++] = arg("%s,serial=wsl-%d", list[i].disk, disks);
		len += snprintf(cmdline + len, sizeof(cmdline) - len, " wsl.distro=%s:wsl-%d",
				list[i].name, disks);
		snprintf(distros_text + strlen(distros_text),
			 sizeof(distros_text) - strlen(distros_text), "%s wsl-%d\n", list[i].name,
			 disks);
		disks++;
	}
	free(list);
	if (s->c->kernel_command_line[0])
		snprintf(cmdline + len, sizeof(cmdline) - len, " %s", s->c->kernel_command_line);
	argv[argc++] = "--cmdline";
	argv[argc++] = cmdline;
	argv[argc] = NULL;

	runtime_path(path, sizeof(path), s->p, "vm.distros");
	{
		FILE *f = fopen(path, "we");

		if (!f)
			service_fail(s, "cannot write %s: %s", path, strerror(errno));
		fputs(distros_text, f);
		fclose(f);
	}
	runtime_path(log, sizeof(log), s->p, "vm.log");
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	s->vmm = fork();
	if (s->vmm == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv(argv[0], argv);
		dprintf(2, "wsl: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (logfd >= 0)
		close(logfd);
	if (s->vmm < 0)
		service_fail(s, "fork: %s", strerror(errno));
}

static void last_log_line(const struct wsl_paths *p, char *line, size_t len)
{
	char path[600], buf[512];
	FILE *f;

	line[0] = '\0';
	runtime_path(path, sizeof(path), p, "vm.log");
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		if (buf[0] != '\n')
			snprintf(line, len, "%s", buf);
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
}

static void wait_ready(struct service *s, int listener)
{
	uint8_t *buf = malloc(PROTO_MAX_MESSAGE);
	struct timespec start, now;
	char last[512];
	int status;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = listener, .events = POLLIN };
		struct proto_msg m;
		uint32_t version;

		if (waitpid(s->vmm, &status, WNOHANG) == s->vmm) {
			s->vmm = 0;
			last_log_line(s->p, last, sizeof(last));
			service_fail(s, "the VM stopped while booting (wslvm exit status %d): %s",
				     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				     last);
		}
		if (poll(&pfd, 1, 100) == 1) {
			int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

			if (conn >= 0 && buf && proto_recv(conn, buf, &m) == 1 &&
			    m.type == PROTO_READY && !proto_get_u32(&m, &version)) {
				close(conn);
				if (version != PROTO_VERSION)
					service_fail(s, "protocol version mismatch: this wsl speaks %u, "
						     "the VM's init %u (reinstall one of them)",
						     PROTO_VERSION, version);
				free(buf);
				return;
			}
			if (conn >= 0)
				close(conn);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 > VM_READY_TIMEOUT_MS)
			service_fail(s, "the VM's init did not report ready within %d s "
				     "(console: %s/vm.log)", VM_READY_TIMEOUT_MS / 1000, s->p->runtime);
	}
}

static void cleanup_runtime(const struct wsl_paths *p)
{
	static const char *const names[] = { "vm.distros", "vsock", "vsock_5001", "vsock_5002" };
	char path[600];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		runtime_path(path, sizeof(path), p, names[i]);
		unlink(path);
	}
}

static void record_crash(const struct wsl_paths *p, int status)
{
	char path[600], last[512];
	FILE *f;

	runtime_path(path, sizeof(path), p, "vm.crashed");
	last_log_line(p, last, sizeof(last));
	f = fopen(path, "we");
	if (!f)
		return;
	if (WIFSIGNALED(status))
		fprintf(f, "wslvm was killed by signal %d; last console line: %s\n",
			WTERMSIG(status), last);
	else
		fprintf(f, "wslvm exit status %d; last console line: %s\n", WEXITSTATUS(status),
			last);
	fclose(f);
}

/* Ask the init to power off; if it does not within the limit, kill wslvm. */
static void stop_vm(struct service *s)
{
	struct proto_buf b = { 0 };
	struct guest_conn c;
	struct proto_msg m;
	char sock[600];
	int status;

	runtime_path(sock, sizeof(sock), s->p, "vsock");
	if (!guest_connect(&c, sock, PROTO_PORT)) {
		proto_put_empty(&b, PROTO_SHUTDOWN, c.next_id++);
		guest_request(&c, &b, &m);
		proto_buf_free(&b);
		guest_close(&c);
	}
	for (int i = 0; i < VM_STOP_TIMEOUT_S * 10; i++) {
		if (waitpid(s->vmm, &status, WNOHANG) == s->vmm)
			return;
		usleep(100000);
	}
	kill(s->vmm, SIGKILL);
	waitpid(s->vmm, &status, 0);
}

/*
 * The service's life after the VM is ready: forward localhost ports, reap
 * relays, and watch for idleness.  Idle means no wsl command holds
 * sessions.lock and no distro of this VM is mounted (wsl --mount: the
 * mount is made under a shared sessions.lock, so holding it exclusively
 * makes the count exact).  When the VM has been idle for vmIdleTimeout we keep that
 * lock while stopping it, so a command arriving meanwhile waits and then
 * starts a fresh VM.
 */
static void serve(struct service *s, int sessions_fd, struct forwarder *fw)
{
	struct pollfd p[FORWARD_MAX_PORTS + 2];
	time_t idle_since = 0, last_check = 0;
	int status, n;
	pid_t pid;

	for (;;) {
		n = fw ? forwarder_pollfds(fw, p, FORWARD_MAX_PORTS + 2) : 0;
		if (poll(p, n, 1000) > 0 && fw)
			forwarder_handle(fw, p, n);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != s->vmm)
				continue; /* a relay */
			/* Powered off (wsl --shutdown) is an end; anything else is a crash. */
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				record_crash(s->p, status);
			return;
		}
		if (time(NULL) == last_check)
			continue;
		last_check = time(NULL);
		if (flock(sessions_fd, LOCK_EX | LOCK_NB)) {
			idle_since = 0;
			continue;
		}
		if (wsl_mounts_of(s->p->runtime)) {
			flock(sessions_fd, LOCK_UN);
			idle_since = 0;
			continue;
		}
		if (!idle_since)
			idle_since = last_check;
		if ((last_check - idle_since) * 1000 >= (time_t)s->c->vm_idle_timeout_ms) {
			stop_vm(s);
			return;
		}
		flock(sessions_fd, LOCK_UN);
	}
}

void vm_service_main(const struct wsl_paths *p, const struct wsl_config *c, int ready_fd)
{
	struct service s = { .p = p, .c = c, .ready_fd = ready_fd };
	struct forwarder fw;
	char path[600];
	int lock_fd, sessions_fd, listener, null;

	/* vm_start() left us only stdio and ready_fd (see there why). */
	null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(null, 1);
	/* stderr stays until ready: a failure to start is reported through ready_fd. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	runtime_path(path, sizeof(path), p, "vm.lock");
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB))
		service_fail(&s, "another VM is already starting or running (%s)", path);
	runtime_path(path, sizeof(path), p, "sessions.lock");
	sessions_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	runtime_path(path, sizeof(path), p, "vsock_5001");
	listener = listen_unix(path);
	if (sessions_fd < 0 || listener < 0)
		service_fail(&s, "cannot set up %s: %s", p->runtime, strerror(errno));

	if (c->localhost_forwarding) {
		char vsock[600];

		runtime_path(vsock, sizeof(vsock), p, "vsock");
		runtime_path(path, sizeof(path), p, "vsock_5002");
		if (forwarder_init(&fw, vsock, path))
			service_fail(&s, "cannot listen on %s: %s", path, strerror(errno));
	}
	start_vmm(&s);
	wait_ready(&s, listener);
	close(listener);
	if (write(ready_fd, "OK", 2) != 2)
		service_fail(&s, "the starting command went away");
	close(ready_fd);
	s.ready_fd = -1;
	dup2(null, 2);

	serve(&s, sessions_fd, c->localhost_forwarding ? &fw : NULL);
	if (c->localhost_forwarding)
		forwarder_close(&fw);
	cleanup_runtime(p);
	_exit(0);
}
