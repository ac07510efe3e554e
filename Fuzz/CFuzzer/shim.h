#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry point for programs with their own main ("Using libFuzzer as a library"):
// parses libFuzzer's flags from argv and calls the callback once per input.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
