/* SPDX-License-Identifier: MIT */
#ifndef INIT_CONFIG_H
#define INIT_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

/*
 * What the init is told on the kernel command line (the contract with the
 * host tools, documented in init/README.md), and what each distro's
 * /etc/wsl.conf says.  Parsing only: nothing here touches the system.
 */
#define CONFIG_MAX_DISTROS 32
#define CONFIG_MAX_SHARES  16
#define CONFIG_MAX_DNS	   4
#define CONFIG_NAME_MAX	   64

struct distro_config {
	char name[CONFIG_NAME_MAX];
	char serial[CONFIG_NAME_MAX]; /* virtio-blk serial of its disk */
};

struct share_config {
	char tag[CONFIG_NAME_MAX];   /* virtio-9p mount tag */
	char path[256];		     /* where it goes in each distro; "" = automount root/tag */
};

struct boot_config {
	struct distro_config distros[CONFIG_MAX_DISTROS];
	int n_distros;
	struct share_config shares[CONFIG_MAX_SHARES];
	int n_shares;
	char hostname[CONFIG_NAME_MAX];
	char address[64];	     /* "10.0.2.15/24"; "" = no network set-up */
	char gateway[64];
	char dns[CONFIG_MAX_DNS][64];
	int n_dns;
	unsigned int port;	     /* vsock port the init serves on */
	enum { RECLAIM_DISABLED, RECLAIM_GRADUAL, RECLAIM_DROPCACHE } reclaim;
	unsigned int reclaim_idle_seconds;
	bool debug;
};

/*
 * Fill CFG from a kernel command line.  Keys of ours start with "wsl.";
 * others are the kernel's and are skipped.  A malformed value of ours is
 * reported through WARN (once each) and ignored.  Returns how many were.
 */
int boot_config_parse(struct boot_config *cfg, const char *cmdline,
		      void (*warn)(const char *msg));

const struct distro_config *boot_config_distro(const struct boot_config *cfg, const char *name);

/* The [section] key=value settings of /etc/wsl.conf that the init honours. */
struct wsl_conf {
	bool automount_enabled;
	char automount_root[256];    /* default /mnt/host/ */
	char automount_options[256];
	bool generate_hosts;
	bool generate_resolv_conf;
	char hostname[CONFIG_NAME_MAX]; /* "" = the VM's */
	char boot_command[1024];
	bool boot_systemd;
	char default_user[CONFIG_NAME_MAX];
};

void wsl_conf_defaults(struct wsl_conf *conf);
/*
 * Parse an INI text.  Unknown sections and keys are ignored; a malformed
 * line or value is reported through WARN with its line number and skipped.
 * Returns how many lines were reported.
 */
int wsl_conf_parse(struct wsl_conf *conf, FILE *in, void (*warn)(const char *msg));

#endif
