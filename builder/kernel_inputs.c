// SPDX-License-Identifier: MIT
/*
 * What goes into a kernel build and what comes out, as hashes: the inputs'
 * canonical text (its sha256 is the cache key) and the manifest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "mkwslimage.h"

const char *const kernel_output_names[KERNEL_OUTPUTS] = { "bzImage", "vmlinux", ".config" };

static void to_hex(const unsigned char *md, char hex[SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

static void finish(EVP_MD_CTX *ctx, char hex[SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_DigestFinal_ex(ctx, md, &len);
	to_hex(md, hex);
}

static EVP_MD_CTX *start(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		pr_err("cannot set up sha256 (libcrypto)");
		return NULL;
	}
	return ctx;
}

void sha256_buf(const void *buf, size_t len, char hex[SHA256_HEX])
{
	EVP_MD_CTX *ctx = start();

	if (!ctx)
		abort();
	EVP_DigestUpdate(ctx, buf, len);
	finish(ctx, hex);
	EVP_MD_CTX_free(ctx);
}

/* Hashes an open file's content into ctx; progress when p is given. */
static int hash_fd(EVP_MD_CTX *ctx, int fd, const char *path, uint64_t *size,
		   struct progress *p)
{
	static unsigned char buf[1 << 16];
	uint64_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("%s: %s", path, strerror(errno));
			return -1;
		}
		EVP_DigestUpdate(ctx, buf, n);
		total += n;
		if (p)
			progress_update(p, total);
	}
	if (size)
		*size = total;
	return 0;
}

int sha256_file(const char *path, char hex[SHA256_HEX], uint64_t *size)
{
	struct progress p;
	struct stat st;
	EVP_MD_CTX *ctx;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("%s: %s", path, strerror(errno));
		return -1;
	}
	ctx = start();
	if (!ctx) {
		close(fd);
		return -1;
	}
	/* Only big files (the source tarball) are worth a progress line. */
	if (fstat(fd, &st) == 0 && st.st_size > (64 << 20))
		progress_start(&p, "hashing", st.st_size);
	else
		p.enabled = 0, p.label = NULL;
	ret = hash_fd(ctx, fd, path, size, p.label ? &p : NULL);
	if (p.label)
		progress_end(&p);
	close(fd);
	if (!ret)
		finish(ctx, hex);
	EVP_MD_CTX_free(ctx);
	return ret;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

/* rel is the path below the tree's top ("" for the top). */
static int hash_tree(EVP_MD_CTX *ctx, const char *top, const char *rel, time_t *newest)
{
	struct dirent **ents;
	char path[4096], sub[4096], link[4096];
	int n, i, ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", top, *rel ? "/" : "", rel) >=
	    sizeof(path)) {
		pr_err("%s/%s: path too long", top, rel);
		return -1;
	}
	n = scandir(path, &ents, skip_dots, name_cmp);
	if (n < 0) {
		pr_err("%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct stat st;
		char head[64];
		int fd;

		if (ret)
			goto next;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
				     ents[i]->d_name) >= sizeof(sub) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", top, sub) >= sizeof(path)) {
			pr_err("%s/%s: path too long", top, rel);
			ret = -1;
			goto next;
		}
		if (lstat(path, &st) < 0) {
			pr_err("%s: %s", path, strerror(errno));
			ret = -1;
			goto next;
		}
		if (st.st_mtime > *newest)
			*newest = st.st_mtime;
		/* path, NUL, type+mode, then the content (files), the target (links) */
		EVP_DigestUpdate(ctx, sub, strlen(sub) + 1);
		snprintf(head, sizeof(head), "%o", (unsigned int)st.st_mode);
		EVP_DigestUpdate(ctx, head, strlen(head) + 1);
		if (S_ISDIR(st.st_mode)) {
			ret = hash_tree(ctx, top, sub, newest);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t len = readlink(path, link, sizeof(link));

			if (len < 0) {
				pr_err("%s: %s", path, strerror(errno));
				ret = -1;
			} else {
				EVP_DigestUpdate(ctx, link, len);
			}
		} else if (S_ISREG(st.st_mode)) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				pr_err("%s: %s", path, strerror(errno));
				ret = -1;
			} else {
				ret = hash_fd(ctx, fd, path, NULL, NULL);
				close(fd);
			}
		}
next:
		free(ents[i]);
	}
	free(ents);
	return ret;
}

int sha256_tree(const char *dir, char hex[SHA256_HEX], time_t *newest)
{
	EVP_MD_CTX *ctx = start();
	int ret;

	if (!ctx)
		return -1;
	*newest = 0;
	ret = hash_tree(ctx, dir, "", newest);
	if (!ret)
		finish(ctx, hex);
	EVP_MD_CTX_free(ctx);
	return ret;
}

