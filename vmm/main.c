// SPDX-License-Identifier: MIT
/*
 * wslvm: boots a Linux kernel directly in a KVM virtual machine with an
 * 8250 console and virtio-mmio devices, and ends with the guest's verdict
 * as its exit status.  See vmm/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "boot.h"
#include "control.h"
#include "devices.h"
#include "layout.h"
#include "loop.h"
#include "vcpu.h"
#include "virtio.h"
#include "virtio_devices.h"
#include "vmm.h"

#define DEFAULT_MEMORY	(256 * MiB)
#define MAX_MEMORY	(1024 * GiB)
#define MAX_CPUS	254	/* APIC IDs are a byte; the I/O APIC takes the next */
#define MAX_DISKS	8
#define DEFAULT_VSOCK_CID 3
/* Locally administered, unicast: 02 then "WSLVM". */
static const uint8_t default_mac[6] = { 0x02, 0x57, 0x53, 0x4c, 0x56, 0x4d };

static void usage(FILE *out)
{
	fprintf(out,
"Usage: wslvm --kernel KERNEL [OPTIONS]\n"
"\n"
"Boots KERNEL (a bzImage, or a vmlinux with a PVH entry note) directly in a\n"
"KVM virtual machine whose console is an 8250 UART on this terminal, and\n"
"exits with the guest's verdict.\n"
"\n"
"Options:\n"
"  -k, --kernel PATH        the kernel: bzImage, or vmlinux ELF (PVH entry)\n"
"  -i, --initrd PATH        an initramfs for the kernel\n"
"  -c, --cmdline TEXT       appended to the kernel command line wslvm builds\n"
"  -m, --memory SIZE        guest RAM: MiB, or with a suffix M or G (default 256M)\n"
"  -p, --cpus N             vCPUs (default 1, at most %d)\n"
"      --hugepages          back guest RAM with huge pages\n"
"  -d, --disk PATH[,ro][,serial=ID]\n"
"                           a virtio-blk disk on a VHDX or raw image; the guest finds\n"
"                           it by ID in /sys/block/vdX/serial (repeatable, %d)\n"
"  -s, --share TAG=PATH[,ro]\n"
"                           share the host directory PATH over virtio-9p; the\n"
"                           guest mounts it with 'mount -t 9p -o trans=virtio,\n"
"                           version=9p2000.L TAG DIR'; ro refuses every change\n"
"                           (repeatable, %d)\n"
"      --rng                a virtio-rng device fed from the host's getrandom()\n"
"      --hvc PATH           a virtio-console (the guest's /dev/hvc0) whose\n"
"                           output is written to PATH\n"
"      --acpi-devices       announce the virtio devices in the ACPI DSDT instead\n"
"                           of the command line (for kernels without\n"
"                           CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES)\n"
"      --vsock PATH[,cid=N] a virtio-vsock device (guest CID N, default %d) whose\n"
"                           host side is the Unix socket PATH: connect and send\n"
"                           \"CONNECT <port>\\n\" to reach a guest port; guest\n"
"                           connections to the host's port P go to PATH_P\n"
"      --balloon            a virtio-balloon device: memory the guest frees is\n"
"                           given back to the host within seconds (free page\n"
"                           reporting), and the control socket's \"balloon set\n"
"                           MIB\" takes MIB from the guest (\"balloon\": its stats)\n"
"      --net[=OPTS]         a virtio-net device on a user-mode NAT (libslirp): the\n"
"                           guest gets 10.0.2.15 by DHCP, reaches the host's\n"
"                           loopback as 10.0.2.2 and its DNS resolvers as\n"
"                           10.0.2.3; OPTS, comma-separated:\n"
"                             mac=XX:XX:XX:XX:XX:XX  (default 02:57:53:4c:56:4d)\n"
"                             forward=tcp|udp:HOSTPORT:GUESTPORT  forwards\n"
"                             127.0.0.1:HOSTPORT to the guest (repeatable, %d);\n"
"                           forwards also come and go on the control socket\n"
"      --control PATH       a control socket (owner-only) at PATH: one request\n"
"                           a line (help, stats, stop, and the devices'), each\n"
"                           answered by lines ending in \"ok\" or \"error: WHY\"\n"
"  -t, --boot-time          print the time from wslvm's start to the guest's\n"
"                           ready signal (a write to port 0x%x)\n"
"  -h, --help               show this help\n"
"\n"
"Exit status: 0 the guest powered off; 1 wslvm failed; 2 bad usage;\n"
"3 the guest reset (reboot, or a panic with panic=-1); 4 the guest crashed\n"
"a vCPU; 5 stopped by a signal or the control socket.\n",
		MAX_CPUS, MAX_DISKS, VIRTIO_9P_MAX_SHARES, DEFAULT_VSOCK_CID, NET_START_FORWARDS_MAX,
		PORT_READY);
}

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("wslvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try --help)\n", stderr);
	exit(EXIT_USAGE);
}

