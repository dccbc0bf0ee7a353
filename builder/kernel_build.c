// SPDX-License-Identifier: MIT
/*
 * One kernel build from scratch in a fresh directory: unpack or copy the
 * source, apply the series, configure from the fragments and verify the
 * result, build, and leave the outputs and their manifest in "<work>/out".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "mkwslimage.h"

static int configure(struct kjob *j, const struct kernel_make *km, const char *work)
{
	char merged[PATH_MAX], allconfig[PATH_MAX + 32], config[PATH_MAX];
	const char *noconf[] = { "allnoconfig", allconfig, NULL };
	const char *olddef[] = { "olddefconfig", NULL };
	struct kconfig have;
	size_t lost;
	FILE *f;

	if (pathf(merged, sizeof(merged), "%s/fragments.config", work) < 0 ||
	    pathf(allconfig, sizeof(allconfig), "KCONFIG_ALLCONFIG=%s", merged) < 0 ||
	    pathf(config, sizeof(config), "%s/.config", km->dir) < 0)
		return -1;
	f = fopen(merged, "w");
	if (!f || kconfig_write(&j->want, f) < 0 || fclose(f) < 0) {
		pr_err("%s: %s", merged, strerror(errno));
		return -1;
	}
	/* Start from nothing: an option no fragment asks for stays off. */
	if (kernel_make_run(km, "config", noconf) < 0 || kernel_make_run(km, "config", olddef) < 0)
		return -1;
	kconfig_init(&have);
	if (kconfig_parse_file(&have, config, config) < 0) {
		kconfig_free(&have);
		return -1;
	}
	lost = kconfig_verify(&j->want, &have);
	kconfig_free(&have);
	if (lost) {
		pr_err("%zu option%s asked for by the fragments did not survive olddefconfig",
		       lost, lost == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

static int read_release(const char *tree, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	if (pathf(path, sizeof(path), "%s/include/config/kernel.release", tree) < 0)
		return -1;
	f = fopen(path, "r");
	if (!f || !fgets(buf, len, f)) {
		pr_err("%s: %s", path, f ? "empty" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * One whole build in a fresh directory under the work parent; the outputs
 * and the manifest are left in "<work>/out".  *workp gets the directory.
 */
int build_fresh(struct kjob *j, char **workp)
{
	const struct kopts *o = j->o;
	const char *parent = o->workdir ? o->workdir : getenv("TMPDIR");
	const char *const build[] = { "bzImage", NULL };
	struct kernel_output outs[KERNEL_OUTPUTS];
	char work[PATH_MAX], src[PATH_MAX], log[PATH_MAX], path[PATH_MAX], release[128];
	char *tree = NULL, *abs_parent;
	struct kernel_make km;
	time_t newest;
	FILE *f;
	int i, ret = -1;

	if (!parent || !*parent)
		parent = "/var/tmp";
	if (mkdir_p(parent) < 0) {
		pr_err("%s: %s", parent, strerror(errno));
		return -1;
	}
	/* make runs in the tree: every path it is given must be absolute. */
	abs_parent = realpath(parent, NULL);
	if (!abs_parent) {
		pr_err("%s: %s", parent, strerror(errno));
		return -1;
	}
	ret = pathf(work, sizeof(work), "%s/openwsl-kernel.XXXXXX", abs_parent);
	free(abs_parent);
	if (ret < 0)
		return -1;
	ret = -1;
	if (!mkdtemp(work)) {
		pr_err("%s: %s", work, strerror(errno));
		return -1;
	}
	*workp = strdup(work);
	if (pathf(src, sizeof(src), "%s/src", work) < 0 ||
	    pathf(log, sizeof(log), "%s/build.log", work) < 0)
		return -1;
	if (mkdir(src, 0755) < 0) {
		pr_err("%s: %s", src, strerror(errno));
		return -1;
	}
	if (j->source_is_dir) {
		if (kernel_copy_tree(o->source, src) < 0)
			return -1;
		tree = strdup(src);
	} else {
		if (kernel_unpack(o->source, src, &tree, &newest) < 0)
			return -1;
		if (j->epoch < 0)
			j->epoch = newest;
	}
	if (!tree)
		return -1;
	for (i = 0; i < j->npatches; i++) {
		const char *shown = j->ki.in[j->first_patch + i].path;

		pr_info("applying %s", shown);
		if (kernel_apply_patch(tree, j->patches[i], shown) < 0)
			goto out;
	}
	km = (struct kernel_make){ .dir = tree, .log = log, .epoch = j->epoch, .jobs = o->jobs };
	if (configure(j, &km, work) < 0)
		goto out;
	pr_info("building the kernel (%d jobs; the log is %s)", o->jobs, log);
	if (kernel_make_run(&km, "building", build) < 0 || read_release(tree, release, sizeof(release)) < 0)
		goto out;

	if (pathf(path, sizeof(path), "%s/out", work) < 0)
		goto out;
	if (mkdir(path, 0755) < 0) {
		pr_err("%s: %s", path, strerror(errno));
		goto out;
	}
	for (i = 0; i < KERNEL_OUTPUTS; i++) {
		const char *rel = i == 0 ? "arch/x86/boot/bzImage" : kernel_output_names[i];
		char from[PATH_MAX], to[PATH_MAX];

		if (pathf(from, sizeof(from), "%s/%s", tree, rel) < 0 ||
		    pathf(to, sizeof(to), "%s/out/%s", work, kernel_output_names[i]) < 0)
			goto out;
		outs[i].name = kernel_output_names[i];
		if (rename(from, to) < 0) {
			pr_err("%s: %s", from, strerror(errno));
			goto out;
		}
		if (sha256_file(to, outs[i].sha256, &outs[i].size) < 0)
			goto out;
	}
	if (pathf(path, sizeof(path), "%s/out/manifest", work) < 0)
		goto out;
	f = fopen(path, "w");
	if (!f || kernel_manifest_write(f, &j->ki, j->epoch, release, outs, KERNEL_OUTPUTS) < 0 ||
	    fclose(f) < 0) {
		pr_err("%s: cannot write", path);
		goto out;
	}
	ret = 0;
out:
	free(tree);
	return ret;
}
