// SPDX-License-Identifier: MIT
/*
 * The guest side of wslvm's KVM tests: a static PID 1 that signals ready,
 * exercises the devices named in its environment and reports each check
 * on the console as "wslvm-test: ok NAME" or "wslvm-test: FAIL NAME: why".
 *
 * The kernel passes unknown "key=value" parameters of its command line to
 * init as environment variables, so the test picks the checks with
 *
 *   wslvm_test=console,rng,blk,ext4,hvc,vsock,balloon   checks to run, in order
 *   wslvm_end=poweroff|panic|reset          how to end (default poweroff)
 *   wslvm_serial=ID                         the serial /dev/vda must have
 *   wslvm_hold=SECONDS                      wait before ending (to be measured)
 *
 * The check "blkbench" (not a test: it overwrites /dev/vda) prints the
 * sequential write and read throughput of /dev/vda for bench/.
 *
 * After the checks it powers off (or panics, or resets) as asked; when a
 * check failed it resets instead of powering off, so wslvm's exit status
 * tells too.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/vm_sockets.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../layout.h"

#define SECTOR 512
/*
 * What the host put in /dev/vda's first sector, and what we write to the
 * next one (in the same, already allocated, 4 KiB of the host file).
 */
#define BLK_HOST_PATTERN "wslvm-blk-host-pattern"
#define BLK_GUEST_PATTERN "wslvm-blk-guest-wrote-this"
#define BLK_GUEST_SECTOR 1
/* 1 MiB the host filled with data, which we discard / zero. */
#define BLK_DISCARD_OFFSET (1 << 20)
#define BLK_ZEROES_OFFSET (2 << 20)
#define BLK_RANGE_LEN (1 << 20)

#define VSOCK_GUEST_PORT 1234	/* the host connects here */
#define VSOCK_HOST_PORT 5678	/* we connect there */

static bool failed;

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDOUT_FILENO, buf, n) < 0)
		return;
}

static void ok(const char *name)
{
	say("wslvm-test: ok %s", name);
}

static void fail(const char *name, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	say("wslvm-test: FAIL %s: %s", name, why);
	failed = true;
}

/* Before the console works, the kernel log is the only way out. */
static void kmsg(const char *what, int err)
{
	char buf[200];
	int fd = open("/dev/kmsg", O_WRONLY);
	int n = snprintf(buf, sizeof(buf), "<3>wslvm-test: %s: %s\n", what, strerror(err));

	if (fd >= 0 && write(fd, buf, n) < 0)
		return;
	if (fd >= 0)
		close(fd);
}

static void setup(void)
{
	int fd;

	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/mnt", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0)
		kmsg("mounting devtmpfs on /dev", errno);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		kmsg("opening /dev/console", errno);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/*
 * A kernel whose drivers are modules (a distribution's, booted with
 * wslvm --acpi-devices) finds them in /modules, loaded in the order the
 * file /modules/order lists them.
 */
static void load_modules(void)
{
	FILE *order = fopen("/modules/order", "r");
	char line[128], path[160];
	int fd;

	if (!order)
		return;
	while (fgets(line, sizeof(line), order)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "/modules/%s", line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0)
			fail("modules", "loading %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	fclose(order);
}

/*
 * The ready port, or where the kernel has no ioperm() (no
 * CONFIG_X86_IOPL_IOPERM), a vsock connection to the host, which wslvm
 * also counts as ready: nobody need listen, the attempt is the signal.
 */
static void signal_ready(void)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = PORT_READY,
	};
	int fd;

	if (ioperm(PORT_READY, 1, 1) == 0) {
		outb(1, PORT_READY);
		ok("ready");
		return;
	}
	if (errno != ENOSYS) {
		fail("ready", "ioperm(0x%x): %s", PORT_READY, strerror(errno));
		return;
	}
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("ready", "no ioperm() and no vsock: %s", strerror(errno));
		return;
	}
	connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	ok("ready");
}

static void check_console(void)
{
	char line[128];
	ssize_t n;

	say("wslvm-test: waiting for console input");
	n = read(STDIN_FILENO, line, sizeof(line) - 1);
	if (n <= 0) {
		fail("console", "reading the console: %s", n < 0 ? strerror(errno) : "end of file");
		return;
	}
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	say("wslvm-test: console got '%s'", line);
	ok("console");
}