static uint64_t parse_memory(const char *arg)
{
	unsigned long long n;
	uint64_t unit = MiB;
	char *end;

	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno || end == arg || *arg == '-')
		usage_error("--memory '%s' is not a size", arg);
	if (*end == 'M' || *end == 'm')
		end++;
	else if (*end == 'G' || *end == 'g')
		unit = GiB, end++;
	if (*end)
		usage_error("--memory '%s' is not a size (MiB, or a number with M or G)", arg);
	if (n > MAX_MEMORY / unit)
		usage_error("--memory %s is more than wslvm gives a guest (%llu GiB)", arg,
			    MAX_MEMORY / GiB);
	if (n * unit < LAYOUT_MIN_MEMORY)
		usage_error("--memory %s is too little: a guest needs at least %llu MiB", arg,
			    LAYOUT_MIN_MEMORY / MiB);
	return n * unit;
}

static unsigned int parse_cpus(const char *arg)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || n < 1 || n > MAX_CPUS)
		usage_error("--cpus '%s' is not a number from 1 to %d", arg, MAX_CPUS);
	return n;
}

static void parse_disk(char *arg, struct blk_options *d)
{
	char *opt, *save = NULL;

	d->path = strtok_r(arg, ",", &save);
	if (!d->path || !*d->path)
		usage_error("--disk needs a path");
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strcmp(opt, "ro"))
			d->read_only = true;
		else if (!strncmp(opt, "serial=", 7))
			d->serial = opt + 7;
		else
			usage_error("--disk %s: unknown option '%s' (ro, serial=ID)", d->path, opt);
	}
}

static void parse_share(char *arg, struct share_options *sh)
{
	char *eq = strchr(arg, '='), *comma;
	size_t len;

	if (!eq)
		usage_error("--share '%s' is not TAG=PATH[,ro]", arg);
	*eq = '\0';
	sh->tag = arg;
	sh->path = eq + 1;
	len = strlen(sh->tag);
	if (!len || len > VIRTIO_9P_MAX_TAG)
		usage_error("--share: the tag '%s' must be 1 to %d bytes", sh->tag,
			    VIRTIO_9P_MAX_TAG);
	if (strpbrk(sh->tag, ", \t\n"))
		usage_error("--share: the tag '%s' holds a comma or a space", sh->tag);
	comma = strrchr(sh->path, ',');
	if (comma && !strcmp(comma, ",ro")) {
		*comma = '\0';
		sh->read_only = true;
	}
	if (!*sh->path)
		usage_error("--share %s: no path", sh->tag);
}

