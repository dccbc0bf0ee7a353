// SPDX-License-Identifier: MIT
/* The user's directories (see wsl.h). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsl.h"

/* $VAR, else $HOME/FALLBACK; then SUFFIX. */
static int xdg_dir(char *dst, size_t len, const char *var, const char *fallback,
		   const char *suffix)
{
	const char *v = getenv(var), *home = getenv("HOME");
	int n;

	if (v && *v == '/')
		n = snprintf(dst, len, "%s/%s", v, suffix);
	else if (home && *home)
		n = snprintf(dst, len, "%s/%s/%s", home, fallback, suffix);
	else
		return -1;
	return n < (int)len ? 0 : -1;
}

int mkdir_parents(const char *path, unsigned int mode)
{
	char buf[4096];

	if (strlen(path) >= sizeof(buf)) {
		pr_err("%s: path too long", path);
		return -1;
	}
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST) {
		pr_err("cannot create %s: %s", buf, strerror(errno));
		return -1;
	}
	return 0;
}

/* Ours alone: a directory someone else made, or others can enter, is refused. */
int mkdir_private(const char *path)
{
	struct stat st;

	if (mkdir_parents(path, 0700))
		return -1;
	if (stat(path, &st) || st.st_uid != getuid() || (st.st_mode & 077)) {
		pr_err("%s must be a directory of yours that only you can use", path);
		return -1;
	}
	return 0;
}

void close_fds_except(int keep)
{
	if (keep > 3)
		close_range(3, keep - 1, 0);
	close_range(keep + 1, ~0U, 0);
}

int wsl_paths_init(struct wsl_paths *p)
{
	char exe[PATH_MAX];
	ssize_t n;

	memset(p, 0, sizeof(*p));
	if (xdg_dir(p->data, sizeof(p->data), "XDG_DATA_HOME", ".local/share", "openwsl") ||
	    xdg_dir(p->config, sizeof(p->config), "XDG_CONFIG_HOME", ".config", "wsl/config")) {
		pr_err("neither XDG_DATA_HOME nor HOME is set: nowhere to keep distros");
		return -1;
	}
	/* No XDG_RUNTIME_DIR (a su session, CI): a private directory of our own in /tmp. */
	if (xdg_dir(p->runtime, sizeof(p->runtime), "XDG_RUNTIME_DIR", "", "openwsl") ||
	    !getenv("XDG_RUNTIME_DIR"))
		snprintf(p->runtime, sizeof(p->runtime), "/tmp/openwsl-%u", (unsigned)getuid());
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		pr_err("cannot find where wsl is installed: %s", strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	snprintf(p->exe_dir, sizeof(p->exe_dir), "%s", dirname(exe));
	/* The directories are made when first used: not every command needs them. */
	return 0;
}
