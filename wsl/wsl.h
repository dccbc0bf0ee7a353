/* SPDX-License-Identifier: MIT */
#ifndef WSL_WSL_H
#define WSL_WSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "wsl: <message>" on stderr: the builder's reporting, with builder_prog = "wsl". */
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where a user's state lives (XDG base directories, created 0700 on demand). */
struct wsl_paths {
	char data[512];	   /* $XDG_DATA_HOME/openwsl: the distro store */
	char runtime[512]; /* $XDG_RUNTIME_DIR/openwsl: the VM's sockets, lock, log */
	char config[512];  /* $XDG_CONFIG_HOME/wsl/config */
	char exe_dir[400]; /* where this wsl binary is, to find its siblings */
};

int wsl_paths_init(struct wsl_paths *p);
/* mkdir -p, mode 0700, and refuse one that is not ours alone. */
int mkdir_private(const char *path);
/* Closes every descriptor above stderr but keep: a child's locks must not outlive us. */
void close_fds_except(int keep);
/* mkdir -p; the last component gets MODE. */
int mkdir_parents(const char *path, unsigned int mode);

/* ~/.config/wsl/config, spelled like .wslconfig's [wsl2] section. */
struct wsl_config {
	uint64_t memory;	    /* bytes; default half the host's RAM */
	unsigned int processors;    /* default: the host's */
	char kernel[512];	    /* default: the one installed beside wsl */
	char initramfs[512];
	char kernel_command_line[1024];
	bool localhost_forwarding;  /* default true */
	unsigned int vm_idle_timeout_ms; /* default 60000 */
	char auto_memory_reclaim[16];	 /* disabled | gradual | dropcache */
};

/* Defaults, then the file if it exists; a malformed line is reported and skipped. */
int wsl_config_load(struct wsl_config *c, const struct wsl_paths *p);
/* Parse from IN (for tests); returns how many lines were reported. */
int wsl_config_parse(struct wsl_config *c, FILE *in, const char *name);
void wsl_config_defaults(struct wsl_config *c, const struct wsl_paths *p);

#endif
