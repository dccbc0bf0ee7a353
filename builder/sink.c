// SPDX-License-Identifier: MIT
/* Compressing output streams (see sink.h). */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mkwslimage.h"
#include "sink.h"

#define SINK_CHUNK (64 * 1024)
/* The kernel's xz decoder needs no more; a small dictionary keeps it fast. */
#define SINK_XZ_DICT (1u << 20)

struct sink_state {
	z_stream z;
	lzma_stream xz;
	unsigned char out[SINK_CHUNK];
};

int sink_format_parse(const char *s, enum sink_format *format)
{
	if (!strcmp(s, "none"))
		*format = SINK_NONE;
	else if (!strcmp(s, "gzip") || !strcmp(s, "gz"))
		*format = SINK_GZIP;
	else if (!strcmp(s, "xz"))
		*format = SINK_XZ;
	else
		return -1;
	return 0;
}

static int sink_put(struct sink *s, const void *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, s->file) != len) {
		pr_err("%s: write failed: %s", s->name, strerror(errno));
		return -1;
	}
	return 0;
}

static int sink_open_gzip(struct sink *s)
{
	/* windowBits 15 + 16: a gzip wrapper, whose header deflateInit2 leaves empty. */
	if (deflateInit2(&s->state->z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
		pr_err("%s: cannot start the gzip compressor", s->name);
		return -1;
	}
	return 0;
}

static int sink_open_xz(struct sink *s)
{
	lzma_options_lzma opt;
	lzma_filter filters[2];
	lzma_ret ret;

	if (lzma_lzma_preset(&opt, 9 | LZMA_PRESET_EXTREME)) {
		pr_err("%s: liblzma has no preset 9e", s->name);
		return -1;
	}
	opt.dict_size = SINK_XZ_DICT;
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = &opt;
	filters[1].id = LZMA_VLI_UNKNOWN;
	s->state->xz = (lzma_stream)LZMA_STREAM_INIT;
	ret = lzma_stream_encoder(&s->state->xz, filters, LZMA_CHECK_CRC32);
	if (ret != LZMA_OK) {
		pr_err("%s: cannot start the xz compressor (liblzma error %d)", s->name, ret);
		return -1;
	}
	return 0;
}

int sink_open(struct sink *s, FILE *file, const char *name, enum sink_format format)
{
	s->file = file;
	s->name = name;
	s->format = format;
	s->bytes_in = 0;
	s->state = calloc(1, sizeof(*s->state));
	if (!s->state) {
		pr_err("%s: out of memory", name);
		return -1;
	}
	switch (format) {
	case SINK_GZIP:
		return sink_open_gzip(s);
	case SINK_XZ:
		return sink_open_xz(s);
	case SINK_NONE:
		break;
	}
	return 0;
}

static int sink_gzip(struct sink *s, const void *buf, size_t len, int flush)
{
	z_stream *z = &s->state->z;
	int ret;

	z->next_in = (Bytef *)buf;
	z->avail_in = len;
	do {
		z->next_out = s->state->out;
		z->avail_out = SINK_CHUNK;
		ret = deflate(z, flush);
		if (ret == Z_STREAM_ERROR) {
			pr_err("%s: gzip compression failed", s->name);
			return -1;
		}
		if (sink_put(s, s->state->out, SINK_CHUNK - z->avail_out))
			return -1;
	} while (z->avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
	return 0;
}

static int sink_xz(struct sink *s, const void *buf, size_t len, lzma_action action)
{
	lzma_stream *xz = &s->state->xz;
	lzma_ret ret;

	xz->next_in = buf;
	xz->avail_in = len;
	do {
		xz->next_out = s->state->out;
		xz->avail_out = SINK_CHUNK;
		ret = lzma_code(xz, action);
		if (ret != LZMA_OK && ret != LZMA_STREAM_END) {
			pr_err("%s: xz compression failed (liblzma error %d)", s->name, ret);
			return -1;
		}
		if (sink_put(s, s->state->out, SINK_CHUNK - xz->avail_out))
			return -1;
	} while (xz->avail_out == 0 || (action == LZMA_FINISH && ret != LZMA_STREAM_END));
	return 0;
}

int sink_write(struct sink *s, const void *buf, size_t len)
{
	s->bytes_in += len;
	switch (s->format) {
	case SINK_GZIP:
		return sink_gzip(s, buf, len, Z_NO_FLUSH);
	case SINK_XZ:
		return sink_xz(s, buf, len, LZMA_RUN);
	case SINK_NONE:
		break;
	}
	return sink_put(s, buf, len);
}

int sink_finish(struct sink *s)
{
	int ret = 0;

	switch (s->format) {
	case SINK_GZIP:
		ret = sink_gzip(s, NULL, 0, Z_FINISH);
		deflateEnd(&s->state->z);
		break;
	case SINK_XZ:
		ret = sink_xz(s, NULL, 0, LZMA_FINISH);
		lzma_end(&s->state->xz);
		break;
	case SINK_NONE:
		break;
	}
	free(s->state);
	s->state = NULL;
	if (!ret && fflush(s->file)) {
		pr_err("%s: write failed: %s", s->name, strerror(errno));
		ret = -1;
	}
	return ret;
}
