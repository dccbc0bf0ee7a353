# mkwslimage: every builder/*.c is part of it; main.c holds main(), and each
# subcommand file registers itself with BUILDER_COMMAND().
$(eval $(call component,builder,mkwslimage))

# The guest kernel, built by "mkwslimage kernel" from Debian's 6.1 source
# with kernel-patches/6.1/ (series and fragments).  The build is cached
# outside the clone (/var/cache/openwsl/kernel, else ~/.cache), keyed by
# every input: when nothing changed this takes seconds.
KERNEL_SOURCE ?= /usr/src/linux-source-6.1.tar.xz
KERNEL_LINE   ?= 6.1
KERNEL        := $(O)/kernel/bzImage
KERNEL_INPUTS := $(wildcard kernel-patches/$(KERNEL_LINE)/*)

$(KERNEL): $(O)/bin/mkwslimage $(KERNEL_INPUTS) $(KERNEL_SOURCE)
	$(call say,KERNEL,$@)
	$(Q)nice $(O)/bin/mkwslimage kernel --source $(KERNEL_SOURCE) --line $(KERNEL_LINE) \
		--out $(O)/kernel
$(O)/kernel/vmlinux $(O)/kernel/.config $(O)/kernel/manifest: $(KERNEL)

$(KERNEL_SOURCE):
	@echo "$@ is missing: run scripts/install-deps (package linux-source-6.1)" >&2
	@exit 1

.PHONY: kernel kernel-reproduce
kernel: $(KERNEL)
all: $(KERNEL)
# Installed beside the guest init: what "wsl" boots.
GUEST_FILES += $(KERNEL)

# Reproducibility: the same inputs built a second time in another directory,
# at another time, must give identical outputs.  The cache records it, so
# the second build happens once per set of inputs.  CI (which sets CI) has it
# done before the tests; elsewhere "make kernel-reproduce" does it, and
# builder/tests/kernel_reproducible.sh checks the record when there is one.
KERNEL_REPRODUCED := $(O)/kernel/reproduced
$(KERNEL_REPRODUCED): $(KERNEL)
	$(call say,REPRO,$@)
	$(Q)nice $(O)/bin/mkwslimage kernel --source $(KERNEL_SOURCE) --line $(KERNEL_LINE) \
		--out $(O)/kernel --reproduce
kernel-reproduce: $(KERNEL_REPRODUCED)
ifneq ($(CI),)
test: $(KERNEL_REPRODUCED)
endif
