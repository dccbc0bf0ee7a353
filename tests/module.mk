# The test suite's own pieces.  Component tests live beside their component
# (in its tests/ folder) and are listed by its module.mk.

# Raw KVM API smoke test: proves /dev/kvm works wherever the KVM tests run.
KVM_SMOKE := $(O)/tests/kvm_smoke
$(eval $(call host_program,$(KVM_SMOKE),tests/kvm/kvm_smoke.c,cmocka))
KVM_TEST_PROGRAMS += $(KVM_SMOKE)
KVM_TESTS += $(KVM_SMOKE)

# The rig itself: output, exit status and time-out reach the caller.
HOST_TESTS += tests/integration/kvm-rig.sh

DEMO_STEPS += tests/demo/kvm-smoke.sh tests/demo/wsl.sh
HOST_TESTS += tests/integration/install.sh
