# The transport library: moves the bytes of exported regions between
# providers (transport/transport.h).  The stream backend (tcp:, ssl:, unix:)
# is built in; transport/README.md documents the wire protocol.
noinst_LTLIBRARIES += transport/libtransport.la
transport_libtransport_la_SOURCES = \
	transport/transport.c \
	transport/transport.h \
	transport/transport-provider.h \
	transport/transport-wire.c \
	transport/transport-wire.h \
	transport/tcp-io.c \
	transport/tcp-io.h \
	transport/tcp-server.c \
	transport/tcp-client.c \
	transport/crc32c-hw.c \
	transport/crc32c-hw.h
transport_libtransport_la_LIBADD = $(OVS_LIBOPENVSWITCH)

# The rdma: backend (librdmacm + libibverbs), when configure found them;
# otherwise a stub whose prdma: listener and rdma: client say so.
transport_libtransport_la_SOURCES += transport/rdma-client.h
if HAVE_RDMA
transport_libtransport_la_SOURCES += \
	transport/rdma-wire.h \
	transport/rdma-server.c \
	transport/rdma-client.c
transport_libtransport_la_LIBADD += $(RDMA_LIBS)
else
transport_libtransport_la_SOURCES += transport/rdma-stub.c
endif
EXTRA_DIST += transport/README.md
