# lib/: every lib/<part>/*.c goes into libopenwsl.a (built for the host and,
# with musl, for the guest); lib/<part>/tests/ holds its tests.  The rules
# are in the top GNUmakefile because the host and guest sides share them.
