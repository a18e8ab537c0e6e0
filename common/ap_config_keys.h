/* ap_config_keys.h -- how ap_config.c and ap_config_platform.c read YAML
 * against a key table. Private to those two files: the rest of the code
 * reads ap_config.h.
 *
 * Each table is flat: one line a key, with its type, its range and where it
 * lands (an offset into ap_config or ap_platform_config). Errors name the
 * file, the line, the dotted key and the reason: "file:12: nats.url: ...". */
#ifndef AP_CONFIG_KEYS_H
#define AP_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "ap_config.h"
#include "ap_status.h"

typedef enum { T_STRING, T_INT, T_BOOL, T_DURATION, T_FRACTION } key_type;

typedef struct key_spec {
    const char *key;
    key_type type;
    size_t offset;
    int64_t min, max; /* for T_INT, T_DURATION (ms) and T_FRACTION (thousandths) */
} key_spec;

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

typedef struct load_ctx {
    ap_config *cfg;
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} load_ctx;

/* Fills c->err with "file:line: key: reason" (line of node, 0 without one)
 * and returns AP_EINVAL. */
ap_status ap_config_fail(load_ctx *c, yaml_node_t *node, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline const char *ap_config_scalar(yaml_node_t *n) {
    return (const char *)n->data.scalar.value;
}

/* Parses node as spec says and stores it at base + spec->offset; key is the
 * dotted name errors use, at the node they point to. */
ap_status ap_config_set_value(load_ctx *c, const key_spec *spec, void *base, const char *key,
                              yaml_node_t *at, yaml_node_t *node);

/* The entry for key in table, or NULL. */
const key_spec *ap_config_find_key(const key_spec *table, size_t n, const char *key);

/* ---- platforms.<name>.* (ap_config_platform.c) ---- */

/* Reads one platforms.<name> entry into cfg (adding it with its defaults on
 * first sight; a later file merges key by key). */
ap_status ap_config_walk_platform(load_ctx *c, const char *name, yaml_node_t *at, yaml_node_t *map);

void ap_config_platform_free(ap_platform_config *p);

/* AP_NEED_PLATFORM: platform is configured and its ca_file readable. */
ap_status ap_config_require_platform(const ap_config *cfg, const char *platform, const char *where,
                                     char *err, size_t errlen);

/* Every configured platform's keys that only make sense together. */
ap_status ap_config_check_platforms(const ap_config *cfg, const char *where, char *err,
                                    size_t errlen);

#endif
