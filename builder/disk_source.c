// SPDX-License-Identifier: MIT
/* Reading a tarball once, decompressing on a second core (see disk_source.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lzma.h>

#include "disk_source.h"
#include "mkwslimage.h"

static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };

/* Reads the next piece of the input into s->in; its length, 0 at the end, -1 failed. */
static ssize_t read_input(struct tar_source *s)
{
	ssize_t n;

	do
		n = read(s->fd, s->in, SOURCE_BLOCK);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		__atomic_add_fetch(&s->consumed, n, __ATOMIC_RELAXED);
	return n;
}

/* The decompressor's side of the ring: a block to fill, NULL when told to stop. */
static uint8_t *slot_get(struct tar_source *s)
{
	uint8_t *slot = NULL;

	pthread_mutex_lock(&s->lock);
	while (!s->stop && !s->drain && s->filled == SOURCE_SLOTS)
		pthread_cond_wait(&s->changed, &s->lock);
	/* Draining, nobody reads the blocks: any one will do. */
	if (!s->stop)
		slot = s->slot[s->drain ? 0 : (s->first + s->filled) % SOURCE_SLOTS];
	pthread_mutex_unlock(&s->lock);
	return slot;
}

/* Hands the block slot_get() gave over to the tar reader. */
static void slot_put(struct tar_source *s, size_t len)
{
	pthread_mutex_lock(&s->lock);
	if (!s->drain) {
		s->slot_len[(s->first + s->filled) % SOURCE_SLOTS] = len;
		s->filled++;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
}

/* The tar reader's side: the next block, kept until the next call (libarchive's rule). */
static la_ssize_t slot_read(struct archive *a, void *arg, const void **buf)
{
	struct tar_source *s = arg;
	la_ssize_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (s->held) {
		s->first = (s->first + 1) % SOURCE_SLOTS;
		s->filled--;
		s->held = 0;
		pthread_cond_broadcast(&s->changed);
	}
	while (!s->filled && !s->done)
		pthread_cond_wait(&s->changed, &s->lock);
	/* The end, or the decompressor failed: it reports why when joined. */
	if (s->filled) {
		*buf = s->slot[s->first];
		n = s->slot_len[s->first];
		s->held = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

static const char *xz_strerror(lzma_ret ret)
{
	switch (ret) {
	case LZMA_BUF_ERROR:
		return "the compressed stream ends early: truncated?";
	case LZMA_DATA_ERROR:
		return "the compressed data is corrupt";
	case LZMA_FORMAT_ERROR:
		return "not xz data after the end of a stream";
	case LZMA_OPTIONS_ERROR:
		return "the stream uses xz options liblzma does not support";
	case LZMA_MEM_ERROR:
		return "out of memory";
	default:
		return "liblzma failed";
	}
}

/* xz through liblzma, straight into the ring's blocks. */
static void decompress_xz(struct tar_source *s)
{
	lzma_stream xz = LZMA_STREAM_INIT;
	lzma_action action = LZMA_RUN;
	lzma_ret ret;
	uint8_t *out;

	/* No memory limit: the input's own (dictionary) sizes rule, as for xz -d. */
	ret = lzma_stream_decoder(&xz, UINT64_MAX, LZMA_CONCATENATED);
	xz.next_in = s->in;
	xz.avail_in = s->in_len;
	while (ret == LZMA_OK && (out = slot_get(s))) {
		xz.next_out = out;
		xz.avail_out = SOURCE_BLOCK;
		while (ret == LZMA_OK && xz.avail_out) {
			if (!xz.avail_in && action == LZMA_RUN) {
				ssize_t n = read_input(s);

				if (n < 0) {
					snprintf(s->error, sizeof(s->error), "reading: %s",
						 strerror(errno));
					goto out;
				}
				xz.next_in = s->in;
				xz.avail_in = n;
				if (!n)
					action = LZMA_FINISH;
			}
			ret = lzma_code(&xz, action);
		}
		if (xz.avail_out < SOURCE_BLOCK)
			slot_put(s, SOURCE_BLOCK - xz.avail_out);
	}
	if (ret != LZMA_OK && ret != LZMA_STREAM_END)
		snprintf(s->error, sizeof(s->error), "%s", xz_strerror(ret));
out:
	lzma_end(&xz);
}

/* Any other compression, through libarchive's filters. */
static void decompress_archive(struct tar_source *s)
{
	la_ssize_t n = 1;
	uint8_t *out;

	while (n > 0 && (out = slot_get(s))) {
		size_t len = 0;

		while (len < SOURCE_BLOCK &&
		       (n = archive_read_data(s->raw, out + len, SOURCE_BLOCK - len)) > 0)
			len += n;
		if (len)
			slot_put(s, len);
	}
	if (n < 0) {
		const char *why = archive_error_string(s->raw);

		/* liblzma's words for a stream that stops in the middle. */
		if (strstr(why, "No progress is possible"))
			snprintf(s->error, sizeof(s->error),
				 "%s (the compressed stream ends early: truncated?)", why);
		else
			snprintf(s->error, sizeof(s->error), "%s", why);
	}
}

static void *decompress(void *arg)
{
	struct tar_source *s = arg;

	if (s->xz)
		decompress_xz(s);
	else
		decompress_archive(s);
	pthread_mutex_lock(&s->lock);
	s->done = 1;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* libarchive's reader of the raw input: what was read ahead first, then the file. */
static la_ssize_t raw_read(struct archive *a, void *arg, const void **buf)
{
	struct tar_source *s = arg;
	ssize_t n = s->in_len;

	if (n)
		s->in_len = 0;
	else
		n = read_input(s);
	if (n < 0)
		archive_set_error(a, errno, "reading: %s", strerror(errno));
	*buf = s->in;
	return n;
}

/* Opens the input as a raw stream through every decompression filter; 1 if compressed. */
static int open_raw(struct tar_source *s)
{
	struct archive_entry *entry;

	s->raw = archive_read_new();
	if (!s->raw || archive_read_support_filter_all(s->raw) ||
	    archive_read_support_format_raw(s->raw) ||
	    archive_read_open(s->raw, s, NULL, raw_read, NULL) ||
	    archive_read_next_header(s->raw, &entry) != ARCHIVE_OK) {
		pr_err("%s: %s", s->name, s->raw ? archive_error_string(s->raw) : "out of memory");
		return -1;
	}
	/* The "none" filter is always there; more means compressed. */
	return archive_filter_count(s->raw) > 1;
}

static int open_tar(struct tar_source *s)
{
	int r;

	s->tar = archive_read_new();
	if (!s->tar || archive_read_support_filter_all(s->tar) ||
	    archive_read_support_format_tar(s->tar)) {
		pr_err("%s: %s", s->name, s->tar ? archive_error_string(s->tar) : "out of memory");
		return -1;
	}
	if (s->threaded)
		r = archive_read_open(s->tar, s, NULL, slot_read, NULL);
	else
		r = archive_read_open_fd(s->tar, s->fd, SOURCE_BLOCK);
	if (r) {
		pr_err("%s: %s", s->name, archive_error_string(s->tar));
		return -1;
	}
	return 0;
}

/* Reads the input's first bytes, enough to tell xz by its magic. */
static int read_ahead(struct tar_source *s)
{
	while (s->in_len < sizeof(xz_magic)) {
		ssize_t n = read(s->fd, s->in + s->in_len, SOURCE_BLOCK - s->in_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_err("%s: reading: %s", s->name, strerror(errno));
			return -1;
		}
		if (!n)
			break;
		s->in_len += n;
	}
	s->consumed = s->in_len;
	s->xz = s->in_len >= sizeof(xz_magic) && !memcmp(s->in, xz_magic, sizeof(xz_magic));
	return 0;
}

static int start_thread(struct tar_source *s)
{
	for (int i = 0; i < SOURCE_SLOTS; i++) {
		s->slot[i] = malloc(SOURCE_BLOCK);
		if (!s->slot[i]) {
			pr_err("%s: out of memory", s->name);
			return -1;
		}
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	if (pthread_create(&s->thread, NULL, decompress, s)) {
		pr_err("%s: starting the decompressing thread", s->name);
		pthread_cond_destroy(&s->changed);
		pthread_mutex_destroy(&s->lock);
		return -1;
	}
	s->threaded = 1;
	return 0;
}

int tar_source_open(struct tar_source *s, const char *from)
{
	int compressed = 1;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->name = from;
	s->fd = strcmp(from, "-") ? open(from, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (s->fd < 0) {
		pr_err("%s: %s", from, strerror(errno));
		return -1;
	}
	if (!fstat(s->fd, &st) && S_ISREG(st.st_mode))
		s->size = st.st_size;
	s->in = malloc(SOURCE_BLOCK);
	if (!s->in) {
		pr_err("%s: out of memory", from);
		goto fail;
	}
	if (read_ahead(s))
		goto fail;
	if (!s->xz)
		compressed = open_raw(s);
	if (compressed < 0)
		goto fail;
	if (!compressed && s->size && lseek(s->fd, 0, SEEK_SET) == 0) {
		/* A plain tar file: no thread, the tar reader reads the file itself. */
		archive_read_free(s->raw);
		s->raw = NULL;
		if (open_tar(s))
			goto fail;
		return 0;
	}
	if (start_thread(s) || open_tar(s))
		goto fail;
	return 0;
fail:
	tar_source_close(s);
	return -1;
}

uint64_t tar_source_consumed(struct tar_source *s)
{
	if (!s->threaded)
		return s->tar ? (uint64_t)archive_filter_bytes(s->tar, -1) : 0;
	return __atomic_load_n(&s->consumed, __ATOMIC_RELAXED);
}

/* Orders the decompressor to drain or stop, and waits for it; -1 if it failed. */
static int join(struct tar_source *s, int *order)
{
	int ret = 0;

	if (!s->threaded)
		return 0;
	pthread_mutex_lock(&s->lock);
	*order = 1;
	s->filled = s->held = 0;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	s->threaded = 0;
	if (s->error[0]) {
		pr_err("%s: decompressing: %s", s->name, s->error);
		ret = -1;
	}
	return ret;
}

int tar_source_finish(struct tar_source *s)
{
	return join(s, &s->drain);
}

int tar_source_close(struct tar_source *s)
{
	int ret;

	archive_read_free(s->tar);
	s->tar = NULL;
	ret = join(s, &s->stop);
	archive_read_free(s->raw);
	s->raw = NULL;
	for (int i = 0; i < SOURCE_SLOTS; i++) {
		free(s->slot[i]);
		s->slot[i] = NULL;
	}
	free(s->in);
	s->in = NULL;
	if (s->fd > STDIN_FILENO)
		close(s->fd);
	/* Closing twice is harmless: nothing is left to close. */
	s->fd = -1;
	return ret;
}
