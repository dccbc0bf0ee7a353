// SPDX-License-Identifier: MIT
/* The user's configuration (see wsl.h): .wslconfig's [wsl2] keys. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ini.h"
#include "wsl.h"

static void default_asset(char *dst, size_t len, const struct wsl_paths *p, const char *installed,
			  const char *in_build_tree)
{
	/* Installed: PREFIX/bin/wsl and PREFIX/libexec/openwsl/; built: build/bin/wsl. */
	snprintf(dst, len, "%s/../libexec/openwsl/%s", p->exe_dir, installed);
	if (access(dst, R_OK))
		snprintf(dst, len, "%s/../%s", p->exe_dir, in_build_tree);
}

void wsl_config_defaults(struct wsl_config *c, const struct wsl_paths *p)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	c->memory = pages > 0 && page > 0 ? (uint64_t)pages * page / 2 : 1ULL << 30;
	c->processors = cpus > 0 ? cpus : 1;
	c->localhost_forwarding = true;
	c->vm_idle_timeout_ms = 60000;
	strcpy(c->auto_memory_reclaim, "gradual");
	default_asset(c->kernel, sizeof(c->kernel), p, "bzImage", "kernel/bzImage");
	default_asset(c->initramfs, sizeof(c->initramfs), p, "initramfs.cpio.xz",
		      "init/initramfs.cpio.xz");
}

/* "8GB", "512MB", "1G", "2048" (MiB). */
static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -1;
	if (!*end)
		n <<= 20;
	else if (!strcasecmp(end, "G") || !strcasecmp(end, "GB"))
		n <<= 30;
	else if (!strcasecmp(end, "M") || !strcasecmp(end, "MB"))
		n <<= 20;
	else
		return -1;
	if (n < (64ULL << 20))
		return -1;
	*out = n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int parse_uint(const char *v, unsigned int *out, unsigned int min)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < min || n > UINT_MAX)
		return -1;
	*out = n;
	return 0;
}

static int set_path(char *dst, size_t len, const char *v)
{
	if (!*v || strlen(v) >= len)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int apply(struct wsl_config *c, const char *key, const char *v)
{
	if (!strcasecmp(key, "memory"))
		return parse_size(v, &c->memory);
	if (!strcasecmp(key, "processors"))
		return parse_uint(v, &c->processors, 1);
	if (!strcasecmp(key, "kernel"))
		return set_path(c->kernel, sizeof(c->kernel), v);
	if (!strcasecmp(key, "initramfs"))
		return set_path(c->initramfs, sizeof(c->initramfs), v);
	if (!strcasecmp(key, "kernelCommandLine"))
		return set_path(c->kernel_command_line, sizeof(c->kernel_command_line), v);
	if (!strcasecmp(key, "localhostForwarding"))
		return parse_bool(v, &c->localhost_forwarding);
	if (!strcasecmp(key, "vmIdleTimeout"))
		return parse_uint(v, &c->vm_idle_timeout_ms, 0);
	if (!strcasecmp(key, "autoMemoryReclaim")) {
		if (strcasecmp(v, "disabled") && strcasecmp(v, "gradual") && strcasecmp(v, "dropcache"))
			return -1;
		/* Lower case, as the init's wsl.reclaim= spells it. */
		for (size_t i = 0; v[i] && i < sizeof(c->auto_memory_reclaim) - 1; i++)
			c->auto_memory_reclaim[i] = tolower((unsigned char)v[i]);
		c->auto_memory_reclaim[strlen(v)] = '\0';
		return 0;
	}
	return 0; /* other .wslconfig keys: not ours to refuse */
}

struct parse_ctx {
	struct wsl_config *config;
	const char *name;
};

/* Keys outside a section are taken as [wsl2]'s: the file has nothing else. */
static int on_value(void *ctx, const char *section, const char *key, const char *value)
{
	struct parse_ctx *p = ctx;

	if (*section && strcasecmp(section, "wsl2"))
		return 0;
	return apply(p->config, key, value);
}

static void on_bad_line(void *ctx, int lineno, const char *why, const char *line)
{
	struct parse_ctx *p = ctx;

	pr_err("%s:%d: %s %s (ignored)", p->name, lineno, why, line);
}

int wsl_config_parse(struct wsl_config *c, FILE *in, const char *name)
{
	struct parse_ctx p = { c, name };
	struct ini_handler h = { .value = on_value, .bad_line = on_bad_line, .ctx = &p };

	return ini_parse(in, &h);
}

int wsl_config_load(struct wsl_config *c, const struct wsl_paths *p)
{
	FILE *f;

	wsl_config_defaults(c, p);
	f = fopen(p->config, "re");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	wsl_config_parse(c, f, p->config);
	fclose(f);
	return 0;
}
