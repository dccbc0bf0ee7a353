/* SPDX-License-Identifier: MIT */
/*
 * mkwslimage kernel: the pieces shared by its files.
 *
 *   kernel.c          the command: options, inputs, cache, reproducibility check
 *   kernel_build.c    one build from scratch in a fresh directory
 *   kernel_config.c   config fragments: parse, merge, verify a .config
 *   kernel_inputs.c   hashes of the inputs, the cache key and the manifest
 *   kernel_source.c   unpack the source, apply the patch series
 *   kernel_make.c     run the kernel's own make, reproducibly, with progress
 *   kernel_files.c    checked paths, whole copies, outputs against a manifest
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Bump when the way a kernel is built changes: it is part of the cache key. */
#define KERNEL_RECIPE 1

#define SHA256_HEX 65 /* 64 hex digits and a NUL */

/* --- kernel_config.c --- */

/* One option a fragment asks for.  value is "y", "m", "n" (also for
 * "# CONFIG_FOO is not set"), a number or a quoted string, as written. */
struct kconfig_opt {
	char *name;	  /* "CONFIG_FOO" */
	char *value;
	const char *from; /* the fragment that set it last */
	unsigned int line;
};

struct kconfig {
	struct kconfig_opt *opts;
	size_t n, cap;
};

void kconfig_init(struct kconfig *kc);
void kconfig_free(struct kconfig *kc);
const struct kconfig_opt *kconfig_find(const struct kconfig *kc, const char *name);

/*
 * Adds the options of one fragment (or a whole .config) read from f; a
 * later setting of the same option replaces an earlier one.  Lines that
 * are neither an option, "# CONFIG_FOO is not set", a comment nor blank
 * are errors: returns -1 after printing "<from>:<line>: ..." with pr_err.
 */
int kconfig_parse(struct kconfig *kc, FILE *f, const char *from);
int kconfig_parse_file(struct kconfig *kc, const char *path, const char *from);

/* Writes the options in .config syntax, in the order they were first set. */
int kconfig_write(const struct kconfig *kc, FILE *f);

/*
 * Checks that every option in want has the same value in have, the
 * .config after olddefconfig ("n" matches an absent option too).  Prints
 * one error per option that did not survive, naming its fragment, and
 * returns how many did not.
 */
size_t kconfig_verify(const struct kconfig *want, const struct kconfig *have);

/* --- kernel_inputs.c --- */

struct sha256_ctx;
int sha256_file(const char *path, char hex[SHA256_HEX], uint64_t *size);
void sha256_buf(const void *buf, size_t len, char hex[SHA256_HEX]);
/* Hash of a source tree: every path, type, mode and content, sorted by
 * path; also the newest modification time found. */
int sha256_tree(const char *dir, char hex[SHA256_HEX], time_t *newest);

struct kernel_input {
	const char *kind;	 /* "source", "patch", "fragment" */
	char *name;		 /* as shown: the file's name */
	char *path;		 /* where it is read from */
	char sha256[SHA256_HEX];
};

struct kernel_inputs {
	int recipe;
	const char *line;	 /* "6.1" */
	struct kernel_input *in;
	size_t n, cap;
	char *compiler;		 /* first line of "gcc --version" */
	char *linker;		 /* first line of "ld --version" */
	char *epoch;		 /* SOURCE_DATE_EPOCH given, or "from-source" */
};

void kernel_inputs_init(struct kernel_inputs *ki, const char *line);
void kernel_inputs_free(struct kernel_inputs *ki);
int kernel_inputs_add(struct kernel_inputs *ki, const char *kind, const char *name,
		      const char *path, const char *sha256);
/* The canonical text of the inputs: the cache key is its sha256. */
char *kernel_inputs_text(const struct kernel_inputs *ki);
void kernel_inputs_key(const struct kernel_inputs *ki, char hex[SHA256_HEX]);
/* First line of "PROGRAM --version", or NULL. */
char *tool_version(const char *program);