static void check_rng(void)
{
	uint8_t buf[64];
	char current[64] = "";
	ssize_t n;
	int fd, i, nonzero = 0;

	fd = open("/sys/class/misc/hw_random/rng_current", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, current, sizeof(current) - 1);
		current[n > 0 ? n : 0] = '\0';
		current[strcspn(current, "\n")] = '\0';
		close(fd);
	}
	if (strncmp(current, "virtio_rng", 10)) {
		fail("rng", "the current hardware RNG is '%s', not virtio_rng", current);
		return;
	}
	fd = open("/dev/hwrng", O_RDONLY);
	if (fd < 0) {
		fail("rng", "opening /dev/hwrng: %s", strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != sizeof(buf)) {
		fail("rng", "read %zd of %zu bytes from /dev/hwrng", n, sizeof(buf));
		return;
	}
	for (i = 0; i < (int)sizeof(buf); i++)
		nonzero += buf[i] != 0;
	if (nonzero < 32) {
		fail("rng", "only %d of 64 bytes from virtio-rng are nonzero", nonzero);
		return;
	}
	say("wslvm-test: rng gave 64 bytes, %d nonzero", nonzero);
	ok("rng");
}

static bool read_sysfs(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

static void check_blk(void)
{
	const char *serial = getenv("wslvm_serial");
	char got_serial[64], *buf;
	uint64_t range[2];
	int fd;

	if (serial) {
		if (!read_sysfs("/sys/block/vda/serial", got_serial, sizeof(got_serial)))
			fail("blk serial", "reading /sys/block/vda/serial: %s", strerror(errno));
		else if (strcmp(got_serial, serial))
			fail("blk serial", "/dev/vda's serial is '%s', not '%s'", got_serial, serial);
		else
			ok("blk serial");
	}
	/* Direct I/O, so the requests reach the device now: aligned buffers. */
	if (posix_memalign((void **)&buf, 4096, SECTOR)) {
		fail("blk", "no memory");
		return;
	}
	fd = open("/dev/vda", O_RDWR | O_DIRECT);
	if (fd < 0) {
		fail("blk", "opening /dev/vda: %s", strerror(errno));
		free(buf);
		return;
	}
	if (pread(fd, buf, SECTOR, 0) != SECTOR)
		fail("blk read", "reading sector 0: %s", strerror(errno));
	else if (memcmp(buf, BLK_HOST_PATTERN, strlen(BLK_HOST_PATTERN)))
		fail("blk read", "sector 0 does not start with the host's pattern");
	else
		ok("blk read");

	memset(buf, 0, SECTOR);
	strcpy(buf, BLK_GUEST_PATTERN);
	if (pwrite(fd, buf, SECTOR, BLK_GUEST_SECTOR * SECTOR) != SECTOR)
		fail("blk write and flush", "writing sector %d: %s", BLK_GUEST_SECTOR, strerror(errno));
	else if (fsync(fd) < 0)
		fail("blk write and flush", "fsync: %s", strerror(errno));
	else
		ok("blk write and flush");

	range[0] = BLK_DISCARD_OFFSET;
	range[1] = BLK_RANGE_LEN;
	if (ioctl(fd, BLKDISCARD, range) < 0)
		fail("blk discard", "BLKDISCARD: %s", strerror(errno));
	else
		ok("blk discard");
	range[0] = BLK_ZEROES_OFFSET;
	if (ioctl(fd, BLKZEROOUT, range) < 0)
		fail("blk write-zeroes", "BLKZEROOUT: %s", strerror(errno));
	else
		ok("blk write-zeroes");
	close(fd);
	free(buf);
}

/* A file system on /dev/vdb: write a file, trim, unmount; the host checks it. */
static void check_ext4(void)
{
	struct fstrim_range trim = { .len = UINT64_MAX };
	const char text[] = "written by the guest through virtio-blk\n";
	int fd;

	if (mount("/dev/vdb", "/mnt", "ext4", 0, "discard") < 0) {
		fail("ext4", "mounting /dev/vdb: %s", strerror(errno));
		return;
	}
	unlink("/mnt/filler");
	fd = open("/mnt/hello.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, sizeof(text) - 1) != sizeof(text) - 1 || fsync(fd) < 0)
		fail("ext4 write", "writing /mnt/hello.txt: %s", strerror(errno));
	else
		ok("ext4 write");
	if (fd >= 0)
		close(fd);
	sync();
	fd = open("/mnt", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || ioctl(fd, FITRIM, &trim) < 0)
		fail("ext4 fstrim", "FITRIM on /mnt: %s", strerror(errno));
	else
		say("wslvm-test: fstrim trimmed %llu bytes", (unsigned long long)trim.len), ok("ext4 fstrim");
	if (fd >= 0)
		close(fd);
	if (umount("/mnt") < 0)
		fail("ext4 umount", "unmounting /mnt: %s", strerror(errno));
}

static bool write_all(int fd, const char *s);

/* What we write to /dev/hvc0 shows up in the host's --hvc file. */
static void check_hvc(void)
{
	int fd = open("/dev/hvc0", O_WRONLY | O_NOCTTY);

	if (fd < 0) {
		fail("hvc", "opening /dev/hvc0: %s", strerror(errno));
		return;
	}
	if (!write_all(fd, "wslvm-hvc: hello through virtio-console\n"))
		fail("hvc", "writing /dev/hvc0: %s", strerror(errno));
	else if (tcdrain(fd) < 0 && errno != ENOTTY)
		fail("hvc", "draining /dev/hvc0: %s", strerror(errno));
	else
		ok("hvc");
	close(fd);
}

static bool write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	return write(fd, s, len) == (ssize_t)len;
}

static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n < size - 1) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)n;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return n;
}

