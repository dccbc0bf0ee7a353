/* SPDX-License-Identifier: MIT */
#ifndef WSL_STORE_H
#define WSL_STORE_H

#include "wsl.h"

/*
 * The distro store: one folder per distro under DATA/distros/, holding a
 * small key=value file (distro.conf) that says where its disk (version 2)
 * or root directory (version 1) lives; DATA/default names the default
 * distro.  Every change holds DATA/lock exclusively and replaces files by
 * rename, so two wsl commands at once, or a crash, never leave half a
 * record.
 */
#define STORE_NAME_MAX 64

struct distro_record {
	char name[STORE_NAME_MAX];
	int version;		/* 1: a host directory; 2: a VHDX in the VM */
	char location[512];	/* the DIR given to --import */
	char disk[600];		/* version 2: the VHDX */
	char rootfs[600];	/* version 1: the root directory */
	char default_user[64];
	unsigned int uid;	/* the default user's uid, 0 when root */
};

struct store {
	char dir[512];
	int lock_fd;
};

/* Open the store and take its lock (exclusive to change it, shared to read). */
int store_open(struct store *s, const struct wsl_paths *p, bool exclusive);
void store_close(struct store *s);

/* A name a distro may have: letters, digits, '.', '-', '_'; 1..63 long. */
bool store_name_valid(const char *name);

int store_get(struct store *s, const char *name, struct distro_record *r); /* -1: none */
int store_put(struct store *s, const struct distro_record *r);
int store_remove(struct store *s, const char *name);
/* All records, sorted by name; *n set.  Free the array with free(). */
struct distro_record *store_list(struct store *s, int *n);

/* The default distro's name ("" when there is none). */
void store_get_default(struct store *s, char *name, size_t len);
int store_set_default(struct store *s, const char *name);

#endif
