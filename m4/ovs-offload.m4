# OFFLOAD_CHECK_OVS: finds the OVS source tree and its build, the way OVN does.
AC_DEFUN([OFFLOAD_CHECK_OVS], [
  AC_ARG_WITH([ovs-source],
    [AS_HELP_STRING([--with-ovs-source=DIR],
                    [OVS source tree (default /opt/ovs-offload/ovs)])],
    [OVS_SRCDIR=$withval], [OVS_SRCDIR=/opt/ovs-offload/ovs])
  AC_ARG_WITH([ovs-build],
    [AS_HELP_STRING([--with-ovs-build=DIR],
                    [OVS build tree (default: the source tree)])],
    [OVS_BUILDDIR=$withval], [OVS_BUILDDIR=$OVS_SRCDIR])
  OVS_SRCDIR=`cd "$OVS_SRCDIR" 2>/dev/null && pwd` \
    || AC_MSG_ERROR([--with-ovs-source: no such folder; run utilities/ovs-offload-setup.sh])
  OVS_BUILDDIR=`cd "$OVS_BUILDDIR" 2>/dev/null && pwd` \
    || AC_MSG_ERROR([--with-ovs-build: no such folder])
  AC_MSG_CHECKING([for a built OVS tree])
  for f in "$OVS_SRCDIR/lib/conntrack.h" "$OVS_BUILDDIR/lib/libopenvswitch.la" \
           "$OVS_BUILDDIR/ovsdb/libovsdb.la" "$OVS_BUILDDIR/config.h" \
           "$OVS_BUILDDIR/utilities/ovs-appctl"; do
    test -e "$f" || AC_MSG_ERROR([$f is missing; run utilities/ovs-offload-setup.sh])
  done
  AC_MSG_RESULT([$OVS_BUILDDIR])
  AC_SUBST([OVS_SRCDIR])
  AC_SUBST([OVS_BUILDDIR])
])

# OFFLOAD_CHECK_SANITIZERS: --enable-asan and --enable-ubsan, as in OVS.
AC_DEFUN([OFFLOAD_CHECK_SANITIZERS], [
  AC_ARG_ENABLE([asan],
    [AS_HELP_STRING([--enable-asan], [build with AddressSanitizer])],
    [], [enable_asan=no])
  AC_ARG_ENABLE([ubsan],
    [AS_HELP_STRING([--enable-ubsan], [build with UndefinedBehaviorSanitizer])],
    [], [enable_ubsan=no])
  SANITIZER_CFLAGS=
  AS_IF([test "$enable_asan" = yes],
        [SANITIZER_CFLAGS="$SANITIZER_CFLAGS -fsanitize=address -fno-omit-frame-pointer -fno-common"])
  AS_IF([test "$enable_ubsan" = yes],
        [SANITIZER_CFLAGS="$SANITIZER_CFLAGS -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"])
  AC_SUBST([SANITIZER_CFLAGS])
])

# OFFLOAD_ENABLE_WARNINGS: the warning set of OVS's own build, which is clean.
AC_DEFUN([OFFLOAD_ENABLE_WARNINGS], [
  WARNING_FLAGS="-Wall -Wextra -Wno-sign-compare -Wpointer-arith -Wformat \
-Wformat-security -Wswitch-enum -Wunused-parameter -Wbad-function-cast \
-Wcast-align -Wstrict-prototypes -Wold-style-definition -Wmissing-prototypes \
-Wmissing-field-initializers -fno-strict-aliasing -Wshadow"
  AC_SUBST([WARNING_FLAGS])
])

# OFFLOAD_CHECK_RDMA: the rdma: transport needs librdmacm and libibverbs
# (Debian: librdmacm-dev, libibverbs-dev).  Without them the build goes on
# without RDMA: transport/rdma-stub.c stands in, and a prdma: listener or an
# rdma: client then fails with an error that says so.  --disable-rdma builds
# without it even where the libraries are present.
AC_DEFUN([OFFLOAD_CHECK_RDMA], [
  AC_ARG_ENABLE([rdma],
    [AS_HELP_STRING([--disable-rdma],
                    [build without the rdma: transport (default: build it if librdmacm and libibverbs are found)])],
    [], [enable_rdma=auto])
  HAVE_RDMA=no
  RDMA_LIBS=
  AS_IF([test "$enable_rdma" != no], [
    HAVE_RDMA=yes
    AC_CHECK_HEADERS([infiniband/verbs.h rdma/rdma_cma.h], [], [HAVE_RDMA=no])
    AC_CHECK_LIB([ibverbs], [ibv_fork_init], [:], [HAVE_RDMA=no])
    AC_CHECK_LIB([rdmacm], [rdma_create_event_channel], [:], [HAVE_RDMA=no],
                 [-libverbs])
    AS_IF([test "$HAVE_RDMA" = yes],
          [RDMA_LIBS="-lrdmacm -libverbs"],
          [AS_IF([test "$enable_rdma" = yes],
                 [AC_MSG_ERROR([--enable-rdma: librdmacm or libibverbs is missing (install librdmacm-dev and libibverbs-dev)])])
           AC_MSG_WARN([librdmacm or libibverbs is missing: building without the rdma: transport])])
  ])
  AC_MSG_CHECKING([whether to build the rdma: transport])
  AC_MSG_RESULT([$HAVE_RDMA])
  AC_SUBST([RDMA_LIBS])
  AM_CONDITIONAL([HAVE_RDMA], [test "$HAVE_RDMA" = yes])
])