/* The host connects to us, sends a line, and gets it back with a prefix. */
static void check_vsock_listen(void)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = VSOCK_GUEST_PORT,
	};
	char line[256], reply[300];
	int lfd, fd;

	lfd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lfd, 1) < 0) {
		fail("vsock listen", "listening on vsock port %d: %s", VSOCK_GUEST_PORT,
		     strerror(errno));
		return;
	}
	say("wslvm-test: vsock listening on port %d", VSOCK_GUEST_PORT);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		fail("vsock host-to-guest", "accept: %s", strerror(errno));
		close(lfd);
		return;
	}
	if (read_line(fd, line, sizeof(line)) <= 0) {
		fail("vsock host-to-guest", "reading from the host: %s", strerror(errno));
	} else {
		snprintf(reply, sizeof(reply), "guest heard: %s", line);
		if (!write_all(fd, reply))
			fail("vsock host-to-guest", "answering the host: %s", strerror(errno));
		else
			ok("vsock host-to-guest");
	}
	close(fd);
	close(lfd);
}

/* We connect to the host, send a line, and expect it back with a prefix. */
static void check_vsock_connect(void)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = VSOCK_HOST_PORT,
	};
	char line[256];
	int fd;

	fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fail("vsock guest-to-host", "connecting to host port %d: %s", VSOCK_HOST_PORT,
		     strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!write_all(fd, "hello from the guest\n") || read_line(fd, line, sizeof(line)) <= 0)
		fail("vsock guest-to-host", "talking to the host: %s", strerror(errno));
	else if (strcmp(line, "host heard: hello from the guest\n"))
		fail("vsock guest-to-host", "the host answered '%s'", line);
	else
		ok("vsock guest-to-host");
	close(fd);
}

/*
 * Memory given back to the host, driven by the host over the console: when
 * it sends "touch" we touch BALLOON_BYTES ("balloon touched"), and free
 * them when it sends "free" ("balloon freed"); the host watches wslvm shrink and
 * inflates and deflates the balloon; on "end" we check that memory we kept
 * all along still holds what we wrote (nothing of ours was released) and
 * that memory is ours to use again.
 */
#define BALLOON_BYTES (512UL << 20)
#define BALLOON_KEEP_BYTES (32UL << 20)
#define BALLOON_AGAIN_BYTES (256UL << 20)

static bool balloon_driver_bound(void)
{
	DIR *d = opendir("/sys/bus/virtio/drivers/virtio_balloon");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "virtio", 6))
			found = true;
	closedir(d);
	return found;
}

/* Waits for the host to send a line on the console; false on another one. */
static bool balloon_wait_for(const char *want)
{
	char line[64];
	ssize_t n = read(STDIN_FILENO, line, sizeof(line) - 1);

	if (n <= 0) {
		fail("balloon", "waiting for '%s' on the console: %s", want,
		     n < 0 ? strerror(errno) : "end of file");
		return false;
	}
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, want)) {
		fail("balloon", "the host sent '%s', not '%s'", line, want);
		return false;
	}
	return true;
}

static uint64_t balloon_pattern(size_t i)
{
	return (i * 0x9e3779b97f4a7c15ULL) ^ 0x5157534c6b656570ULL;
}

/* Touches every page of a fresh mapping; NULL when there is none. */
static uint8_t *balloon_touch(size_t len)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off;

	if (p == MAP_FAILED)
		return NULL;
	for (off = 0; off < len; off += 4096)
		p[off] = 1;
	return p;
}

