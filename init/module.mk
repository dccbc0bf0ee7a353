# The guest init: every init/*.c, linked statically with musl and stripped.
# Its parsers are also built for the host, for the unit tests in init/tests/.
INIT := $(O)/init/init
INITRAMFS := $(O)/init/initramfs.cpio.xz
$(eval $(call guest_program,$(INIT),$(wildcard init/*.c) $(GUEST_LIB)))
$(INIT): MUSL_LDFLAGS += -s

INIT_HOST_LIB := $(O)/host/init/libinit.a
$(eval $(call static_lib,$(INIT_HOST_LIB),$(patsubst %.c,$(O)/host/%.o,init/cmdline.c init/wslconf.c init/reclaim.c init/log.c)))
$(eval $(call component_tests,init,$(INIT_HOST_LIB) $(HOST_LIB)))

# Reproducible: the same init gives the same bytes.
$(INITRAMFS): $(INIT) $(O)/bin/mkwslimage
	$(call say,GEN,$@)
	$(Q)SOURCE_DATE_EPOCH=0 $(O)/bin/mkwslimage initramfs --init $(INIT) --out $@

GUEST_FILES += $(INITRAMFS)
