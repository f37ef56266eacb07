/* The test program's main(): OVS's own ovstest dispatcher, reused as it is.
 * Each tests/test-*.c registers its subcommands with OVSTEST_REGISTER. */
#include "ovstest.c"
