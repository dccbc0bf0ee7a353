/* SPDX-License-Identifier: MIT */
#ifndef WSL_MOUNTS_H
#define WSL_MOUNTS_H

#include <stddef.h>

/*
 * wsl --mount makes 9p mounts whose source is "openwsl:RUNTIME:DISTRO"
 * (RUNTIME: the VM's runtime directory, or the WSL_VM_SOCKET path).
 */
#define WSL_MOUNT_PREFIX "openwsl:"

/* The mount table read: /proc/self/mountinfo (tests point it elsewhere). */
extern const char *wsl_mountinfo;

void wsl_mount_source(char *dst, size_t len, const char *runtime, const char *distro);

/*
 * The mount at POINT (an absolute path with no symlinks), the topmost if
 * several: 1 with its file system type and source filled in, 0 when
 * nothing is mounted there, -1 when the mount table is unreadable.
 */
int wsl_mount_lookup(const char *point, char *fstype, size_t fslen, char *source, size_t srclen);

/* How many of our 9p mounts name RUNTIME (they keep its VM from idling out). */
int wsl_mounts_of(const char *runtime);

#endif
