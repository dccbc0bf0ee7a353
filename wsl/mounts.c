// SPDX-License-Identifier: MIT
/*
 * Our 9P mounts, as /proc/self/mountinfo shows them (see mounts.h): the
 * source names the VM's runtime directory and the distro, so --unmount
 * touches nothing but a mount of ours and the VM's service can tell that
 * a distro is still mounted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

const char *wsl_mountinfo = "/proc/self/mountinfo";

void wsl_mount_source(char *dst, size_t len, const char *runtime, const char *distro)
{
	snprintf(dst, len, "%s%s:%s", WSL_MOUNT_PREFIX, runtime, distro);
}

/* mountinfo writes space, tab, newline and backslash as \ooo: undo it in place. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/*
 * Split one mountinfo line: "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS...] -
 * FSTYPE SOURCE SUPEROPTS".  Returns 0 and points into LINE, or -1.
 */
static int parse_line(char *line, char **point, char **fstype, char **source)
{
	char *field[64], *save = NULL;
	int n = 0, dash = -1;

	line[strcspn(line, "\n")] = '\0';
	for (char *tok = strtok_r(line, " ", &save); tok && n < 64;
	     tok = strtok_r(NULL, " ", &save)) {
		if (dash < 0 && n >= 6 && !strcmp(tok, "-"))
			dash = n;
		field[n++] = tok;
	}
	if (dash < 0 || n < dash + 3)
		return -1;
	*point = field[4];
	*fstype = field[dash + 1];
	*source = field[dash + 2];
	unescape(*point);
	unescape(*source);
	return 0;
}

int wsl_mount_lookup(const char *point, char *fstype, size_t fslen, char *source, size_t srclen)
{
	char line[4096], *p, *t, *s;
	int found = 0;
	FILE *f = fopen(wsl_mountinfo, "re");

	if (!f)
		return -1;
	/* The last one wins: it is the mount on top. */
	while (fgets(line, sizeof(line), f)) {
		if (parse_line(line, &p, &t, &s) || strcmp(p, point))
			continue;
		snprintf(fstype, fslen, "%s", t);
		snprintf(source, srclen, "%s", s);
		found = 1;
	}
	fclose(f);
	return found;
}

int wsl_mounts_of(const char *runtime)
{
	char line[4096], prefix[600], *p, *t, *s;
	int count = 0;
	FILE *f = fopen(wsl_mountinfo, "re");

	if (!f)
		return 0;
	snprintf(prefix, sizeof(prefix), "%s%s:", WSL_MOUNT_PREFIX, runtime);
	while (fgets(line, sizeof(line), f))
		if (!parse_line(line, &p, &t, &s) && !strcmp(t, "9p") &&
		    !strncmp(s, prefix, strlen(prefix)))
			count++;
	fclose(f);
	return count;
}
