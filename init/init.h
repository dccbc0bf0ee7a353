/* SPDX-License-Identifier: MIT */
#ifndef INIT_INIT_H
#define INIT_INIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "proto.h"

/* I/O port the VMM times boot by (vmm/layout.h PORT_READY): one byte, once. */
#define INIT_READY_PORT 0x604

#define INIT_RUN_DIR	 "/run/wsl"
#define INIT_DISTRO_DIR	 INIT_RUN_DIR "/distros"
#define INIT_RESOLV_CONF INIT_RUN_DIR "/resolv.conf"
/* How long a distro's processes get between SIGTERM and SIGKILL. */
#define INIT_GRACE_SECONDS 5

void pr_init(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_warn_line(const char *msg);
/* Children of the init start with the signals it blocks for its signalfd. */
void unblock_signals(void);

/* A distro named on the kernel command line, and its state in this VM. */
struct distro {
	const struct distro_config *cfg;
	struct wsl_conf conf;
	char mountpoint[128];
	pid_t leader; /* PID 1 of its namespaces (as seen by the init), 0 when stopped */
};

struct distro *distro_find(const char *name); /* "" = the first (default) one */
void distro_table_init(const struct boot_config *boot);
/* Mount its disk and start its namespaces; no-op when running.  errno on failure. */
int distro_start(struct distro *d, const struct boot_config *boot, char *err, size_t errlen);
/*
 * Enter a running distro's IPC, UTS, PID (for children forked after) and
 * mount namespaces, and its root.  -1 with errno on failure.
 */
int distro_join(const struct distro *d);
/* SIGTERM, grace, SIGKILL, sync, unmount. */
void distro_stop(struct distro *d);
void distro_stop_all(void);
/* A child of the init ended: is it a distro's leader? */
void distro_reaped(pid_t pid);
int distro_list(struct proto_distro *out, int max);

/* Tell the host which TCP ports listen now (see listeners.c); call every second. */
void listeners_poll(void);

/* Give page cache back when the VM is idle (see reclaim.c); call every second. */
void reclaim_poll(const struct boot_config *boot);

/* network.c: loopback, and eth0 with wsl.address= and wsl.gateway= if given. */
void network_up(const struct boot_config *boot);

/* Serve one CREATE_PROCESS in a child of the init; never returns. */
void session_run(int conn, struct distro *d, const struct proto_msg *create)
	__attribute__((noreturn));

/* Relay one forwarded TCP connection (forward.c) in a child; never returns. */
void forward_run(int conn, uint32_t id, uint16_t port, uint16_t family)
	__attribute__((noreturn));

/*
 * Serve distro D's root over 9P2000.L on CONN (share.c), in a child, after
 * answering request ID with OK (or ERROR); never returns.
 */
void share_run(int conn, uint32_t id, const struct distro *d) __attribute__((noreturn));

/* Reply helpers on a connection (best effort). */
void reply_error(int conn, uint32_t id, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void reply_empty(int conn, uint32_t type, uint32_t id);

#endif
