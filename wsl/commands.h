/* SPDX-License-Identifier: MIT */
#ifndef WSL_COMMANDS_H
#define WSL_COMMANDS_H

#include "client.h"
#include "store.h"
#include "vm.h"
#include "wsl.h"

#define WSL_VERSION "0.1.0"

struct wsl_context {
	struct wsl_paths paths;
	struct wsl_config config;
};

int context_init(struct wsl_context *ctx);
/* Resolve NAME ("" or NULL = the default) to its record; -1 when there is none (printed). */
int find_distro(struct wsl_context *ctx, const char *name, struct distro_record *r);
/* WSL_VM_SOCKET: a developer's or a test's own VM, used instead of the user's; NULL if unset. */
const char *direct_socket(void);

/* Each returns the process exit status. */
int cmd_run(struct wsl_context *ctx, struct run_options *run);
int cmd_list(struct wsl_context *ctx, int verbose, int json);
int cmd_set_default(struct wsl_context *ctx, const char *name);
int cmd_terminate(struct wsl_context *ctx, const char *name);
int cmd_shutdown(struct wsl_context *ctx);
/* Ask the VM at SOCKET to stop distro NAME; takes no lock of the store. */
int terminate_in_vm(const char *socket, const char *name);
int cmd_status(struct wsl_context *ctx);
int cmd_version(void);
int cmd_import(struct wsl_context *ctx, const char *name, const char *dir, const char *tarball,
	       int version);
int cmd_import_in_place(struct wsl_context *ctx, const char *name, const char *disk);
int cmd_export(struct wsl_context *ctx, const char *name, const char *file, const char *format);
int cmd_unregister(struct wsl_context *ctx, const char *name);
int cmd_set_version(struct wsl_context *ctx, const char *name, int version);
/* Expose distro NAME's files at DIR over 9P (see cmd_mount.c), and undo it. */
int cmd_mount(struct wsl_context *ctx, const char *name, const char *dir);
int cmd_unmount(const char *dir);
/* Sideload a distro package (see install.c); NAME overrides its own. */
int cmd_install(struct wsl_context *ctx, const char *pkg, const char *name);

#endif
