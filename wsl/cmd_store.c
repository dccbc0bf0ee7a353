// SPDX-License-Identifier: MIT
/* Commands on the distro store: import, export, unregister, set-default. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../builder/builder.h"
#include "commands.h"
#include "rootfs.h"

#define DISK_FILE   "ext4.vhdx"
#define ROOTFS_DIR  "rootfs"
#define CONVERT_TAR ".convert.tar"

/* WSL 2's first release: the disk may grow to 256 GiB; the file grows only as used. */
#define DEFAULT_DISK_SIZE (256ULL << 30)

static int absolute_dir(const char *dir, char *out, size_t len)
{
	char real[PATH_MAX];

	if (mkdir_parents(dir, 0755))
		return -1;
	if (!realpath(dir, real) || strlen(real) >= len) {
		pr_err("%s: %s", dir, strerror(errno));
		return -1;
	}
	strcpy(out, real);
	return 0;
}

/* A path into a fixed-size record field: too long is an error, never a cut. */
static int copy_path(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size) {
		pr_err("%s: path too long (at most %zu bytes)", src, size - 1);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

static int check_new_name(struct store *st, const char *name)
{
	struct distro_record r;

	if (!store_name_valid(name)) {
		pr_err("'%s' cannot name a distro: use letters, digits, '.', '-' and '_' "
		       "(at most %d)", name, STORE_NAME_MAX - 1);
		return -1;
	}
	if (!store_get(st, name, &r)) {
		pr_err("a distro named '%s' already exists (at %s)", name, r.location);
		return -1;
	}
	return 0;
}

static int register_distro(struct store *st, const struct distro_record *r)
{
	char def[STORE_NAME_MAX];

	if (store_put(st, r))
		return -1;
	store_get_default(st, def, sizeof(def));
	if (!*def)
		store_set_default(st, r->name);
	return 0;
}

int cmd_import(struct wsl_context *ctx, const char *name, const char *dir, const char *tarball,
	       int version)
{
	struct builder_disk_request req = { .from = tarball, .size = DEFAULT_DISK_SIZE };
	struct distro_record r = { .version = 2 };
	struct stat sb;
	struct store st;
	int ret = 1;

	if (version != 1 && version != 2) {
		pr_err("--version %d: a distro is version 1 (a host directory) or 2 (a VHDX in the VM)",
		       version);
		return 2;
	}
	r.version = version;
	if (strcmp(tarball, "-") && stat(tarball, &sb)) {
		pr_err("%s: %s", tarball, strerror(errno));
		return 1;
	}
	if (store_open(&st, &ctx->paths, true))
		return 1;
	if (check_new_name(&st, name) || absolute_dir(dir, r.location, sizeof(r.location)))
		goto out;
	snprintf(r.name, sizeof(r.name), "%s", name);
	if (version == 1) {
		snprintf(r.rootfs, sizeof(r.rootfs), "%s/%s", r.location, ROOTFS_DIR);
		if (!access(r.rootfs, F_OK)) {
			pr_err("%s already exists: choose another directory", r.rootfs);
			goto out;
		}
		if (rootfs_extract(tarball, r.rootfs) || register_distro(&st, &r)) {
			rootfs_remove(r.rootfs);
			goto out;
		}
		ret = 0;
		goto out;
	}
	snprintf(r.disk, sizeof(r.disk), "%s/%s", r.location, DISK_FILE);
	if (!access(r.disk, F_OK)) {
		pr_err("%s already exists: choose another directory, or use --import-in-place",
		       r.disk);
		goto out;
	}
	req.out = r.disk;
	req.label = name;
	if (builder_make_disk(&req))
		goto out;
	if (register_distro(&st, &r)) {
		unlink(r.disk);
		goto out;
	}
	ret = 0;
out:
	store_close(&st);
	return ret;
}

int cmd_import_in_place(struct wsl_context *ctx, const char *name, const char *disk)
{
	struct distro_record r = { .version = 2 };
	char real[PATH_MAX], dir[PATH_MAX], *slash;
	struct store st;
	int ret = 1;

	if (!realpath(disk, real)) {
		pr_err("%s: %s", disk, strerror(errno));
		return 1;
	}
	/* Refuse what is not an ext4 VHDX now, not at the first boot. */
	if (builder_check_disk(real))
		return 1;
	if (store_open(&st, &ctx->paths, true))
		return 1;
	if (check_new_name(&st, name))
		goto out;
	strcpy(dir, real);
	slash = strrchr(dir, '/');
	*slash = '\0';
	snprintf(r.name, sizeof(r.name), "%s", name);
	if (copy_path(r.location, sizeof(r.location), *dir ? dir : "/") ||
	    copy_path(r.disk, sizeof(r.disk), real))
		goto out;
	ret = register_distro(&st, &r) ? 1 : 0;
out:
	store_close(&st);
	return ret;
}

static int copy_file(const char *from, const char *to)
{
	char tmp[PATH_MAX + 8];
	struct stat sb;
	int in, out, ret = -1;
	off_t off = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	in = open(from, O_RDONLY | O_CLOEXEC);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0 || fstat(in, &sb))
		goto out;
	while (off < sb.st_size)
		if (sendfile(out, in, &off, sb.st_size - off) <= 0)
			goto out;
	if (fsync(out) || rename(tmp, to))
		goto out;
	ret = 0;
out:
	if (ret) {
		pr_err("copying %s to %s: %s", from, to, strerror(errno));
		unlink(tmp);
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret;
}

/* Callers may hold the store's lock: this must not take it again. */
static int terminate_if_running(struct wsl_context *ctx, const char *name)
{
	char socket[600];

	if (!vm_running(&ctx->paths, socket, sizeof(socket)))
		return 0;
	return terminate_in_vm(socket, name);
}

int cmd_export(struct wsl_context *ctx, const char *name, const char *file, const char *format)
{
	struct distro_record r;
	struct store st;
	int ret;

	if (format && strcmp(format, "tar") && strcmp(format, "tar.gz") &&
	    strcmp(format, "tar.xz") && strcmp(format, "vhd")) {
		pr_err("--format %s: expected tar, tar.gz, tar.xz or vhd", format);
		return 2;
	}
	if (store_open(&st, &ctx->paths, false))
		return 1;
	ret = store_get(&st, name, &r);
	store_close(&st);
	if (ret) {
		pr_err("no distro named '%s' (wsl -l lists them)", name);
		return 1;
	}
	/* Its file system must be at rest: stop the distro first, as WSL does. */
	if (terminate_if_running(ctx, name))
		return 1;
	if (r.version == 1) {
		if (format && strcmp(format, "tar")) {
			pr_err("%s is a version 1 distro: it exports as --format tar only", name);
			return 2;
		}
		return rootfs_archive(r.rootfs, file) ? 1 : 0;
	}
	if (format && !strcmp(format, "vhd"))
		return copy_file(r.disk, file) ? 1 : 0;
	return builder_export_disk(r.disk, file, format) ? 1 : 0;
}

int cmd_unregister(struct wsl_context *ctx, const char *name)
{
	struct distro_record r;
	struct store st;
	int ret = 1;

	if (store_open(&st, &ctx->paths, true))
		return 1;
	if (store_get(&st, name, &r)) {
		pr_err("no distro named '%s' (wsl -l lists them)", name);
		goto out;
	}
	if (terminate_if_running(ctx, name))
		goto out;
	if (store_remove(&st, name))
		goto out;
	if (r.version == 1)
		rootfs_remove(r.rootfs);
	else if (unlink(r.disk) && errno != ENOENT)
		pr_err("%s: %s (the distro is unregistered; remove the file by hand)", r.disk,
		       strerror(errno));
	ret = 0;
out:
	store_close(&st);
	return ret;
}

int cmd_set_default(struct wsl_context *ctx, const char *name)
{
	struct distro_record r;
	struct store st;
	int ret = 1;

	if (store_open(&st, &ctx->paths, true))
		return 1;
	if (store_get(&st, name, &r))
		pr_err("no distro named '%s' (wsl -l lists them)", name);
	else
		ret = store_set_default(&st, name) ? 1 : 0;
	store_close(&st);
	return ret;
}

/* 2 → 1: the disk's files into DIR/rootfs, through a tarball beside them. */
static int to_version1(struct distro_record *r, const char *tmp)
{
	char rootfs[sizeof(r->rootfs)];

	snprintf(rootfs, sizeof(rootfs), "%s/%s", r->location, ROOTFS_DIR);
	if (!access(rootfs, F_OK)) {
		pr_err("%s already exists: move it away first", rootfs);
		return -1;
	}
	if (builder_export_disk(r->disk, tmp, "tar") || rootfs_extract(tmp, rootfs)) {
		rootfs_remove(rootfs);
		return -1;
	}
	strcpy(r->rootfs, rootfs);
	return 0;
}

/* 1 → 2: the root directory into DIR/ext4.vhdx. */
static int to_version2(struct distro_record *r, const char *tmp)
{
	struct builder_disk_request req = { .from = tmp, .size = DEFAULT_DISK_SIZE,
					    .label = r->name };
	char disk[sizeof(r->disk)];

	snprintf(disk, sizeof(disk), "%s/%s", r->location, DISK_FILE);
	if (!access(disk, F_OK)) {
		pr_err("%s already exists: move it away first", disk);
		return -1;
	}
	req.out = disk;
	if (rootfs_archive(r->rootfs, tmp) || builder_make_disk(&req))
		return -1;
	strcpy(r->disk, disk);
	return 0;
}

int cmd_set_version(struct wsl_context *ctx, const char *name, int version)
{
	struct distro_record r, old;
	char tmp[700];
	struct store st;
	int ret = 1;

	if (version != 1 && version != 2) {
		pr_err("--set-version %s %d: the version is 1 or 2", name, version);
		return 2;
	}
	if (store_open(&st, &ctx->paths, true))
		return 1;
	if (store_get(&st, name, &r)) {
		pr_err("no distro named '%s' (wsl -l lists them)", name);
		goto out;
	}
	if (r.version == version) {
		printf("%s is already version %d.\n", name, version);
		ret = 0;
		goto out;
	}
	if (terminate_if_running(ctx, name))
		goto out;
	old = r;
	snprintf(tmp, sizeof(tmp), "%s/%s", r.location, CONVERT_TAR);
	if (version == 1 ? to_version1(&r, tmp) : to_version2(&r, tmp)) {
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	r.version = version;
	if (version == 1)
		r.disk[0] = '\0';
	else
		r.rootfs[0] = '\0';
	if (store_put(&st, &r))
		goto out;
	/* Only now is the old form no longer needed. */
	if (version == 1)
		unlink(old.disk);
	else
		rootfs_remove(old.rootfs);
	ret = 0;
out:
	store_close(&st);
	return ret;
}
