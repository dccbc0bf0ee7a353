# bench: measurements side by side with a peer, as ratios (never asserted).
#   make bench    runs every bench/*.sh with the built programs:
#     boot-microvm.sh  wslvm vs QEMU microvm: boot, memory, virtio-blk
#     disk.sh          mkwslimage disk vs tar, mke2fs -d and qemu-img
#     9p.sh            wslvm's virtio-9p vs QEMU's: untar, sequential I/O
#   bench/guest/ holds the guest sides (busybox init scripts), not run here.
.PHONY: bench
bench: all
	@set -e; for b in $(wildcard bench/*.sh); do echo "== $$b"; O=$(O) $$b; done
