// SPDX-License-Identifier: MIT
/* The init's part of the kernel command line (see config.h, README.md). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "proto.h"
#include "reclaim.h"

static int warn_bad(void (*warn)(const char *msg), const char *key, const char *value,
		    const char *why)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "kernel command line: %.64s=%.512s: %s", key, value, why);
	warn(msg);
	return 1;
}

static bool copy_name(char *dst, size_t size, const char *s, size_t len)
{
	if (len == 0 || len >= size)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

static bool copy_text(char *dst, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= size)
		return false;
	memcpy(dst, s, len + 1);
	return true;
}

/* wsl.distro=NAME:SERIAL */
static int parse_distro(struct boot_config *cfg, const char *key, const char *v,
			void (*warn)(const char *))
{
	const char *colon = strchr(v, ':');
	struct distro_config *d;

	if (cfg->n_distros == CONFIG_MAX_DISTROS)
		return warn_bad(warn, key, v, "too many distros");
	d = &cfg->distros[cfg->n_distros];
	if (!colon || !copy_name(d->name, sizeof(d->name), v, colon - v) ||
	    !copy_name(d->serial, sizeof(d->serial), colon + 1, strlen(colon + 1)))
		return warn_bad(warn, key, v, "expected NAME:DISK-SERIAL");
	if (boot_config_distro(cfg, d->name))
		return warn_bad(warn, key, v, "distro named twice");
	cfg->n_distros++;
	return 0;
}

/* wsl.share=TAG or TAG:/absolute/mount/point */
static int parse_share(struct boot_config *cfg, const char *key, const char *v,
		       void (*warn)(const char *))
{
	const char *colon = strchr(v, ':');
	struct share_config *s;
	size_t tag_len = colon ? (size_t)(colon - v) : strlen(v);

	if (cfg->n_shares == CONFIG_MAX_SHARES)
		return warn_bad(warn, key, v, "too many shares");
	s = &cfg->shares[cfg->n_shares];
	if (!copy_name(s->tag, sizeof(s->tag), v, tag_len))
		return warn_bad(warn, key, v, "expected TAG or TAG:/PATH");
	s->path[0] = '\0';
	if (colon && (colon[1] != '/' || strstr(colon + 1, "..") ||
		      !copy_text(s->path, sizeof(s->path), colon + 1)))
		return warn_bad(warn, key, v, "the mount point must be an absolute path without ..");
	cfg->n_shares++;
	return 0;
}

static int parse_port(struct boot_config *cfg, const char *key, const char *v,
		      void (*warn)(const char *))
{
	char *end;
	unsigned long port = strtoul(v, &end, 10);

	if (!*v || *end || port == 0 || port > 0xffffffffUL)
		return warn_bad(warn, key, v, "not a vsock port number");
	cfg->port = port;
	return 0;
}

static int parse_option(struct boot_config *cfg, const char *key, const char *v,
			void (*warn)(const char *))
{
	if (!strcmp(key, "wsl.distro"))
		return parse_distro(cfg, key, v, warn);
	if (!strcmp(key, "wsl.share"))
		return parse_share(cfg, key, v, warn);
	if (!strcmp(key, "wsl.hostname"))
		return copy_name(cfg->hostname, sizeof(cfg->hostname), v, strlen(v)) ? 0 :
			warn_bad(warn, key, v, "not a host name");
	if (!strcmp(key, "wsl.address"))
		return copy_text(cfg->address, sizeof(cfg->address), v) && strchr(v, '/') ? 0 :
			warn_bad(warn, key, v, "expected ADDRESS/PREFIX");
	if (!strcmp(key, "wsl.gateway"))
		return copy_text(cfg->gateway, sizeof(cfg->gateway), v) ? 0 :
			warn_bad(warn, key, v, "expected an address");
	if (!strcmp(key, "wsl.dns")) {
		if (cfg->n_dns == CONFIG_MAX_DNS ||
		    !copy_text(cfg->dns[cfg->n_dns], sizeof(cfg->dns[0]), v))
			return warn_bad(warn, key, v, "too many or not an address");
		cfg->n_dns++;
		return 0;
	}
	if (!strcmp(key, "wsl.port"))
		return parse_port(cfg, key, v, warn);
	if (!strcmp(key, "wsl.reclaim")) {
		if (!strcmp(v, "disabled"))
			cfg->reclaim = RECLAIM_DISABLED;
		else if (!strcmp(v, "gradual"))
			cfg->reclaim = RECLAIM_GRADUAL;
		else if (!strcmp(v, "dropcache"))
			cfg->reclaim = RECLAIM_DROPCACHE;
		else
			return warn_bad(warn, key, v, "expected disabled, gradual or dropcache");
		return 0;
	}
	if (!strcmp(key, "wsl.reclaim_idle")) {
		char *end;
		unsigned long n = strtoul(v, &end, 10);

		if (!*v || *end || n == 0 || n > 86400)
			return warn_bad(warn, key, v, "expected seconds, 1 to 86400");
		cfg->reclaim_idle_seconds = n;
		return 0;
	}
	if (!strcmp(key, "wsl.debug")) {
		cfg->debug = !strcmp(v, "1");
		return 0;
	}
	return warn_bad(warn, key, v, "unknown key");
}

int boot_config_parse(struct boot_config *cfg, const char *cmdline,
		      void (*warn)(const char *msg))
{
	const char *p = cmdline;
	int bad = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->port = PROTO_PORT;
	cfg->reclaim = RECLAIM_GRADUAL;
	cfg->reclaim_idle_seconds = RECLAIM_IDLE_SECONDS;
	snprintf(cfg->hostname, sizeof(cfg->hostname), "wsl");
	while (*p) {
		char word[512], *eq;
		size_t len;

		while (isspace((unsigned char)*p))
			p++;
		len = strcspn(p, " \t\n");
		if (!len)
			break;
		if (len < sizeof(word) && !strncmp(p, "wsl.", 4)) {
			memcpy(word, p, len);
			word[len] = '\0';
			eq = strchr(word, '=');
			if (eq) {
				*eq = '\0';
				bad += parse_option(cfg, word, eq + 1, warn);
			} else {
				bad += warn_bad(warn, word, "", "expected a value");
			}
		} else if (!strncmp(p, "wsl.", 4)) {
			bad += warn_bad(warn, "wsl.*", "...", "option too long");
		}
		p += len;
	}
	return bad;
}

const struct distro_config *boot_config_distro(const struct boot_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_distros; i++)
		if (!strcmp(cfg->distros[i].name, name))
			return &cfg->distros[i];
	return NULL;
}
