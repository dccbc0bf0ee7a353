// SPDX-License-Identifier: MIT
/*
 * mkwslimage kernel: builds the guest kernel (bzImage and vmlinux) from a
 * source tarball or tree, the line's patch series and config fragments,
 * reproducibly, and keeps the result in a cache keyed by all the inputs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "mkwslimage.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mkwslimage kernel --source TARBALL|DIR --out DIR [OPTIONS]\n"
		"\n"
		"Builds the guest kernel: unpacks the source, applies the line's patch\n"
		"series, merges its config fragments over allnoconfig, runs olddefconfig,\n"
		"checks that every option the fragments ask for survived, and builds\n"
		"bzImage and vmlinux.  DIR gets bzImage, vmlinux, .config and a manifest\n"
		"(sha256 of every input and output).  The build is reproducible and\n"
		"cached, keyed by the hash of all its inputs.\n"
		"\n"
		"  --source PATH      kernel source: a tarball or an unpacked tree\n"
		"  --out DIR          where the outputs go (created if missing)\n"
		"  --line LINE        kernel line: kernel-patches/LINE/ (default 6.1)\n"
		"  --fragments LIST   comma-separated fragments, applied in order; a name\n"
		"                     means kernel-patches/LINE/NAME.config, anything with\n"
		"                     a '/' is a path (default base,containers,size)\n"
		"  --sha256 HEX       the tarball's expected sha256\n"
		"  --patches DIR      the kernel-patches folder (default ./kernel-patches)\n"
		"  --cache DIR        the cache (default /var/cache/openwsl/kernel when\n"
		"                     writable, else $XDG_CACHE_HOME/openwsl/kernel)\n"
		"  --no-cache         neither read nor fill the cache\n"
		"  --reproduce        also build a second time in another directory and\n"
		"                     check both give identical outputs (recorded in the\n"
		"                     cache: done once per set of inputs)\n"
		"  --work DIR         where to unpack and build (default $TMPDIR or /var/tmp)\n"
		"  --keep-work        keep the work directory\n"
		"  -j, --jobs N       parallel jobs (default: the number of CPUs)\n"
		"  -h, --help         show this help\n"
		"\n"
		"SOURCE_DATE_EPOCH, when set, fixes the build time; otherwise it is the\n"
		"newest modification time in the source.\n");
}

static int is_hex64(const char *s)
{
	int i;

	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[64] == '\0';
}

/* --- gathering the inputs --- */

static int add_file_input(struct kjob *j, const char *kind, const char *path)
{
	char hex[SHA256_HEX];
	const char *base = strrchr(path, '/');

	if (sha256_file(path, hex, NULL) < 0)
		return -1;
	if (kernel_inputs_add(&j->ki, kind, base ? base + 1 : path, path, hex) < 0) {
		pr_err("out of memory");
		return -1;
	}
	return 0;
}

