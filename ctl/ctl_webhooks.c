/* ctl_webhooks.c -- `webhooks add|list|remove|deliveries`: a tenant's
 * webhook endpoints, through the same store functions the API's
 * /v1/webhooks routes call (webhooks/endpoints.h).
 *
 * `add` prints the endpoint id and its signing secret, once: only the sealed
 * secret is stored (sealed with the credentials key, like account tokens),
 * so a lost secret means removing the endpoint and adding it again. The
 * secret is the last word of the output, so scripts can take it with
 * `| awk '{print $NF}'`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_crypto.h"
#include "ctl.h"
#include "endpoints.h"

#define DELIVERIES_DEFAULT_LIMIT 50

static const char webhooks_usage[] =
    "usage: autopostctl webhooks add --tenant ID --url URL --events TYPE[,TYPE...]\n"
    "       autopostctl webhooks list [--tenant ID]\n"
    "       autopostctl webhooks remove WEBHOOK_ID\n"
    "       autopostctl webhooks deliveries WEBHOOK_ID [--limit N]\n\n"
    "add         a tenant's endpoint for the given event types (* for all, e.g.\n"
    "            schedule.published,schedule.failed); prints \"<id> <secret>\": the\n"
    "            secret signs every delivery (Autopost-Signature) and is shown only\n"
    "            here. The URL must be https to a public address unless\n"
    "            webhooks.allow_private is set (tests, development).\n"
    "list        endpoints (of one tenant), with FAILING since when a delivery gave up.\n"
    "remove      deletes an endpoint and its deliveries.\n"
    "deliveries  the endpoint's most recent deliveries: event, state, attempts,\n"
    "            last HTTP status or error.\n"
    "\nall take --config FILE.\n";

static int webhooks_add(ctl_ctx *ctx, int argc, char **argv) {
    const char *tenant = NULL, *url = NULL, *events = NULL;
    const ctl_opt opts[] = {{.name = "tenant", .string = &tenant},
                            {.name = "url", .string = &url},
                            {.name = "events", .string = &events},
                            {0}};
    int rc = ctl_parse_options(ctx, "webhooks add", webhooks_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("webhooks add", "unexpected argument \"%s\"", argv[optind]);
    if (tenant == NULL || url == NULL || events == NULL)
        return ctl_usage_error("webhooks add", "--tenant, --url and --events are required");
    if ((rc = ctl_setup(ctx, AP_NEED_PG | AP_NEED_KEY)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    ap_crypto_keyring ring;
    if (ap_crypto_keyring_load(&ring, &ctx->cfg, err, sizeof(err)) != AP_OK)
        return ctl_fail("%s", err);
    char id[AP_UUID_TEXT_LEN + 1], secret[WH_SECRET_LEN + 1];
    ap_status st =
        wh_endpoint_create(ctx->pg.conn, &ring, tenant, url, events,
                           ctx->cfg.webhooks_allow_private, id, secret, err, sizeof(err));
    ap_crypto_keyring_wipe(&ring);
    if (st != AP_OK) return ctl_fail("cannot add webhook: %s", err);
    printf("%s %s\n", id, secret);
    explicit_bzero(secret, sizeof(secret));
    return CTL_EXIT_OK;
}

static int webhooks_list(ctl_ctx *ctx, int argc, char **argv) {
    const char *tenant = NULL;
    const ctl_opt opts[] = {{.name = "tenant", .string = &tenant}, {0}};
    int rc = ctl_parse_options(ctx, "webhooks list", webhooks_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("webhooks list", "unexpected argument \"%s\"", argv[optind]);
    char tid[AP_UUID_TEXT_LEN + 1];
    if (tenant && !ap_uuid_normalize(tenant, tid))
        return ctl_usage_error("webhooks list", "--tenant: not a UUID");
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    wh_endpoint *list = NULL;
    int n = 0;
    if (wh_endpoint_list(ctx->pg.conn, tenant ? tid : NULL, false, &list, &n, err, sizeof(err)) !=
        AP_OK)
        return ctl_fail("cannot list webhooks: %s", err);
    printf("%-36s  %-36s  %-28s  %-20s  %s\n", "ID", "TENANT", "EVENTS", "FAILING SINCE", "URL");
    for (int i = 0; i < n; i++)
        printf("%-36s  %-36s  %-28s  %-20s  %s\n", list[i].id, list[i].tenant_id,
               list[i].event_types, list[i].failing_since[0] ? list[i].failing_since : "-",
               list[i].url);
    wh_endpoints_free(list, n);
    return CTL_EXIT_OK;
}

static int webhooks_remove(ctl_ctx *ctx, int argc, char **argv) {
    int rc = ctl_parse_options(ctx, "webhooks remove", webhooks_usage, NULL, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind + 1 != argc)
        return ctl_usage_error("webhooks remove", "expected exactly one WEBHOOK_ID");
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    if (wh_endpoint_remove(ctx->pg.conn, NULL, argv[optind], err, sizeof(err)) != AP_OK)
        return ctl_fail("cannot remove webhook: %s", err);
    printf("removed %s\n", argv[optind]);
    return CTL_EXIT_OK;
}

static int webhooks_deliveries(ctl_ctx *ctx, int argc, char **argv) {
    long limit = DELIVERIES_DEFAULT_LIMIT;
    const ctl_opt opts[] = {{.name = "limit",
                             .number = &limit,
                             .min = 1,
                             .max = 10000,
                             .invalid = "--limit takes a number from 1 to 10000"},
                            {0}};
    int rc = ctl_parse_options(ctx, "webhooks deliveries", webhooks_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind + 1 != argc)
        return ctl_usage_error("webhooks deliveries", "expected exactly one WEBHOOK_ID");
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    char err[512];
    wh_delivery *list = NULL;
    int n = 0;
    if (wh_delivery_list(ctx->pg.conn, NULL, argv[optind], (int)limit, &list, &n, err,
                         sizeof(err)) != AP_OK)
        return ctl_fail("cannot list deliveries: %s", err);
    printf("%-36s  %-22s  %-9s  %8s  %6s  %s\n", "EVENT", "TYPE", "STATE", "ATTEMPTS", "STATUS",
           "LAST ERROR");
    for (int i = 0; i < n; i++) {
        char status[16] = "-";
        if (list[i].last_status) snprintf(status, sizeof(status), "%d", list[i].last_status);
        printf("%-36s  %-22s  %-9s  %8d  %6s  %s\n", list[i].event_id, list[i].event_type,
               list[i].state, list[i].attempts, status,
               list[i].last_error[0] ? list[i].last_error : "-");
    }
    wh_deliveries_free(list, n);
    return CTL_EXIT_OK;
}

json_t *ctl_webhooks_failing(ctl_ctx *ctx, char *err, size_t errlen) {
    wh_endpoint *list = NULL;
    int n = 0;
    if (wh_endpoint_list(ctx->pg.conn, NULL, true, &list, &n, err, errlen) != AP_OK) return NULL;
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", list[i].id, "tenant_id",
                                             list[i].tenant_id, "url", list[i].url, "failing_since",
                                             list[i].failing_since));
    wh_endpoints_free(list, n);
    if (arr == NULL) snprintf(err, errlen, "out of memory");
    return arr;
}

void ctl_webhooks_failing_print(const json_t *failing) {
    if (json_array_size(failing) == 0) return;
    printf("\nfailing webhooks (deliveries gave up; `autopostctl webhooks deliveries ID`):\n");
    size_t i;
    const json_t *w;
    json_array_foreach(failing, i, w) {
        printf("  %s  tenant %s  since %s  %s\n", json_string_value(json_object_get(w, "id")),
               json_string_value(json_object_get(w, "tenant_id")),
               json_string_value(json_object_get(w, "failing_since")),
               json_string_value(json_object_get(w, "url")));
    }
}

int ctl_cmd_webhooks(ctl_ctx *ctx, int argc, char **argv) {
    static const char verbs[] = "add, list, remove, deliveries";
    if (argc < 2) return ctl_usage_error("webhooks", "missing sub-command (%s)", verbs);
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs(webhooks_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (strcmp(verb, "add") == 0) return webhooks_add(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0) return webhooks_list(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "remove") == 0) return webhooks_remove(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "deliveries") == 0) return webhooks_deliveries(ctx, argc - 1, argv + 1);
    return ctl_usage_error("webhooks", "unknown sub-command \"%s\" (%s)", verb, verbs);
}
