# vmm: wslvm, the direct-boot KVM VMM (see vmm/README.md).
$(eval $(call component,vmm,wslvm))

# The guest side of the KVM tests: a static PID 1 (vmm/tests/guest/).
WSLVM_TEST_INIT := $(O)/tests/vmm/guest/test-init
$(eval $(call guest_program,$(WSLVM_TEST_INIT),vmm/tests/guest/test_init.c))
KVM_TEST_PROGRAMS += $(WSLVM_TEST_INIT)

# The host end of the vsock test.
WSLVM_VSOCK_PEER := $(O)/tests/vmm/vsock-peer
$(eval $(call host_program,$(WSLVM_VSOCK_PEER),vmm/tests/helpers/vsock_peer.c))
KVM_TEST_PROGRAMS += $(WSLVM_VSOCK_PEER)

# libFuzzer target for the virtqueue walker ("make fuzz", "make fuzz-run").
WSLVM_FUZZ_SRCS := vmm/virtq.c vmm/mem.c vmm/log.c
FUZZERS += $(O)/fuzz/fuzz_virtq
$(O)/fuzz/fuzz_virtq: vmm/tests/fuzz_virtq.c $(WSLVM_FUZZ_SRCS) $(wildcard vmm/*.h)
	$(call say,FUZZ-CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ vmm/tests/fuzz_virtq.c $(WSLVM_FUZZ_SRCS)