static int gather_source(struct kjob *j)
{
	const struct kopts *o = j->o;
	char hex[SHA256_HEX], *name;
	const char *base;
	struct stat st;
	time_t newest;
	size_t len;
	int ret;

	if (stat(o->source, &st) < 0) {
		pr_err("%s: %s", o->source, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (o->sha256) {
			pr_err("--sha256 checks a tarball; %s is a directory", o->source);
			return -1;
		}
		j->source_is_dir = 1;
		if (sha256_tree(o->source, hex, &newest) < 0)
			return -1;
		/* A tree's times are not in its hash: the derived epoch is. */
		if (j->epoch < 0)
			j->epoch = newest;
	} else {
		if (sha256_file(o->source, hex, NULL) < 0)
			return -1;
		if (o->sha256 && strcasecmp(hex, o->sha256)) {
			pr_err("%s: sha256 is %s, expected %s", o->source, hex, o->sha256);
			return -1;
		}
	}
	/* Named by its last component: where it sits is not an input. */
	name = strdup(o->source);
	if (!name)
		return -1;
	for (len = strlen(name); len > 1 && name[len - 1] == '/';)
		name[--len] = '\0';
	base = strrchr(name, '/');
	ret = kernel_inputs_add(&j->ki, "source", base && base[1] ? base + 1 : name, o->source,
				hex);
	free(name);
	return ret;
}

static int gather_patches(struct kjob *j, const char *linedir)
{
	char series[PATH_MAX], path[PATH_MAX], **names;
	int n, i;

	if (pathf(series, sizeof(series), "%s/series", linedir) < 0)
		return -1;
	n = kernel_series_read(series, &names);
	if (n < 0)
		return -1;
	j->first_patch = j->ki.n;
	j->patches = calloc(n + 1, sizeof(char *));
	if (!j->patches)
		goto fail;
	for (i = 0; i < n; i++) {
		if (pathf(path, sizeof(path), "%s/%s", linedir, names[i]) < 0 ||
		    add_file_input(j, "patch", path) < 0)
			goto fail;
		/* patch runs in the tree: it needs the absolute path. */
		j->patches[i] = realpath(path, NULL);
		if (!j->patches[i]) {
			pr_err("%s: %s", path, strerror(errno));
			goto fail;
		}
		j->npatches++;
	}
	kernel_series_free(names, n);
	return 0;
fail:
	kernel_series_free(names, n);
	return -1;
}

static int gather_fragments(struct kjob *j, const char *linedir)
{
	char *list = strdup(j->o->fragments), *save = NULL, *tok, path[PATH_MAX];
	int ret = 0, count = 0;

	if (!list)
		return -1;
	for (tok = strtok_r(list, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		const char *from;

		if (strchr(tok, '/'))
			ret = pathf(path, sizeof(path), "%s", tok);
		else
			ret = pathf(path, sizeof(path), "%s/%s.config", linedir, tok);
		if (ret < 0 || add_file_input(j, "fragment", path) < 0) {
			ret = -1;
			break;
		}
		/* The messages name the fragment as the user knows it. */
		from = j->ki.in[j->ki.n - 1].path;
		ret = kconfig_parse_file(&j->want, from, from);
		count++;
	}
	free(list);
	if (!ret && !count) {
		pr_err("--fragments names no fragment");
		ret = -1;
	}
	return ret;
}

static int pick_cache_root(struct kjob *j)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (j->o->cache) {
		return pathf(j->cache_root, sizeof(j->cache_root), "%s", j->o->cache);
	}
	if (mkdir_p("/var/cache/openwsl/kernel") == 0 &&
	    access("/var/cache/openwsl/kernel", W_OK) == 0) {
		return pathf(j->cache_root, sizeof(j->cache_root), "/var/cache/openwsl/kernel");
	}
	if (xdg && *xdg)
		return pathf(j->cache_root, sizeof(j->cache_root), "%s/openwsl/kernel", xdg);
	return pathf(j->cache_root, sizeof(j->cache_root), "%s/.cache/openwsl/kernel",
		     home ? home : "/tmp");
}

static int gather(struct kjob *j)
{
	const struct kopts *o = j->o;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char linedir[PATH_MAX];
	struct stat st;

	j->epoch = -1;
	if (sde && *sde) {
		char *end;

		errno = 0;
		j->epoch = strtoll(sde, &end, 10);
		if (errno || *end || j->epoch < 0) {
			pr_err("SOURCE_DATE_EPOCH='%s' is not a number of seconds", sde);
			return -1;
		}
		if (asprintf(&j->ki.epoch, "%lld", j->epoch) < 0)
			return -1;
	}
	if (pathf(linedir, sizeof(linedir), "%s/%s", o->patches, o->line) < 0)
		return -1;
	if (stat(linedir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		pr_err("%s: no such kernel line (see --patches and --line)", linedir);
		return -1;
	}
	if (gather_source(j) < 0 || gather_patches(j, linedir) < 0 ||
	    gather_fragments(j, linedir) < 0)
		return -1;
	if (j->source_is_dir && !j->ki.epoch &&
	    asprintf(&j->ki.epoch, "%lld (newest in the tree)", j->epoch) < 0)
		return -1;
	j->ki.compiler = tool_version("gcc");
	j->ki.linker = tool_version("ld");
	if (!j->ki.compiler || !j->ki.linker) {
		pr_err("cannot run %s --version: is build-essential installed?",
		       j->ki.compiler ? "ld" : "gcc");
		return -1;
	}
	kernel_inputs_key(&j->ki, j->key);
	return pick_cache_root(j);
}

static int store_in_cache(struct kjob *j, const char *out_dir)
{
	char entry[PATH_MAX], tmp[PATH_MAX];

	if (pathf(entry, sizeof(entry), "%s/%s", j->cache_root, j->key) < 0 ||
	    pathf(tmp, sizeof(tmp), "%s.tmp-%d", entry, (int)getpid()) < 0)
		return -1;
	if (copy_outputs(out_dir, tmp) < 0) {
		remove_tree(tmp);
		return -1;
	}
	if (rename(tmp, entry) < 0) {
		/* Another build of the same inputs got there first: keep theirs. */
		remove_tree(tmp);
		if (errno != EEXIST && errno != ENOTEMPTY) {
			pr_err("%s: %s", entry, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Builds again in a fresh directory (another path, a later time) and
 * compares every output with the first build's manifest.  The record of
 * success goes into the cache entry, so it is done once per set of inputs,
 * and into --out as "reproduced".
 */
static int reproduce(struct kjob *j, const char *first)
{
	struct kernel_output outs[KERNEL_OUTPUTS];
	char stamp[PATH_MAX], out_stamp[PATH_MAX], manifest[PATH_MAX], second[PATH_MAX];
	char *work = NULL, *text = NULL;
	size_t len = 0;
	FILE *f;
	int i, ret = -1;

	if (pathf(stamp, sizeof(stamp), "%s/%s/reproduced", j->cache_root, j->key) < 0 ||
	    pathf(out_stamp, sizeof(out_stamp), "%s/reproduced", j->o->out) < 0 ||
	    pathf(manifest, sizeof(manifest), "%s/manifest", first) < 0)
		return -1;
	if (!j->o->no_cache && access(stamp, F_OK) == 0) {
		pr_info("reproducibility already checked for these inputs (%s)", stamp);
		return copy_file(stamp, out_stamp);
	}
	pr_info("building again in another directory to check reproducibility");
	if (build_fresh(j, &work) < 0 || pathf(second, sizeof(second), "%s/out", work) < 0)
		goto out;
	if (check_outputs(second, first, 0) < 0) {
		pr_err("not reproducible: the second build (in %s) differs from the first", work);
		goto out;
	}
	for (i = 0; i < KERNEL_OUTPUTS; i++)
		outs[i].name = kernel_output_names[i];
	f = fopen(manifest, "r");
	if (!f || kernel_manifest_outputs(f, outs, KERNEL_OUTPUTS) < 0) {
		pr_err("%s: missing or malformed", manifest);
		if (f)
			fclose(f);
		goto out;
	}
	fclose(f);
	f = open_memstream(&text, &len);
	if (!f)
		goto out;
	fprintf(f, "# a second build of the same inputs gave the same outputs\n");
	fprintf(f, "cache-key %s\nsecond-build-dir %s\nsecond-build-time %lld\n", j->key, work,
		(long long)time(NULL));
	for (i = 0; i < KERNEL_OUTPUTS; i++)
		fprintf(f, "identical %s %s\n", outs[i].sha256, outs[i].name);
	if (fclose(f) < 0)
		goto out;
	if (write_text(out_stamp, text) < 0 || (!j->o->no_cache && write_text(stamp, text) < 0))
		goto out;
	ret = 0;
out:
	if (work && (ret < 0 || j->o->keep_work))
		pr_err("%s the second build's work directory %s", ret < 0 ? "see" : "kept", work);
	else if (work)
		remove_tree(work);
	free(work);
	free(text);
	return ret;
}

/* Waits for and takes an exclusive lock on path; returns its fd, or -1. */
static int lock_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		pr_err("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * The outputs in --out, from the cache or a fresh build.  One build per
 * set of inputs at a time: the others wait on the lock and reuse it.
 * *firstp gets the folder holding the outputs and their manifest.
 */
static int get_outputs(struct kjob *j, const char *entry, char **workp, char *first,
		       size_t len)
{
	const struct kopts *o = j->o;
	char lock[PATH_MAX];
	int lockfd = -1, ret = -1;

	if (!o->no_cache) {
		if (mkdir_p(j->cache_root) < 0) {
			pr_err("%s: %s", j->cache_root, strerror(errno));
			return -1;
		}
		if (pathf(lock, sizeof(lock), "%s.lock", entry) < 0 ||
		    (lockfd = lock_file(lock)) < 0)
			return -1;
		if (check_outputs(entry, entry, 1) == 0) {
			pr_info("cached: %s", entry);
			ret = copy_outputs(entry, o->out);
			snprintf(first, len, "%s", entry);
			goto out;
		}
	}
	if (build_fresh(j, workp) < 0 || pathf(first, len, "%s/out", *workp) < 0)
		goto out;
	if (!o->no_cache && store_in_cache(j, first) < 0)
		goto out;
	ret = copy_outputs(first, o->out);
out:
	if (lockfd >= 0)
		close(lockfd);
	return ret;
}

static int run_job(struct kjob *j)
{
	const struct kopts *o = j->o;
	char entry[PATH_MAX], lock[PATH_MAX], first[PATH_MAX], *work = NULL;
	int lockfd = -1, ret;

	if (pathf(entry, sizeof(entry), "%s/%s", j->cache_root, j->key) < 0)
		return -1;
	ret = get_outputs(j, entry, &work, first, sizeof(first));
	/*
	 * The second build takes a lock of its own, so that builds needing
	 * only the outputs do not wait for it.
	 */
	if (!ret && o->reproduce) {
		if (!o->no_cache && (pathf(lock, sizeof(lock), "%s.reproduce.lock", entry) < 0 ||
				     (lockfd = lock_file(lock)) < 0))
			ret = -1;
		else
			ret = reproduce(j, first);
		if (lockfd >= 0)
			close(lockfd);
	}
	if (work) {
		if (o->keep_work || ret < 0)
			pr_err("%s the work directory %s", ret < 0 ? "see" : "kept", work);
		if (!o->keep_work && ret == 0)
			remove_tree(work);
	}
	free(work);
	return ret;
}

static int kernel_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "line", required_argument, NULL, 'l' },
		{ "fragments", required_argument, NULL, 'f' },
		{ "sha256", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ "patches", required_argument, NULL, 'p' },
		{ "cache", required_argument, NULL, 'c' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "reproduce", no_argument, NULL, 'R' },
		{ "work", required_argument, NULL, 'w' },
		{ "keep-work", no_argument, NULL, 'k' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct kopts o = { .line = "6.1", .fragments = "base,containers,size",
			   .patches = "kernel-patches" };
	struct kjob j;
	int c, ret;

	while ((c = getopt_long(argc, argv, "j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.source = optarg; break;
		case 'l': o.line = optarg; break;
		case 'f': o.fragments = optarg; break;
		case 'S': o.sha256 = optarg; break;
		case 'o': o.out = optarg; break;
		case 'p': o.patches = optarg; break;
		case 'c': o.cache = optarg; break;
		case 'N': o.no_cache = 1; break;
		case 'R': o.reproduce = 1; break;
		case 'w': o.workdir = optarg; break;
		case 'k': o.keep_work = 1; break;
		case 'j':
			o.jobs = atoi(optarg);
			if (o.jobs < 1) {
				pr_err("--jobs wants a positive number, not '%s'", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (try --help)", argv[optind]);
		return 2;
	}
	if (!o.source || !o.out) {
		pr_err("--source and --out are required (try --help)");
		return 2;
	}
	if (o.sha256 && !is_hex64(o.sha256)) {
		pr_err("--sha256 wants 64 hex digits, not '%s'", o.sha256);
		return 2;
	}
	if (!o.jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o.jobs = n > 0 ? (int)n : 1;
	}
	memset(&j, 0, sizeof(j));
	j.o = &o;
	kernel_inputs_init(&j.ki, o.line);
	kconfig_init(&j.want);
	ret = gather(&j) == 0 && run_job(&j) == 0 ? 0 : 1;
	if (!ret)
		pr_info("kernel %s: %s/bzImage, %s/vmlinux", j.key, o.out, o.out);
	kernel_series_free(j.patches, j.npatches);
	kconfig_free(&j.want);
	kernel_inputs_free(&j.ki);
	return ret;
}

BUILDER_COMMAND(kernel, "kernel", "build the guest kernel (bzImage, vmlinux) reproducibly, cached",
		kernel_main);
