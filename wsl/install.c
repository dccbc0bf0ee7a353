// SPDX-License-Identifier: MIT
/*
 * wsl --install --from-file PKG: sideloading a distro package.
 *
 * A package is a distro tarball (any compression libarchive reads) that
 * carries /etc/wsl-distribution.conf, an INI file:
 *
 *	[oobe]
 *	defaultName = Tiny	the distro's name (required)
 *	defaultUid = 1000	its default user, looked up in the package's /etc/passwd
 *
 * Other sections and keys (shortcut icons, OOBE commands) are WSL's and
 * are ignored.  The package is read once to find these two files, then
 * imported as --import would, into DATA/disks/NAME/.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "ini.h"

#define SMALL_FILE_MAX (64 * 1024)

struct package_info {
	char name[STORE_NAME_MAX];
	long uid; /* -1: none given */
	char user[64];
};

static char *read_entry(struct archive *a, struct archive_entry *e)
{
	la_int64_t size = archive_entry_size(e);
	char *buf;

	if (size < 0 || size > SMALL_FILE_MAX)
		return NULL;
	buf = malloc(size + 1);
	if (!buf)
		return NULL;
	if (archive_read_data(a, buf, size) != size) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

static int on_value(void *ctx, const char *section, const char *key, const char *value)
{
	struct package_info *info = ctx;

	if (strcasecmp(section, "oobe"))
		return 0;
	if (!strcasecmp(key, "defaultName"))
		snprintf(info->name, sizeof(info->name), "%s", value);
	else if (!strcasecmp(key, "defaultUid"))
		info->uid = strtol(value, NULL, 10);
	return 0;
}

static void parse_distribution_conf(char *text, struct package_info *info)
{
	struct ini_handler h = { .value = on_value, .ctx = info };
	FILE *f = fmemopen(text, strlen(text), "r");

	if (!f)
		return;
	ini_parse(f, &h);
	fclose(f);
}

/* The passwd line whose uid is UID gives the user's name. */
static void find_user(char *passwd, long uid, char *user, size_t len)
{
	char *line, *save = NULL;

	for (line = strtok_r(passwd, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *fields[4] = { 0 }, *f = line;

		for (int i = 0; i < 4 && f; i++) {
			fields[i] = f;
			f = strchr(f, ':');
			if (f)
				*f++ = '\0';
		}
		if (fields[2] && strtol(fields[2], NULL, 10) == uid) {
			snprintf(user, len, "%s", fields[0]);
			return;
		}
	}
}

static int scan_package(const char *pkg, struct package_info *info)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *conf = NULL, *passwd = NULL;
	int r, ret = -1;

	info->uid = -1;
	if (!a || archive_read_support_filter_all(a) || archive_read_support_format_tar(a) ||
	    archive_read_open_filename(a, pkg, 1 << 20)) {
		pr_err("%s: %s", pkg, a ? archive_error_string(a) : "out of memory");
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *path = archive_entry_pathname(e);

		while (*path == '.' && path[1] == '/')
			path += 2;
		while (*path == '/')
			path++;
		if (!strcmp(path, "etc/wsl-distribution.conf") && !conf)
			conf = read_entry(a, e);
		else if (!strcmp(path, "etc/passwd") && !passwd)
			passwd = read_entry(a, e);
	}
	if (r != ARCHIVE_EOF) {
		pr_err("%s: %s", pkg, archive_error_string(a));
		goto out;
	}
	if (!conf) {
		pr_err("%s: not a distro package: it has no /etc/wsl-distribution.conf "
		       "(import a plain tarball with wsl --import)", pkg);
		goto out;
	}
	parse_distribution_conf(conf, info);
	if (!*info->name) {
		pr_err("%s: /etc/wsl-distribution.conf gives no [oobe] defaultName", pkg);
		goto out;
	}
	if (info->uid > 0 && passwd)
		find_user(passwd, info->uid, info->user, sizeof(info->user));
	if (info->uid > 0 && !*info->user) {
		pr_err("%s: defaultUid %ld is not in the package's /etc/passwd", pkg, info->uid);
		goto out;
	}
	ret = 0;
out:
	free(conf);
	free(passwd);
	archive_read_free(a);
	return ret;
}

int cmd_install(struct wsl_context *ctx, const char *pkg, const char *name_override)
{
	struct package_info info = { 0 };
	struct distro_record r;
	struct store st;
	char dir[600];
	int ret;

	if (scan_package(pkg, &info))
		return 1;
	if (name_override)
		snprintf(info.name, sizeof(info.name), "%s", name_override);
	snprintf(dir, sizeof(dir), "%s/disks/%s", ctx->paths.data, info.name);
	ret = cmd_import(ctx, info.name, dir, pkg, 2);
	if (ret || !*info.user)
		return ret;
	/* The default user is the package's, not root. */
	if (store_open(&st, &ctx->paths, true))
		return 1;
	ret = store_get(&st, info.name, &r);
	if (!ret) {
		snprintf(r.default_user, sizeof(r.default_user), "%s", info.user);
		r.uid = info.uid;
		ret = store_put(&st, &r);
	}
	store_close(&st);
	if (!ret)
		printf("Installed %s (default user %s).\n", info.name, info.user);
	return ret ? 1 : 0;
}
