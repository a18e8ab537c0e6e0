/* fuzz_threads_response.c -- libFuzzer target for the Threads adapter
 * (see container_fuzz.h for what is checked). */
#define FUZZ_PLATFORM "threads"
#include "container_fuzz.h"
