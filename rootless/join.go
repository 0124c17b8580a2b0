package rootless

// A command of an account whose namespace holder runs joins its user and
// mount namespaces here, in a C constructor: setns into a user namespace
// needs a single-threaded process, and the Go runtime starts threads
// before main. This spares each command the second start of builder that
// Exec's nsenter costs (about 60 ms here); the first command, or one that
// finds no holder, still goes through Exec, which makes one.

// extern void builder_join_namespace(void);
// static void __attribute__((constructor)) builder_join_init(void) {
//   builder_join_namespace();
// }
import "C"
