dist_noinst_SCRIPTS += \
	utilities/ovs-offload-setup.sh \
	utilities/ovs-offload-build.sh \
	utilities/ovs-offload-demo.sh \
	utilities/ovs-offload-test.sh
