/* SPDX-License-Identifier: MIT */
#ifndef WSL_VM_H
#define WSL_VM_H

#include "client.h"
#include "store.h"
#include "wsl.h"

/*
 * The user's one utility VM.  The first wsl command that needs it starts a
 * small background service that runs wslvm with every version-2 distro's
 * disk attached, and stops it after vmIdleTimeout with no wsl command
 * running.  In the runtime directory:
 *
 *	vm.lock		held by the service while the VM lives
 *	start.lock	held while a wsl command checks or starts the VM
 *	sessions.lock	shared by every wsl command talking to the VM; the
 *			service holds it exclusively while it shuts down
 *	vsock		wslvm's hybrid vsock socket (vsock_5001: the init's READY)
 *	vm.distros	NAME SERIAL per attached distro
 *	vm.log		the VM's console
 *	vm.crashed	why the last VM ended on its own, for the next command
 */
struct vm_session {
	int sessions_fd;
	char socket[600];
};

/* Join (and if need be start) the VM with DISTRO attached ("" = any). */
int vm_session_begin(struct vm_session *s, const struct wsl_paths *p,
		     const struct wsl_config *c, const char *distro);
void vm_session_end(struct vm_session *s);

/* Is the VM running?  If so, fill SOCKET (optional). */
bool vm_running(const struct wsl_paths *p, char *socket, size_t len);
/* Ask the init to power off and wait for the VM to be gone. */
int vm_shutdown(const struct wsl_paths *p);

/* Run the service in this (detached) process; never returns. */
void vm_service_main(const struct wsl_paths *p, const struct wsl_config *c,
		     int ready_fd) __attribute__((noreturn));

#endif