static void check_balloon(void)
{
	uint64_t *keep;
	uint8_t *big;
	size_t i, words = BALLOON_KEEP_BYTES / sizeof(uint64_t), bad = 0;

	if (!balloon_driver_bound()) {
		fail("balloon", "no device is bound to the virtio_balloon driver");
		return;
	}
	ok("balloon driver");
	keep = mmap(NULL, BALLOON_KEEP_BYTES, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (keep == MAP_FAILED) {
		fail("balloon", "allocating memory: %s", strerror(errno));
		return;
	}
	for (i = 0; i < words; i++)
		keep[i] = balloon_pattern(i);
	say("wslvm-test: balloon waiting to touch");
	if (!balloon_wait_for("touch"))
		return;
	big = balloon_touch(BALLOON_BYTES);
	if (!big) {
		fail("balloon", "allocating %lu MiB: %s", BALLOON_BYTES >> 20, strerror(errno));
		return;
	}
	say("wslvm-test: balloon touched %lu MiB", BALLOON_BYTES >> 20);
	if (!balloon_wait_for("free"))
		return;
	munmap(big, BALLOON_BYTES);
	say("wslvm-test: balloon freed %lu MiB", BALLOON_BYTES >> 20);
	if (!balloon_wait_for("end"))
		return;
	for (i = 0; i < words; i++)
		bad += keep[i] != balloon_pattern(i);
	if (bad)
		fail("balloon kept memory", "%zu of %zu words we kept changed", bad, words);
	else
		ok("balloon kept memory");
	big = balloon_touch(BALLOON_AGAIN_BYTES);
	if (!big) {
		fail("balloon memory again", "allocating %lu MiB again: %s",
		     BALLOON_AGAIN_BYTES >> 20, strerror(errno));
		return;
	}
	munmap(big, BALLOON_AGAIN_BYTES);
	ok("balloon memory again");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sequential 1 MiB writes then reads of BENCH_BYTES on /dev/vda, direct I/O. */
#define BENCH_BYTES (32 << 20)
#define BENCH_CHUNK (1 << 20)

static void bench_blk(void)
{
	double t0, t_write, t_read;
	void *buf;
	off_t off;
	int fd;

	if (posix_memalign(&buf, 4096, BENCH_CHUNK)) {
		fail("blkbench", "no memory");
		return;
	}
	memset(buf, 0x5a, BENCH_CHUNK);
	fd = open("/dev/vda", O_RDWR | O_DIRECT);
	if (fd < 0) {
		fail("blkbench", "opening /dev/vda: %s", strerror(errno));
		free(buf);
		return;
	}
	t0 = now_s();
	for (off = 0; off < BENCH_BYTES; off += BENCH_CHUNK)
		if (pwrite(fd, buf, BENCH_CHUNK, off) != BENCH_CHUNK)
			break;
	fsync(fd);
	t_write = now_s() - t0;
	t0 = now_s();
	for (off = 0; off < BENCH_BYTES; off += BENCH_CHUNK)
		if (pread(fd, buf, BENCH_CHUNK, off) != BENCH_CHUNK)
			break;
	t_read = now_s() - t0;
	close(fd);
	free(buf);
	if (off < BENCH_BYTES) {
		fail("blkbench", "short transfer at byte %lld: %s", (long long)off, strerror(errno));
		return;
	}
	say("wslvm-test: blkbench write %.1f MB/s read %.1f MB/s",
	    BENCH_BYTES / 1e6 / t_write, BENCH_BYTES / 1e6 / t_read);
	ok("blkbench");
}

static void run_check(const char *name)
{
	if (!strcmp(name, "console"))
		check_console();
	else if (!strcmp(name, "rng"))
		check_rng();
	else if (!strcmp(name, "blk"))
		check_blk();
	else if (!strcmp(name, "ext4"))
		check_ext4();
	else if (!strcmp(name, "hvc"))
		check_hvc();
	else if (!strcmp(name, "balloon"))
		check_balloon();
	else if (!strcmp(name, "blkbench"))
		bench_blk();
	else if (!strcmp(name, "vsock")) {
		check_vsock_listen();
		check_vsock_connect();
	} else
		fail(name, "no such check");
}

int main(void)
{
	const char *checks = getenv("wslvm_test");
	const char *end = getenv("wslvm_end");
	const char *hold = getenv("wslvm_hold");
	char *list, *name, *save = NULL;

	setup();
	say("wslvm-test: init up");
	load_modules();
	signal_ready();
	if (checks) {
		list = strdup(checks);
		for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save))
			run_check(name);
		free(list);
	}
	sync();
	say("wslvm-test: done, %s", failed ? "some checks failed" : "all checks passed");
	if (hold)
		sleep(atoi(hold));
	if (end && !strcmp(end, "panic"))
		return 1;	/* PID 1 exiting panics the kernel */
	if (failed || (end && !strcmp(end, "reset")))
		reboot(RB_AUTOBOOT);
	reboot(RB_POWER_OFF);
	return 0;
}
