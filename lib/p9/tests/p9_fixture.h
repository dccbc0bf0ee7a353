/* SPDX-License-Identifier: MIT */
#ifndef OPENWSL_P9_FIXTURE_H
#define OPENWSL_P9_FIXTURE_H

/*
 * The cmocka fixture of the server tests: a scratch directory holding
 * "share" (served) and, beside it, "outside" with a file "secret" that
 * no request may reach.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9_client.h"

struct fixture {
	struct tclient c;
	char base[64], share[96], outside[96];
};

static int fx_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) && 0;
}

static inline void fx_rm(const char *path)
{
	nftw(path, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* PATH under the share, in a static buffer (two at a time). */
static inline const char *fx_path(struct fixture *fx, const char *rel)
{
	static char buf[2][PATH_MAX];
	static int which;

	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s/%s", fx->share, rel);
	return buf[which];
}

static inline void fx_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static inline int fx_setup_flags(void **state, unsigned int flags)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char secret[128];

	assert_non_null(fx);
	snprintf(fx->base, sizeof(fx->base), "%s/p9test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(fx->base));
	snprintf(fx->share, sizeof(fx->share), "%s/share", fx->base);
	snprintf(fx->outside, sizeof(fx->outside), "%s/outside", fx->base);
	assert_int_equal(mkdir(fx->share, 0755), 0);
	assert_int_equal(mkdir(fx->outside, 0755), 0);
	snprintf(secret, sizeof(secret), "%s/secret", fx->outside);
	fx_write_file(secret, "SECRET");
	assert_int_equal(tc_start(&fx->c, fx->share, flags), 0);
	*state = fx;
	return 0;
}

static inline int fx_setup(void **state)
{
	return fx_setup_flags(state, 0);
}

static inline int fx_teardown(void **state)
{
	struct fixture *fx = *state;

	p9_server_destroy(fx->c.s);
	fx_rm(fx->base);
	free(fx);
	return 0;
}

#endif
