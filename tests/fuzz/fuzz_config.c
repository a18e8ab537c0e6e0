/* fuzz_config.c -- libFuzzer target: the strict YAML config loader on
 * arbitrary bytes. Whatever the input, loading must not crash or leak, and a
 * rejection must say "file:line: ..." (or name the file). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ap_config cfg;
    char err[512] = "";
    ap_config_init(&cfg);
    ap_status s =
        ap_config_load_buffer(&cfg, "fuzz.yaml", (const char *)data, size, err, sizeof(err));
    if (s == AP_OK) {
        ap_config_require(&cfg, AP_NEED_NATS | AP_NEED_PG | AP_NEED_KEY | AP_NEED_PLATFORM,
                          "facebook", err, sizeof(err));
        for (int i = 0; i < cfg.nplatforms; i++)
            if (cfg.platforms[i].base_url == NULL || cfg.platforms[i].api_version == NULL) abort();
    } else if (s == AP_EINVAL && strncmp(err, "fuzz.yaml", 9) != 0) {
        abort(); /* an error that does not say where */
    }
    ap_config_free(&cfg);
    return 0;
}
