/* fuzz_instagram_response.c -- libFuzzer target for the Instagram adapter
 * (see container_fuzz.h for what is checked). */
#define FUZZ_PLATFORM "instagram"
#include "container_fuzz.h"