void kernel_inputs_init(struct kernel_inputs *ki, const char *line)
{
	memset(ki, 0, sizeof(*ki));
	ki->recipe = KERNEL_RECIPE;
	ki->line = line;
}

void kernel_inputs_free(struct kernel_inputs *ki)
{
	size_t i;

	for (i = 0; i < ki->n; i++) {
		free(ki->in[i].name);
		free(ki->in[i].path);
	}
	free(ki->in);
	free(ki->compiler);
	free(ki->linker);
	free(ki->epoch);
	memset(ki, 0, sizeof(*ki));
}

int kernel_inputs_add(struct kernel_inputs *ki, const char *kind, const char *name,
		      const char *path, const char *sha256)
{
	struct kernel_input *in;

	if (ki->n == ki->cap) {
		size_t cap = ki->cap ? ki->cap * 2 : 8;

		in = realloc(ki->in, cap * sizeof(*in));
		if (!in)
			return -1;
		ki->in = in;
		ki->cap = cap;
	}
	in = &ki->in[ki->n];
	in->kind = kind;
	in->name = strdup(name);
	in->path = strdup(path);
	if (!in->name || !in->path) {
		free(in->name);
		free(in->path);
		return -1;
	}
	snprintf(in->sha256, sizeof(in->sha256), "%s", sha256);
	ki->n++;
	return 0;
}

/*
 * One line per input, in a fixed order, naming files by their base name
 * only: where the inputs sit does not change the kernel, so it must not
 * change the key.  The order of patches and fragments does, and is kept.
 */
char *kernel_inputs_text(const struct kernel_inputs *ki)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "recipe %d\n", ki->recipe);
	fprintf(f, "line %s\n", ki->line);
	for (i = 0; i < ki->n; i++)
		fprintf(f, "input %s %s %s\n", ki->in[i].kind, ki->in[i].sha256, ki->in[i].name);
	fprintf(f, "compiler %s\n", ki->compiler ? ki->compiler : "unknown");
	fprintf(f, "linker %s\n", ki->linker ? ki->linker : "unknown");
	fprintf(f, "source-date-epoch %s\n", ki->epoch ? ki->epoch : "from-source");
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

void kernel_inputs_key(const struct kernel_inputs *ki, char hex[SHA256_HEX])
{
	char *text = kernel_inputs_text(ki);

	if (!text)
		abort();
	sha256_buf(text, strlen(text), hex);
	free(text);
}

char *tool_version(const char *program)
{
	char cmd[256], *line = NULL;
	size_t cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s --version 2>/dev/null", program);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	if (getline(&line, &cap, p) < 0) {
		free(line);
		line = NULL;
	} else {
		line[strcspn(line, "\n")] = '\0';
	}
	/* Read to the end so the program is not killed by SIGPIPE. */
	while (fgetc(p) != EOF)
		;
	if (pclose(p) != 0) {
		free(line);
		return NULL;
	}
	return line;
}

int kernel_manifest_write(FILE *f, const struct kernel_inputs *ki, long long epoch,
			  const char *release, const struct kernel_output *out, size_t n)
{
	char key[SHA256_HEX], *text = kernel_inputs_text(ki);
	size_t i;

	if (!text)
		return -1;
	kernel_inputs_key(ki, key);
	fprintf(f, "# openwsl kernel manifest: what went in, what came out (sha256)\n");
	fputs(text, f);
	free(text);
	fprintf(f, "cache-key %s\n", key);
	fprintf(f, "epoch %lld\n", epoch);
	fprintf(f, "release %s\n", release);
	for (i = 0; i < n; i++)
		fprintf(f, "output %s %" PRIu64 " %s\n", out[i].sha256, out[i].size, out[i].name);
	return ferror(f) ? -1 : 0;
}

int kernel_manifest_outputs(FILE *f, struct kernel_output *out, size_t n)
{
	char *line = NULL;
	size_t cap = 0, i, found = 0;

	for (i = 0; i < n; i++)
		out[i].sha256[0] = '\0';
	while (getline(&line, &cap, f) >= 0) {
		char hex[SHA256_HEX], name[64];
		uint64_t size;

		if (strncmp(line, "output ", 7))
			continue;
		if (sscanf(line, "output %64[0-9a-f] %" SCNu64 " %63s", hex, &size, name) != 3 ||
		    strlen(hex) != 64)
			goto bad;
		for (i = 0; i < n; i++) {
			if (strcmp(out[i].name, name))
				continue;
			if (out[i].sha256[0])
				goto bad;
			memcpy(out[i].sha256, hex, SHA256_HEX);
			out[i].size = size;
			found++;
		}
	}
	free(line);
	return found == n ? 0 : -1;
bad:
	free(line);
	return -1;
}
