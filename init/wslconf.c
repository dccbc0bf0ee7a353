// SPDX-License-Identifier: MIT
/* /etc/wsl.conf: the INI keys of WSL's that apply here (see config.h). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "config.h"

void wsl_conf_defaults(struct wsl_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->automount_enabled = true;
	strcpy(conf->automount_root, "/mnt/host/");
	conf->generate_hosts = true;
	conf->generate_resolv_conf = true;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
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

/* Values may be quoted: automount options are usually written "metadata,umask=22". */
static char *unquote(char *v)
{
	size_t len = strlen(v);

	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		v[len - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* Returns false for a value that is malformed; unknown keys are fine. */
static bool apply(struct wsl_conf *c, const char *section, const char *key, char *v)
{
	v = unquote(v);
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

int wsl_conf_parse(struct wsl_conf *conf, FILE *in, void (*warn)(const char *msg))
{
	char line[2048], section[64] = "", msg[2300];
	int lineno = 0, bad = 0;

	while (fgets(line, sizeof(line), in)) {
		char *s, *eq, *key, *value;

		lineno++;
		if (!strchr(line, '\n') && !feof(in)) {
			int ch;

			/* Skip the rest of an over-long line; report it once. */
			while ((ch = fgetc(in)) != EOF && ch != '\n')
				;
			snprintf(msg, sizeof(msg), "wsl.conf:%d: line too long, ignored", lineno);
			warn(msg);
			bad++;
			continue;
		}
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end || end[1] || end - s - 1 >= (long)sizeof(section)) {
				snprintf(msg, sizeof(msg), "wsl.conf:%d: malformed section '%s'",
					 lineno, s);
				warn(msg);
				bad++;
				section[0] = '\0';
				continue;
			}
			*end = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(msg, sizeof(msg), "wsl.conf:%d: expected key = value: '%s'", lineno, s);
			warn(msg);
			bad++;
			continue;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (!apply(conf, section, key, value)) {
			snprintf(msg, sizeof(msg), "wsl.conf:%d: bad value for %s.%s: '%s'", lineno,
				 section, key, value);
			warn(msg);
			bad++;
		}
	}
	return bad;
}
