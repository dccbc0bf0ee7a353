// SPDX-License-Identifier: MIT
/*
 * The files of a kernel build: checked paths, whole-or-nothing copies, and
 * the outputs (bzImage, vmlinux, .config, manifest) copied between the
 * work directory, the cache and --out, and checked against a manifest.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "mkwslimage.h"
#include "outfile.h"

/* snprintf for paths: fails, naming the path, instead of truncating it. */
int pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		pr_err("path too long: %.80s...", buf);
		return -1;
	}
	return 0;
}

int mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	if (pathf(buf, sizeof(buf), "%s", path) < 0)
		return -1;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Copies src to dst through a temporary name: dst is whole or absent. */
int copy_file(const char *src, const char *dst)
{
	static char buf[1 << 20];
	struct outfile out;
	size_t n;
	FILE *in = fopen(src, "r");

	if (!in) {
		pr_err("%s: %s", src, strerror(errno));
		return -1;
	}
	if (outfile_open(&out, dst) < 0) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out.file) != n)
			break;
	if (ferror(in) || ferror(out.file)) {
		pr_err("copying %s to %s: %s", src, dst, strerror(errno ? errno : EIO));
		outfile_abort(&out);
		fclose(in);
		return -1;
	}
	fclose(in);
	return outfile_commit(&out);
}

void remove_tree(const char *dir)
{
	const char *argv[] = { "rm", "-rf", "--", dir, NULL };

	run_logged(NULL, NULL, argv);
}

/* Writes text to path, whole or not at all. */
int write_text(const char *path, const char *text)
{
	struct outfile out;

	if (outfile_open(&out, path) < 0)
		return -1;
	fputs(text, out.file);
	return outfile_commit(&out);
}

/* Copies bzImage, vmlinux, .config and manifest from one folder to another. */
int copy_outputs(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	int i;

	if (mkdir_p(to) < 0) {
		pr_err("%s: %s", to, strerror(errno));
		return -1;
	}
	/*
	 * bzImage last: make judges the step by it, so it must not appear
	 * before the rest.  Each file is whole or absent (outfile).
	 */
	static const char *const order[] = { "vmlinux", ".config", "manifest", "bzImage" };

	for (i = 0; i < 4; i++) {
		const char *name = order[i];

		if (pathf(a, sizeof(a), "%s/%s", from, name) < 0 ||
		    pathf(b, sizeof(b), "%s/%s", to, name) < 0 || copy_file(a, b) < 0)
			return -1;
	}
	return 0;
}

/* Checks the files in dir against its manifest; names each that differs. */
int check_outputs(const char *dir, const char *manifest_dir, int quiet)
{
	struct kernel_output want[KERNEL_OUTPUTS];
	char path[PATH_MAX], hex[SHA256_HEX];
	int i, bad = 0;
	FILE *f;

	if (pathf(path, sizeof(path), "%s/manifest", manifest_dir) < 0)
		return -1;
	f = fopen(path, "r");
	for (i = 0; i < KERNEL_OUTPUTS; i++)
		want[i].name = kernel_output_names[i];
	if (!f || kernel_manifest_outputs(f, want, KERNEL_OUTPUTS) < 0) {
		if (!quiet)
			pr_err("%s: missing or malformed", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	for (i = 0; i < KERNEL_OUTPUTS; i++) {
		if (pathf(path, sizeof(path), "%s/%s", dir, want[i].name) < 0 ||
		    sha256_file(path, hex, NULL) < 0) {
			bad++;
			continue;
		}
		if (strcmp(hex, want[i].sha256)) {
			if (!quiet)
				pr_err("%s: sha256 %s, the manifest says %s", path, hex,
				       want[i].sha256);
			bad++;
		}
	}
	return bad ? -1 : 0;
}
