/* SPDX-License-Identifier: MIT */
#ifndef WSL_ROOTFS_H
#define WSL_ROOTFS_H

/* A distro's root as a host directory (version 1), to and from tarballs. */
int rootfs_extract(const char *tarball, const char *dir);
int rootfs_archive(const char *dir, const char *tarball);
int rootfs_remove(const char *dir);

#endif
