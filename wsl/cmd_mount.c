// SPDX-License-Identifier: MIT
/*
 * wsl --mount NAME DIR and wsl --unmount DIR: a distro's files on the
 * host, as \\wsl$ shows them on Windows.  The init serves the distro's
 * root over 9P2000.L on a connection of its own (MOUNT_DISTRO); the host
 * kernel's v9fs client mounts that connection with trans=fd and keeps it,
 * so wsl exits at once and the mount lives until unmounted (the VM's
 * service does not stop a VM that still has a distro mounted).
 *
 * The host checks permissions itself (access=client) against the distro's
 * owners and modes, uid for uid, and each host user's new files are that
 * user's in the distro; nosuid and nodev keep the distro's setuid files
 * and device nodes from meaning anything on the host.
 */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "commands.h"
#include "mounts.h"

#define MOUNT_MSIZE 524288 /* bytes per 9P message: 512 KiB of data per read or write */

static bool have_cap_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
	return d[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32));
}

/* DIR must be an existing directory; POINT gets its absolute, symlink-free path. */
static int check_mount_point(const char *dir, char *point)
{
	struct stat st;

	if (stat(dir, &st)) {
		if (errno == ENOENT)
			pr_err("the mount point %s does not exist (create it with mkdir first)",
			       dir);
		else
			pr_err("cannot use %s as a mount point: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_err("the mount point %s is not a directory", dir);
		return -1;
	}
	if (!realpath(dir, point)) {
		pr_err("cannot resolve %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void explain_mount_failure(const char *distro, const char *point, int err)
{
	switch (err) {
	case EPERM:
		pr_err("the kernel refused to mount %s at %s: mounting needs CAP_SYS_ADMIN in the "
		       "host's own user namespace (run wsl --mount as root)", distro, point);
		break;
	case ENODEV:
		pr_err("the host kernel has no 9p file system to mount %s with: load it with "
		       "'modprobe 9p' (CONFIG_9P_FS)", distro);
		break;
	case EINVAL:
		if (access("/sys/module/9pnet_fd", F_OK)) {
			pr_err("the host kernel refused a 9p mount over trans=fd: the 9pnet_fd "
			       "module is not loaded ('modprobe 9pnet_fd'; CONFIG_NET_9P_FD)");
			break;
		}
		/* fallthrough */
	default:
		pr_err("cannot mount %s's files at %s: %s", distro, point, strerror(err));
	}
}

/* Ask the init at SOCKET for DISTRO's files and mount them at POINT. */
static int mount_from_vm(const char *socket, const char *runtime, const char *distro,
			 const char *point)
{
	char source[1200], options[256];
	struct proto_buf b = { 0 };
	struct guest_conn c;
	struct proto_msg m;
	int ret = -1;

	if (guest_connect(&c, socket, PROTO_PORT))
		return -1;
	if (proto_put_string_msg(&b, PROTO_MOUNT_DISTRO, c.next_id++, distro) ||
	    guest_request(&c, &b, &m))
		goto out;
	if (m.type == PROTO_ERROR) {
		guest_print_error(&m);
		goto out;
	}
	if (m.type != PROTO_OK) {
		pr_err("the VM answered MOUNT_DISTRO with %s", proto_type_name(m.type));
		goto out;
	}
	wsl_mount_source(source, sizeof(source), runtime, distro);
	snprintf(options, sizeof(options),
		 "trans=fd,rfdno=%d,wfdno=%d,version=9p2000.L,msize=%d,access=client,cache=mmap",
		 c.fd, c.fd, MOUNT_MSIZE);
	/* The kernel takes its own reference to the connection: ours can go. */
	if (mount(source, point, "9p", MS_NOSUID | MS_NODEV, options)) {
		explain_mount_failure(distro, point, errno);
		goto out;
	}
	ret = 0;
out:
	proto_buf_free(&b);
	guest_close(&c);
	return ret;
}

int cmd_mount(struct wsl_context *ctx, const char *name, const char *dir)
{
	char point[PATH_MAX], fstype[64], source[1200];
	struct vm_session vs = { .sessions_fd = -1 };
	const char *socket = direct_socket();
	struct distro_record r;
	int ret;

	if (!socket) {
		if (find_distro(ctx, name, &r))
			return 1;
		if (r.version == 1) {
			pr_err("%s is a version 1 distro: its files are already on the host, in %s",
			       r.name, r.rootfs);
			return 1;
		}
		name = r.name;
	}
	if (check_mount_point(dir, point))
		return 1;
	if (wsl_mount_lookup(point, fstype, sizeof(fstype), source, sizeof(source)) == 1 &&
	    !strncmp(source, WSL_MOUNT_PREFIX, strlen(WSL_MOUNT_PREFIX))) {
		pr_err("%s already shows a distro's files (%s): wsl --unmount %s first", point,
		       source, point);
		return 1;
	}
	if (!have_cap_sys_admin()) {
		pr_err("mounting %s at %s needs CAP_SYS_ADMIN, which this process lacks: run "
		       "wsl --mount as root", name, point);
		return 1;
	}
	if (socket)
		return mount_from_vm(socket, socket, name, point) ? 1 : 0;
	if (vm_session_begin(&vs, &ctx->paths, &ctx->config, name))
		return 1;
	ret = mount_from_vm(vs.socket, ctx->paths.runtime, name, point);
	vm_session_end(&vs);
	return ret ? 1 : 0;
}

/*
 * DIR's absolute path without asking the mount itself: only its parent is
 * resolved, so a mount whose VM is gone (where stat fails) can still be
 * named.
 */
static int mount_point_path(const char *dir, char *point)
{
	char copy[PATH_MAX], *slash;
	const char *parent = ".", *base;

	if (snprintf(copy, sizeof(copy), "%s", dir) >= (int)sizeof(copy)) {
		pr_err("%s: path too long", dir);
		return -1;
	}
	for (size_t n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
		copy[n - 1] = '\0';
	slash = strrchr(copy, '/');
	base = copy;
	if (slash) {
		*slash = '\0';
		parent = slash == copy ? "/" : copy;
		base = slash + 1;
	}
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		parent = dir; /* "/", "x/..": nothing to keep apart, resolve it all */
		base = "";
	}
	if (!realpath(parent, point)) {
		pr_err("%s: %s", parent, strerror(errno));
		return -1;
	}
	if (!*base)
		return 0;
	if (strlen(point) + 1 + strlen(base) >= PATH_MAX) {
		pr_err("%s: path too long", dir);
		return -1;
	}
	if (strcmp(point, "/"))
		strcat(point, "/");
	strcat(point, base);
	return 0;
}

int cmd_unmount(const char *dir)
{
	char point[PATH_MAX], fstype[64], source[1200];
	int found;

	if (mount_point_path(dir, point))
		return 1;
	found = wsl_mount_lookup(point, fstype, sizeof(fstype), source, sizeof(source));
	if (found < 0) {
		pr_err("cannot read %s: %s", wsl_mountinfo, strerror(errno));
		return 1;
	}
	if (!found) {
		pr_err("nothing is mounted at %s", point);
		return 1;
	}
	if (strcmp(fstype, "9p") || strncmp(source, WSL_MOUNT_PREFIX, strlen(WSL_MOUNT_PREFIX))) {
		pr_err("%s is not a distro mounted by wsl --mount (it is %s, type %s): left alone",
		       point, source, fstype);
		return 1;
	}
	if (!have_cap_sys_admin()) {
		pr_err("unmounting %s needs CAP_SYS_ADMIN, which this process lacks: run "
		       "wsl --unmount as root", point);
		return 1;
	}
	if (!umount2(point, 0))
		return 0;
	if (errno == EBUSY && !umount2(point, MNT_DETACH)) {
		pr_err("%s was busy (something has a file or directory in it open): detached it; "
		       "the distro's files go away when the last user closes them", point);
		return 0;
	}
	pr_err("cannot unmount %s: %s", point, strerror(errno));
	return 1;
}
