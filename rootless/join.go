package rootless

// A command of an account whose namespace holder runs joins its user and
// mount namespaces here, in a C constructor: setns into a user namespace
// needs a single-threaded process, and the Go runtime starts threads
// before main. The first command, or one that finds no holder (or names
// its root), goes through Exec, which makes or finds one and runs builder
// again with joinEnv naming it; the constructor then joins that holder.

// extern void builder_join_namespace(void);
// static void __attribute__((constructor)) builder_join_init(void) {
//   builder_join_namespace();
// }
import "C"

// joinEnv names the holder Exec's second start of builder joins (join.c's
// JOIN_ENV).
const joinEnv = "_BUILDER_NAMESPACE"
