/* test_ctl_options.c -- autopostctl's option table (ctl/ctl_options.c): one
 * parser for every command's --config, --help, values and mistakes. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "test.h"

typedef struct parsed {
    const char *platform;
    bool json, filtered;
    long limit, watch;
    int media;
} parsed;

static bool count_media(char *value, void *target) {
    if (strcmp(value, "bad") == 0) return false;
    ((parsed *)target)->media++;
    return true;
}

/* Parses a NULL-terminated command line; positional arguments start at *first. */
static int parse(ctl_ctx *ctx, parsed *p, int *first, char **args) {
    memset(p, 0, sizeof(*p));
    p->limit = 20;
    p->watch = 2;
    const ctl_opt opts[] = {
        {.name = "platform", .string = &p->platform, .seen = &p->filtered},
        {.name = "json", .flag = &p->json},
        {.name = "limit", .number = &p->limit, .min = 1, .max = 100, .invalid = "--limit: \"%s\""},
        {.name = "watch", .number = &p->watch, .min = 1, .max = 60, .optional_value = true},
        {.name = "media", .take = count_media, .target = p, .invalid = "--media refused"},
        {0}};
    int argc = 0;
    while (args[argc]) argc++;
    optind = 0; /* glibc: a fresh scan, as main.c does before each command */
    opterr = 0;
    int rc = ctl_parse_options(ctx, "test", "usage: test\n", opts, argc, args);
    *first = optind;
    return rc;
}

static void test_values_and_positionals(void) {
    ctl_ctx ctx = {0};
    parsed p;
    int first;
    char *args[] = {"test",      "ID",          "--platform", "x",       "--json",
                    "--limit=7", "--media",     "a",          "--media", "b",
                    "--config",  "/etc/a.yaml", NULL};
    CHECK(parse(&ctx, &p, &first, args) == CTL_OPTS_CONTINUE);
    CHECK_STR_EQ(p.platform, "x");
    CHECK(p.json && p.filtered && p.limit == 7 && p.media == 2 && p.watch == 2);
    CHECK_STR_EQ(ctx.config_path, "/etc/a.yaml");
    CHECK(first == 11 && strcmp(args[first], "ID") == 0); /* permuted to the end */
}

static void test_optional_number(void) {
    ctl_ctx ctx = {0};
    parsed p;
    int first;
    char *bare[] = {"test", "--watch", NULL};
    CHECK(parse(&ctx, &p, &first, bare) == CTL_OPTS_CONTINUE && p.watch == 2);
    char *joined[] = {"test", "--watch=5", NULL};
    CHECK(parse(&ctx, &p, &first, joined) == CTL_OPTS_CONTINUE && p.watch == 5);
    char *separate[] = {"test", "--watch", "9", NULL};
    CHECK(parse(&ctx, &p, &first, separate) == CTL_OPTS_CONTINUE && p.watch == 9);
    CHECK(first == 3); /* "9" was the option's value, not a positional */
    char *not_a_number[] = {"test", "--watch", "ID", NULL};
    CHECK(parse(&ctx, &p, &first, not_a_number) == CTL_OPTS_CONTINUE && p.watch == 2);
    CHECK(first == 2);
}

static void test_help_and_mistakes(void) {
    ctl_ctx ctx = {0};
    parsed p;
    int first;
    char *help[] = {"test", "--json", "--help", NULL};
    CHECK(parse(&ctx, &p, &first, help) == CTL_EXIT_OK);
    char *unknown[] = {"test", "--nope", NULL};
    CHECK(parse(&ctx, &p, &first, unknown) == CTL_EXIT_USAGE);
    char *short_opt[] = {"test", "-h", NULL};
    CHECK(parse(&ctx, &p, &first, short_opt) == CTL_EXIT_USAGE);
    char *missing[] = {"test", "--limit", NULL};
    CHECK(parse(&ctx, &p, &first, missing) == CTL_EXIT_USAGE);
    char *range[] = {"test", "--limit", "101", NULL};
    CHECK(parse(&ctx, &p, &first, range) == CTL_EXIT_USAGE && p.limit == 20);
    char *refused[] = {"test", "--media", "bad", NULL};
    CHECK(parse(&ctx, &p, &first, refused) == CTL_EXIT_USAGE);
    char *flag_value[] = {"test", "--json=yes", NULL};
    CHECK(parse(&ctx, &p, &first, flag_value) == CTL_EXIT_USAGE);
}

int main(void) {
    RUN(test_values_and_positionals);
    RUN(test_optional_number);
    RUN(test_help_and_mistakes);
    return TEST_RESULT();
}
