// SPDX-License-Identifier: MIT
/* /etc/wsl.conf: the INI keys of WSL's that apply here (see config.h). */
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ini.h"

void wsl_conf_defaults(struct wsl_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->automount_enabled = true;
	strcpy(conf->automount_root, "/mnt/host/");
	conf->generate_hosts = true;
	conf->generate_resolv_conf = true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
		*out = false;
		return true;
	}
	return false;
}

static bool set_text(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return false;
	strcpy(dst, v);
	return true;
}

/* Returns false for a value that is malformed; unknown keys are fine. */
static bool apply(struct wsl_conf *c, const char *section, const char *key, const char *v)
{
	if (!strcasecmp(section, "automount")) {
		if (!strcasecmp(key, "enabled"))
			return parse_bool(v, &c->automount_enabled);
		if (!strcasecmp(key, "root")) {
			size_t len = strlen(v);

			/* Kept with a trailing slash, as WSL writes it. */
			if (v[0] != '/' || len + 2 > sizeof(c->automount_root) || strstr(v, ".."))
				return false;
			strcpy(c->automount_root, v);
			if (v[len - 1] != '/')
				strcat(c->automount_root, "/");
			return true;
		}
		if (!strcasecmp(key, "options"))
			return set_text(c->automount_options, sizeof(c->automount_options), v);
	} else if (!strcasecmp(section, "network")) {
		if (!strcasecmp(key, "generateHosts"))
			return parse_bool(v, &c->generate_hosts);
		if (!strcasecmp(key, "generateResolvConf"))
			return parse_bool(v, &c->generate_resolv_conf);
		if (!strcasecmp(key, "hostname"))
			return set_text(c->hostname, sizeof(c->hostname), v);
	} else if (!strcasecmp(section, "boot")) {
		if (!strcasecmp(key, "command"))
			return set_text(c->boot_command, sizeof(c->boot_command), v);
		if (!strcasecmp(key, "systemd"))
			return parse_bool(v, &c->boot_systemd);
	} else if (!strcasecmp(section, "user")) {
		if (!strcasecmp(key, "default"))
			return set_text(c->default_user, sizeof(c->default_user), v);
	}
	return true;
}

struct parse_ctx {
	struct wsl_conf *conf;
	void (*warn)(const char *msg);
};

static int on_value(void *ctx, const char *section, const char *key, const char *value)
{
	struct parse_ctx *p = ctx;

	return apply(p->conf, section, key, value) ? 0 : -1;
}

static void on_bad_line(void *ctx, int lineno, const char *why, const char *line)
{
	struct parse_ctx *p = ctx;
	char msg[INI_LINE_MAX + 128];

	snprintf(msg, sizeof(msg), "wsl.conf:%d: %s %s", lineno, why, line);
	p->warn(msg);
}

int wsl_conf_parse(struct wsl_conf *conf, FILE *in, void (*warn)(const char *msg))
{
	struct parse_ctx p = { conf, warn };
	struct ini_handler h = { .value = on_value, .bad_line = on_bad_line, .ctx = &p };

	return ini_parse(in, &h);
}
