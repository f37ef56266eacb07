# The autotest suite, OVS-style.  OVS's own tests/ovs-macros.at supplies
# on_exit, OVS_WAIT_UNTIL and the per-test run directory.
EXTRA_DIST += \
	$(TESTSUITE_AT) \
	$(TESTSUITE) \
	tests/atlocal.in \
	package.m4 \
	tests/ct-diff-expected.txt
TESTSUITE_AT = \
	tests/testsuite.at \
	tests/offload-macros.at \
	tests/ct-tcp.at \
	tests/state-region.at \
	tests/ct-engine.at \
	tests/ct-diff.at \
	tests/ovs-offloadd.at \
	tests/system-datapath.at \
	tests/system-migration-snat.at
TESTSUITE = $(srcdir)/tests/testsuite
DISTCLEANFILES += tests/atconfig tests/atlocal

AUTOTEST_PATH = ovs-offload:tests:tests/perf:utilities:$(OVS_BUILDDIR)/utilities:$(OVS_BUILDDIR)/ovsdb:$(OVS_BUILDDIR)/vswitchd:$(OVS_BUILDDIR)/tests

check-local: tests/atconfig tests/atlocal $(TESTSUITE) $(check_PROGRAMS)
	$(SHELL) '$(TESTSUITE)' -C tests AUTOTEST_PATH='$(AUTOTEST_PATH)' \
		$(TESTSUITEFLAGS)

clean-local:
	test ! -f '$(TESTSUITE)' || $(SHELL) '$(TESTSUITE)' -C tests --clean

AUTOM4TE = autom4te
AUTOTEST = $(AUTOM4TE) -l autotest
$(TESTSUITE): package.m4 $(TESTSUITE_AT) $(OVS_SRCDIR)/tests/ovs-macros.at
	$(AM_V_GEN)$(AUTOTEST) -I '$(srcdir)' -I '$(OVS_SRCDIR)' -o $@.tmp $@.at \
		&& mv $@.tmp $@

$(srcdir)/package.m4: $(top_srcdir)/configure.ac
	$(AM_V_GEN):;{ \
	  echo '# Signature of the current package.' && \
	  echo 'm4_define([AT_PACKAGE_NAME],      [$(PACKAGE_NAME)])' && \
	  echo 'm4_define([AT_PACKAGE_TARNAME],   [$(PACKAGE_TARNAME)])' && \
	  echo 'm4_define([AT_PACKAGE_VERSION],   [$(PACKAGE_VERSION)])' && \
	  echo 'm4_define([AT_PACKAGE_STRING],    [$(PACKAGE_STRING)])' && \
	  echo 'm4_define([AT_PACKAGE_BUGREPORT], [$(PACKAGE_BUGREPORT)])'; \
	} >'$(srcdir)/package.m4'

# One test program with a subcommand per test, driven from the .at files.
# OVS's ovstest.c dispatches the subcommands.
check_PROGRAMS = tests/ovstest-offload
tests_ovstest_offload_SOURCES = \
	tests/ovstest-main.c \
	tests/test-common.c \
	tests/test-common.h \
	tests/test-ct-tcp.c \
	tests/test-pcap.c \
	tests/packet-compose.c \
	tests/packet-compose.h \
	tests/test-ct-engine.c \
	tests/test-state-region.c \
	tests/test-ct-diff.c \
	tests/ct-trace.c \
	tests/ct-trace.h
tests_ovstest_offload_CPPFLAGS = $(AM_CPPFLAGS) -I$(OVS_SRCDIR)/tests
tests_ovstest_offload_LDADD = ovs-offload/libovsoffload.la $(OVS_LIBOPENVSWITCH)

include tests/perf/automake.mk

# Ports and offloads: the port layer's test program and system tests.
TESTSUITE_AT += \
	tests/system-macros.at \
	tests/system-port.at
tests_ovstest_offload_SOURCES += tests/test-port.c
tests_ovstest_offload_SOURCES += tests/test-churn.c

# FDB, neighbours, routes and port security.
TESTSUITE_AT += tests/l2l3.at
tests_ovstest_offload_SOURCES += tests/test-l2l3.c

# The flow table, its actions and their persistence.
TESTSUITE_AT += tests/flow-table.at
tests_ovstest_offload_SOURCES += tests/test-flow-table.c

# NAT, FDB, routing and default-pipeline system tests.
TESTSUITE_AT += \
	tests/system-nat.at \
	tests/system-l2l3.at

# The transport: exports, tokens, leases, the wire protocol and its bounds.
TESTSUITE_AT += tests/transport.at
tests_ovstest_offload_SOURCES += tests/test-transport.c
tests_ovstest_offload_LDADD += transport/libtransport.la

# The rdma: backend, in a Soft-RoCE guest (tests/system-rdma-transport.at).
tests_ovstest_offload_SOURCES += tests/test-rdma.c

# Migration between two providers.
TESTSUITE_AT += tests/system-migration.at

# Migration under faults; wire-proxy.py damages and holds back the wire.
TESTSUITE_AT += tests/system-migration-faults.at
EXTRA_DIST += tests/wire-proxy.py

# Migration over ssl: and pssl:.
TESTSUITE_AT += tests/system-migration-ssl.at

# State images of many established connections, for tests/perf/migrate-bulk.
tests_ovstest_offload_SOURCES += tests/test-image-fill.c

# RDMA with real verbs: Soft-RoCE in a QEMU guest (tests/rdma-vm.sh).
TESTSUITE_AT += tests/system-rdma.at
TESTSUITE_AT += tests/system-rdma-transport.at
EXTRA_DIST += tests/rdma-vm.sh
