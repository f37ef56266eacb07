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
	ovs-offload/atomic-file.c \
	ovs-offload/atomic-file.h \
	ovs-offload/limits-file.c \
	ovs-offload/limits-file.h \
	ovs-offload/vif.c \
	ovs-offload/vif.h \
	ovs-offload/vif-replica.c \
	ovs-offload/vif-replica.h \
	ovs-offload/vif-store.c \
	ovs-offload/vif-store.h \
	ovs-offload/host-zones.c \
	ovs-offload/host-zones.h \
	ovs-offload/datapath.c \
	ovs-offload/datapath.h \
	ovs-offload/datapath-settings.c \
	ovs-offload/datapath-settings.h \
	ovs-offload/datapath-appctl.c \
	ovs-offload/datapath-appctl.h \
	ovs-offload/migration.c \
	ovs-offload/migration.h \
	ovs-offload/migration-appctl.c \
	ovs-offload/migration-appctl.h \
	ovs-offload/offload-appctl.c \
	ovs-offload/offload-appctl.h
ovs_offload_libovsoffload_la_LIBADD = transport/libtransport.la \
	$(OVS_LIBOPENVSWITCH)

sbin_PROGRAMS += ovs-offload/ovs-offloadd
ovs_offload_ovs_offloadd_SOURCES = ovs-offload/ovs-offloadd.c
ovs_offload_ovs_offloadd_LDADD = ovs-offload/libovsoffload.la \
	transport/libtransport.la $(OVS_LIBOPENVSWITCH)

# Ports: Linux netdevs through libopenvswitch's netdev layer, offloads on.
ovs_offload_libovsoffload_la_SOURCES += \
	ovs-offload/port.c \
	ovs-offload/port.h \
	ovs-offload/port-offload.c \
	ovs-offload/port-offload.h \
	ovs-offload/port-set.c \
	ovs-offload/port-set.h

# L2 and L3: the FDB, neighbours, routes and port security.
ovs_offload_libovsoffload_la_SOURCES += \
	ovs-offload/fdb.c \
	ovs-offload/fdb.h \
	ovs-offload/neigh.c \
	ovs-offload/neigh.h \
	ovs-offload/route.c \
	ovs-offload/route.h \
	ovs-offload/port-security.c \
	ovs-offload/port-security.h

# The flow table: OpenFlow tables on the classifier, actions, persistence.
ovs_offload_libovsoffload_la_SOURCES += \
	ovs-offload/flow-exec.c \
	ovs-offload/flow-exec.h \
	ovs-offload/flow-store.c \
	ovs-offload/flow-store.h \
	ovs-offload/flow-table.c \
	ovs-offload/flow-table.h \
	ovs-offload/flow-validate.c \
	ovs-offload/flow-validate.h
