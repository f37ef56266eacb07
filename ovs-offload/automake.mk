# The provider's library: everything but main(), so the C tests link it too.
noinst_LTLIBRARIES += ovs-offload/libovsoffload.la
ovs_offload_libovsoffload_la_SOURCES = \
	ovs-offload/region-format.h \
	ovs-offload/state-region.c \
	ovs-offload/state-region.h \
	ovs-offload/ct-entry.c \
	ovs-offload/ct-entry.h \
	ovs-offload/ct-tcp.c \
	ovs-offload/ct-tcp.h \
	ovs-offload/ct-key.c \
	ovs-offload/ct-key.h \
	ovs-offload/ct-nat.c \
	ovs-offload/ct-nat.h \
	ovs-offload/ct-engine.c \
	ovs-offload/ct-engine.h \
	ovs-offload/limits-file.c \
	ovs-offload/limits-file.h \
	ovs-offload/vif.c \
	ovs-offload/vif.h \
	ovs-offload/vif-store.c \
	ovs-offload/vif-store.h \
	ovs-offload/offload-appctl.c \
	ovs-offload/offload-appctl.h
ovs_offload_libovsoffload_la_LIBADD = $(OVS_LIBOPENVSWITCH)

sbin_PROGRAMS += ovs-offload/ovs-offloadd
ovs_offload_ovs_offloadd_SOURCES = ovs-offload/ovs-offloadd.c
ovs_offload_ovs_offloadd_LDADD = ovs-offload/libovsoffload.la $(OVS_LIBOPENVSWITCH)