static void parse_vsock(char *arg, const char **path, uint64_t *cid)
{
	char *comma = strchr(arg, ',');
	char *end;

	*path = arg;
	*cid = DEFAULT_VSOCK_CID;
	if (!comma)
		return;
	*comma = '\0';
	if (strncmp(comma + 1, "cid=", 4))
		usage_error("--vsock %s: unknown option '%s' (cid=N)", arg, comma + 1);
	errno = 0;
	*cid = strtoull(comma + 5, &end, 10);
	/* 0-2 are the hypervisor, local and host; 2^32-1 is "any". */
	if (errno || end == comma + 5 || *end || *cid < 3 || *cid >= 0xffffffffULL)
		usage_error("--vsock %s: cid '%s' is not a number from 3 to 4294967294", arg,
			    comma + 5);
}

static void parse_mac(const char *arg, uint8_t mac[6])
{
	unsigned int b[6];
	char extra;
	int i;

	if (sscanf(arg, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &extra) != 6 || strlen(arg) != 17)
		usage_error("--net mac=%s is not a MAC address (XX:XX:XX:XX:XX:XX)", arg);
	if (b[0] & 1)
		usage_error("--net mac=%s is a multicast address: a NIC needs a unicast one", arg);
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
}

static void parse_net(char *arg, struct net_options *n)
{
	char *opt, *save = NULL, why[160];

	memcpy(n->mac, default_mac, sizeof(n->mac));
	for (opt = strtok_r(arg, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (!strncmp(opt, "mac=", 4)) {
			parse_mac(opt + 4, n->mac);
		} else if (!strncmp(opt, "forward=", 8)) {
			if (n->nforwards == NET_START_FORWARDS_MAX)
				usage_error("--net: more than %d forwards", NET_START_FORWARDS_MAX);
			if (!net_parse_forward(opt + 8, &n->forwards[n->nforwards++], why,
					       sizeof(why)))
				usage_error("--net %s: %s", opt, why);
		} else {
			usage_error("--net: unknown option '%s' (mac=, forward=)", opt);
		}
	}
}

struct options {
	const char *kernel, *initrd, *cmdline, *hvc, *vsock_path, *control_path;
	uint64_t memory, vsock_cid;
	unsigned int cpus, ndisks, nshares;
	bool hugepages, rng, boot_time, acpi_devices, balloon, net;
	struct blk_options disks[MAX_DISKS];
	struct share_options shares[VIRTIO_9P_MAX_SHARES];
	struct net_options net_opts;
};

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_HUGEPAGES = 256, OPT_RNG, OPT_HVC, OPT_VSOCK, OPT_ACPI_DEVICES, OPT_CONTROL,
	       OPT_BALLOON, OPT_NET };
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'p' },
		{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
		{ "disk", required_argument, NULL, 'd' },
		{ "share", required_argument, NULL, 's' },
		{ "rng", no_argument, NULL, OPT_RNG },
		{ "hvc", required_argument, NULL, OPT_HVC },
		{ "vsock", required_argument, NULL, OPT_VSOCK },
		{ "acpi-devices", no_argument, NULL, OPT_ACPI_DEVICES },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "balloon", no_argument, NULL, OPT_BALLOON },
		{ "net", optional_argument, NULL, OPT_NET },
		{ "boot-time", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*o = (struct options){ .memory = DEFAULT_MEMORY, .cpus = 1 };
	while ((c = getopt_long(argc, argv, "k:i:c:m:p:d:s:th", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'c': o->cmdline = optarg; break;
		case 'm': o->memory = parse_memory(optarg); break;
		case 'p': o->cpus = parse_cpus(optarg); break;
		case OPT_HUGEPAGES: o->hugepages = true; break;
		case 'd':
			if (o->ndisks == MAX_DISKS)
				usage_error("more than %d --disk options", MAX_DISKS);
			parse_disk(optarg, &o->disks[o->ndisks++]);
			break;
		case 's':
			if (o->nshares == VIRTIO_9P_MAX_SHARES)
				usage_error("more than %d --share options", VIRTIO_9P_MAX_SHARES);
			parse_share(optarg, &o->shares[o->nshares++]);
			break;
		case OPT_RNG: o->rng = true; break;
		case OPT_HVC: o->hvc = optarg; break;
		case OPT_VSOCK: parse_vsock(optarg, &o->vsock_path, &o->vsock_cid); break;
		case OPT_ACPI_DEVICES: o->acpi_devices = true; break;
		case OPT_CONTROL: o->control_path = optarg; break;
		case OPT_BALLOON: o->balloon = true; break;
		case OPT_NET:
			if (o->net)
				usage_error("--net given twice (one device has every option)");
			o->net = true;
			parse_net(optarg ? optarg : (char[]){ "" }, &o->net_opts);
			break;
		case 't': o->boot_time = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage_error("bad option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->kernel)
		usage_error("no --kernel given");
}

static int signal_fd = -1;

/* Event loop: SIGINT, SIGTERM or SIGHUP arrived. */
static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;
	char why[80];

	if (read(signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	snprintf(why, sizeof(why), "stopping the VM on signal %u (%s)", si.ssi_signo,
		 strsignal(si.ssi_signo));
	vm_stop(vm, EXIT_SIGNAL, why);
}

/* Event loop: a verdict is in. */
static void on_stop(void *opaque, uint32_t events)
{
	loop_quit(opaque);
}

static int watch_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked here, so in the vCPU threads too: only the loop sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		die("blocking SIGINT, SIGTERM and SIGHUP");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die_errno("watching for SIGINT, SIGTERM and SIGHUP");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

int main(int argc, char **argv)
{
	static struct vm vm;
	struct options o;
	struct kernel_image kernel;
	struct initrd_image initrd;
	struct boot_entry entry;
	unsigned int i;

	clock_gettime(CLOCK_MONOTONIC, &vm.start);
	parse_options(argc, argv, &o);
	vm.print_boot_time = o.boot_time;
	vm.virtio_in_acpi = o.acpi_devices;
	vm.ncpus = o.cpus;
	vm.loop = loop_create();
	signal_fd = watch_signals();

	/* Everything that can be wrong with the inputs shows up before KVM does. */
	kernel_open(&kernel, o.kernel);
	if (o.initrd)
		initrd_open(&initrd, o.initrd);
	if (o.control_path)
		control_init(&vm, o.control_path);
	platform_init(&vm);
	serial_init(&vm, STDIN_FILENO, STDOUT_FILENO);
	if (o.rng)
		virtio_rng_init(&vm);
	for (i = 0; i < o.ndisks; i++)
		virtio_blk_init(&vm, &o.disks[i]);
	if (o.hvc)
		virtio_console_init(&vm, o.hvc);
	if (o.vsock_path)
		virtio_vsock_init(&vm, o.vsock_cid, o.vsock_path);
	/* The newest last, so that adding them moved no other device's slot. */
	if (o.balloon)
		virtio_balloon_init(&vm);
	if (o.net)
		virtio_net_init(&vm, &o.net_opts);
	for (i = 0; i < o.nshares; i++)
		virtio_9p_init(&vm, &o.shares[i], o.nshares);
	if (o.cmdline)
		vm_cmdline_append(&vm, "%s", o.cmdline);
	kernel_check_fit(&kernel, o.initrd ? &initrd : NULL,
			 o.memory < LAYOUT_MMIO_HOLE ? o.memory : LAYOUT_MMIO_HOLE, vm.cmdline);

	vm_create(&vm, o.memory, o.cpus, o.hugepages);
	virtio_mmio_attach_all(&vm);
	kernel_load(&vm, &kernel, o.initrd ? &initrd : NULL, &entry);
	kernel_close(&kernel);
	vcpus_create(&vm, &entry);

	loop_add(vm.loop, signal_fd, EPOLLIN, on_signal, &vm);
	loop_add(vm.loop, vm.stop_fd, EPOLLIN, on_stop, vm.loop);
	vcpus_start(&vm);
	vcpus_watch_halt(&vm);
	loop_run(vm.loop);
	vcpus_stop(&vm);
	loop_destroy(vm.loop);
	return vm.exit_code;
}
