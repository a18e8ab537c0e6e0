/* main.c -- autopostctl: global flags and the command table.
 *
 * Each command parses its own options from a table (ctl_options.c; so
 * `--config` may come before or after the command name) and returns its exit code:
 * 0 success, 1 refused or failed, 2 the command line is wrong. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ap_service.h"
#include "ctl.h"

typedef struct ctl_command {
    const char *name;
    ctl_command_fn fn;
    const char *summary;
} ctl_command;

static const ctl_command commands[] = {
    {"migrate", ctl_cmd_migrate, "apply the embedded SQL migrations"},
    {"streams", ctl_cmd_streams, "streams apply: create/update the JetStream topology"},
    {"accounts", ctl_cmd_accounts, "accounts add|import|list|set-status: social accounts"},
    {"keys", ctl_cmd_keys, "keys id|rotate: the credentials key and its rotation"},
    {"schedule", ctl_cmd_schedule, "schedule one post"},
    {"import", ctl_cmd_import, "schedule posts from a JSON Lines file, all or nothing"},
    {"list", ctl_cmd_list, "list recent schedules"},
    {"show", ctl_cmd_show, "show one schedule, its post and its attempt history"},
    {"cancel", ctl_cmd_cancel, "cancel a pending or queued schedule"},
    {"retry", ctl_cmd_retry,
     "retry a failed, unconfirmed or cancelled schedule, or every match of a filter"},
    {"status", ctl_cmd_status, "counts per platform and status, and consumer lag"},
    {"failed", ctl_cmd_failed, "failed and unconfirmed schedules grouped by reason"},
    {"webhooks", ctl_cmd_webhooks, "webhooks add|list|remove|deliveries: tenants' endpoints"},
    {"tenants", ctl_cmd_tenants, "tenants add|list: the customers that own accounts and keys"},
    {"api-keys", ctl_cmd_api_keys, "api-keys create|list|revoke: keys for autopost-api"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out) {
    fprintf(out, "usage: autopostctl [--config FILE] [--verbose] COMMAND [ARGS]\n\n"
                 "Operator tool for autopost: schema, accounts, schedules, status.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nglobal options:\n"
                 "  --config FILE  YAML configuration (environment variables override it:\n"
                 "                 AUTOPOST_POSTGRES_DSN, AUTOPOST_NATS_URL,\n"
                 "                 AUTOPOST_CREDENTIALS_KEY, AUTOPOST_CREDENTIALS_KEY_FILE)\n"
                 "  --verbose      also show the library's JSON log lines\n"
                 "  --check-config validate the configuration and exit\n"
                 "  --help         this text; `autopostctl COMMAND --help` for a command\n"
                 "\nexit status: 0 ok, 1 failed or refused, 2 bad command line\n");
}

int main(int argc, char **argv) {
    ctl_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    char err[256];
    if (ap_service_protect_secrets(err, sizeof(err)) != 0) {
        fprintf(stderr, "autopostctl: %s\n", err);
        return CTL_EXIT_FAIL;
    }
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"check-config", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    opterr = 0;
    int c;
    bool check_only = false;
    /* "+": stop at the command name; its options are the command's. */
    while ((c = getopt_long(argc, argv, "+:c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx.config_path = optarg; break;
        case 'v': ctx.verbose = true; break;
        case 'k': check_only = true; break;
        case 'h': usage(stdout); return CTL_EXIT_OK;
        default:
            fprintf(stderr, "autopostctl: %s %s\nTry 'autopostctl --help'.\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return CTL_EXIT_USAGE;
        }
    }
    if (check_only) {
        /* The whole file is checked; autopostctl uses both PostgreSQL and NATS. */
        ap_config cfg;
        int bad = ap_config_setup(&cfg, ctx.config_path, AP_NEED_PG | AP_NEED_NATS, NULL);
        ap_config_free(&cfg);
        if (bad) return CTL_EXIT_FAIL;
        printf("config ok\n");
        return CTL_EXIT_OK;
    }
    if (optind >= argc) {
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    const char *name = argv[optind];
    const ctl_command *cmd = NULL;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) cmd = &commands[i];
    if (cmd == NULL) {
        fprintf(stderr, "autopostctl: unknown command \"%s\"\n", name);
        fprintf(stderr, "Try 'autopostctl --help'.\n");
        return CTL_EXIT_USAGE;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0; /* glibc: start a fresh scan for the command's own options */
    int rc = cmd->fn(&ctx, sub_argc, sub_argv);
    ctl_ctx_close(&ctx);
    fflush(stdout);
    if (ferror(stdout)) {
        fprintf(stderr, "autopostctl: error writing to stdout\n");
        return CTL_EXIT_FAIL;
    }
    return rc;
}