/* One output file listed in the manifest. */
struct kernel_output {
	const char *name;	/* "bzImage", "vmlinux", ".config" */
	char sha256[SHA256_HEX];
	uint64_t size;
};

#define KERNEL_OUTPUTS 3
extern const char *const kernel_output_names[KERNEL_OUTPUTS];

/*
 * The manifest: the inputs' text, the cache key, the SOURCE_DATE_EPOCH
 * used, the kernel release, and each output's sha256 and size.
 */
int kernel_manifest_write(FILE *f, const struct kernel_inputs *ki, long long epoch,
			  const char *release, const struct kernel_output *out, size_t n);
/* Reads the outputs' hashes back from a manifest; -1 when malformed. */
int kernel_manifest_outputs(FILE *f, struct kernel_output *out, size_t n);

/* --- kernel_source.c --- */

/* Unpacks a tarball into dir; *tree gets the tree's top (the one directory
 * the archive holds, or dir), *newest the newest entry mtime. */
int kernel_unpack(const char *tarball, const char *dir, char **tree, time_t *newest);
/* Copies a source tree into dir. */
int kernel_copy_tree(const char *src, const char *dir);
/* Reads "<patches>/<line>/series": the patch names in order.  Blank lines
 * and "#" comments are skipped.  Returns the count, or -1. */
int kernel_series_read(const char *series, char ***names);
void kernel_series_free(char **names, int n);
/* Applies one patch (-p1, no fuzz) in dir; on failure prints patch's
 * output and names the patch. */
int kernel_apply_patch(const char *dir, const char *patch, const char *shown);

/* --- kernel_make.c --- */

struct kernel_make {
	const char *dir;	/* the unpacked source: built in place */
	const char *log;	/* make's output goes here */
	long long epoch;	/* SOURCE_DATE_EPOCH */
	int jobs;
};

/* Runs "make ARGS..." in the tree, reproducibly; label names the step on
 * the progress line.  On failure shows the end of the log. */
int kernel_make_run(const struct kernel_make *km, const char *label, const char *const *args);
/* The KBUILD_BUILD_TIMESTAMP text for an epoch: "Tue Nov 14 22:13:20 UTC 2023". */
void kernel_timestamp(long long epoch, char *buf, size_t len);

/* Runs argv (argv[0] looked up in PATH) with stdout and stderr into
 * log (or inherited when log is NULL), in dir (or here when NULL).
 * Returns its exit status, or -1 when it could not run or was killed. */
int run_logged(const char *dir, const char *log, const char *const *argv);

/* --- the command (kernel.c) and one build (kernel_build.c) --- */

struct kopts {
	const char *source;
	const char *line;
	const char *fragments;
	const char *sha256;
	const char *out;
	const char *patches;
	const char *cache;
	const char *workdir;
	int no_cache, keep_work, reproduce, jobs;
};

/* Everything one build needs, gathered before anything is unpacked. */
struct kjob {
	const struct kopts *o;
	struct kernel_inputs ki;
	struct kconfig want;	 /* the fragments, merged */
	char **patches;		 /* absolute paths of the series' patches, in order */
	int npatches;
	size_t first_patch;	 /* the first patch's index in ki.in (shown names) */
	int source_is_dir;
	long long epoch;	 /* -1: from the source */
	char key[SHA256_HEX];
	char cache_root[PATH_MAX];
};

/* One build in a fresh directory under the work parent; *workp gets it. */
int build_fresh(struct kjob *j, char **workp);

/* --- kernel_files.c --- */

/* snprintf for paths: fails, naming the path, instead of truncating it. */
int pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int mkdir_p(const char *path);
/* Copies src to dst through a temporary name: dst is whole or absent. */
int copy_file(const char *src, const char *dst);
int write_text(const char *path, const char *text);
void remove_tree(const char *dir);
/* Copies bzImage, vmlinux, .config and manifest between folders, bzImage last. */
int copy_outputs(const char *from, const char *to);
/* Checks the outputs in dir against the manifest in manifest_dir, naming
 * each that differs (unless quiet). */
int check_outputs(const char *dir, const char *manifest_dir, int quiet);

#endif
