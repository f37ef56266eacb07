# Benchmarks: each tests/perf/NAME runs the project's measurement and its
# reference in one run, writes CSV and a PNG plot to $PERF_OUT and ends with
# "result: NAME ours=X ref=Y unit=... ratio=R".  Never part of make check.
dist_noinst_SCRIPTS += tests/perf/conntrack
dist_noinst_SCRIPTS += tests/perf/datapath
dist_noinst_SCRIPTS += tests/perf/migrate-bulk
dist_noinst_SCRIPTS += tests/perf/blackout
EXTRA_DIST += tests/perf/perf-lib.sh
