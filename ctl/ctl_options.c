/* ctl_options.c -- every autopostctl command's options, parsed from a table.
 *
 * Each command lists its options as data (name and where the value goes);
 * this file turns the list into getopt_long's, adds --config and --help to
 * every command, and owns the three answers a command line can get: the
 * command's usage on --help, "unknown option"/"needs a value", and "this
 * value is not allowed" with the option's own sentence. curl's tool drives
 * its options from one table the same way; the commands keep only what is
 * theirs (which options, what their values mean). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* getopt_long's value for table entry i; above every short option letter. */
#define CTL_OPT_FIRST 256
#define CTL_OPT_MAX 16 /* the most any command has is 8 */

static int has_arg(const ctl_opt *o) {
    if (o->flag) return no_argument;
    return o->optional_value ? optional_argument : required_argument;
}

static int bad_option(const char *cmd, int ret, char **argv) {
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (ret == ':') return ctl_usage_error(cmd, "option %s needs a value", arg);
    if (optopt > 0 && optopt < CTL_OPT_FIRST)
        return ctl_usage_error(cmd, "unknown option -%c", optopt);
    return ctl_usage_error(cmd, "unknown option %s", arg);
}

/* The option's sentence, with its "%s" (if any) replaced by the value. */
static int bad_value(const char *cmd, const ctl_opt *o, const char *value) {
    const char *why = o->invalid ? o->invalid : "invalid value";
    const char *mark = strstr(why, "%s");
    if (mark == NULL) return ctl_usage_error(cmd, "%s", why);
    return ctl_usage_error(cmd, "%.*s%s%s", (int)(mark - why), why, value ? value : "", mark + 2);
}

static bool take_number(const ctl_opt *o, int argc, char **argv) {
    if (o->optional_value && optarg == NULL) {
        /* "--watch 5" as well as "--watch=5": take a following number. */
        if (optind < argc && ctl_int_arg(argv[optind], o->min, o->max, o->number)) optind++;
        return true;
    }
    return ctl_int_arg(optarg, o->min, o->max, o->number);
}

static bool take_value(const ctl_opt *o, int argc, char **argv) {
    if (o->seen) *o->seen = true;
    if (o->flag) {
        *o->flag = true;
        return true;
    }
    if (o->string) {
        *o->string = optarg;
        return true;
    }
    if (o->number) return take_number(o, argc, argv);
    return o->take != NULL && o->take(optarg, o->target);
}

int ctl_parse_options(ctl_ctx *ctx, const char *cmd, const char *usage, const ctl_opt *opts,
                      int argc, char **argv) {
    struct option longopts[CTL_OPT_MAX + 3] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
    };
    size_t n = 2, count = 0;
    for (; opts && opts[count].name; count++) {
        if (count == CTL_OPT_MAX) return ctl_fail("%s: more options than CTL_OPT_MAX", cmd);
        longopts[n++] = (struct option){opts[count].name, has_arg(&opts[count]), NULL,
                                        CTL_OPT_FIRST + (int)count};
    }
    int c;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'c') {
            ctx->config_path = optarg;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return CTL_EXIT_OK;
        } else if (c < CTL_OPT_FIRST || (size_t)(c - CTL_OPT_FIRST) >= count) {
            return bad_option(cmd, c, argv);
        } else if (!take_value(&opts[c - CTL_OPT_FIRST], argc, argv)) {
            return bad_value(cmd, &opts[c - CTL_OPT_FIRST], optarg);
        }
    }
    return CTL_OPTS_CONTINUE;
}
