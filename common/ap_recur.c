/* ap_recur.c -- RFC 5545 recurrence in an IANA zone (see ap_recur.h for the
 * DST rules). libical expands wall times; resolve() finds which instants
 * carry a wall time by trying the zone's offsets either side of it. */
#include "ap_recur.h"

#include <libical/ical.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A series ends HORIZON_YEARS after its start at the latest: libical
 * searches a rule that matches nothing (BYMONTH=2;BYMONTHDAY=30) up to its
 * UNTIL, so every walk has one. With MINUTELY limited to filters that match
 * within a week (rule_shape_ok), that bounds the work of any rule. */
#define HORIZON_YEARS 10
/* Wall times one call may walk (a MINUTELY series over the horizon is
 * ~5.3 million); a call resumes from where the last one stopped. */
#define SCAN_LIMIT 6000000
/* How many instants the minimum-interval check looks at. */
#define INTERVAL_PROBE 1000
#define DAY_S 86400

struct ap_recur {
    struct icalrecurrencetype rule; /* COUNT cleared, UNTIL = the horizon: checked here */
    struct icaltimetype start;      /* floating wall time */
    icaltimezone *zone;
    int count;        /* 0: no COUNT */
    bool until_set;
    bool until_utc;   /* UNTIL=...Z: compared with the instant */
    int64_t until_s;  /* instant, or wall time read as if UTC */
    /* Where the last ap_recur_next stopped: the latest instance at or
     * before its after_ms, and how many instances came before it. A later
     * call starts there instead of at the start (see resumable()). */
    bool memo_set;
    struct icaltimetype memo_wall;
    int64_t memo_instant;
    int memo_taken;
};

static pthread_mutex_t ical_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ical_once = PTHREAD_ONCE_INIT;

static void ical_init(void) {
    /* libical aborts on errors by default; bad input here is a 422. */
    icalerror_set_errors_are_fatal(0);
}

static void refuse(ap_recur_error *why, const char *field, const char *reason) {
    if (why == NULL) return;
    why->field = field;
    snprintf(why->reason, sizeof(why->reason), "%s", reason);
}

/* "YYYY-MM-DDTHH:MM:SS" exactly, a real calendar date. */
static bool parse_wall(const char *s, struct icaltimetype *out) {
    int y, mo, d, h, mi, se, n = -1;
    if (s == NULL || strlen(s) != 19) return false;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
        return false;
    for (int i = 0; i < 19; i++) { /* sscanf takes signs and spaces; we do not */
        bool digit_pos = !(i == 4 || i == 7 || i == 10 || i == 13 || i == 16);
        if (digit_pos && (s[i] < '0' || s[i] > '9')) return false;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > icaltime_days_in_month(mo, y) ||
        h > 23 || mi > 59 || se > 59)
        return false;
    struct icaltimetype t = icaltime_null_time();
    t.year = y;
    t.month = mo;
    t.day = d;
    t.hour = h;
    t.minute = mi;
    t.second = se;
    t.is_date = 0;
    *out = t;
    return true;
}

/* IANA names are letters, digits, '_', '-', '+' in '/'-separated parts. */
static bool tz_name_ok(const char *tz) {
    size_t len = tz ? strlen(tz) : 0;
    if (len == 0 || len > 64 || tz[0] == '/' || strstr(tz, "..") || strstr(tz, "//")) return false;
    for (size_t i = 0; i < len; i++) {
        char c = tz[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '/'))
            return false;
    }
    return tz[len - 1] != '/';
}

static icaltimezone *zone_named(const char *tz) {
    if (strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0) return icaltimezone_get_utc_timezone();
    return icaltimezone_get_builtin_timezone(tz);
}

static int offset_at(icaltimezone *zone, int64_t utc_s) {
    struct icaltimetype t =
        icaltime_from_timet_with_zone((time_t)utc_s, 0, icaltimezone_get_utc_timezone());
    int is_daylight = 0;
    return icaltimezone_get_utc_offset_of_utc_time(zone, &t, &is_daylight);
}

/* The instant (epoch s) of wall time `wall` (seconds as if UTC): the
 * earlier one when it exists twice, false when it does not exist. */
static bool resolve(icaltimezone *zone, int64_t wall, int64_t *out) {
    int offs[2] = {offset_at(zone, wall - DAY_S), offset_at(zone, wall + DAY_S)};
    bool found = false;
    int64_t best = 0;
    for (int i = 0; i < 2; i++) {
        int64_t u = wall - offs[i];
        if (offset_at(zone, u) != offs[i]) continue;
        if (!found || u < best) best = u;
        found = true;
    }
    *out = best;
    return found;
}

/* false: stop the walk. taken counts the instances before this one. */
typedef bool (*visit_fn)(struct icaltimetype wall, int64_t instant_s, int taken, void *ctx);

/* Walks the rule's existing instants in order from `from` (the start, or an
 * instance with `taken` instances before it), honouring COUNT and UNTIL. */
static void walk(const ap_recur *r, struct icaltimetype from, int taken, visit_fn visit,
                 void *ctx) {
    icalrecur_iterator *it = icalrecur_iterator_new(r->rule, from);
    if (it == NULL) return;
    for (long steps = 0; steps < SCAN_LIMIT; steps++) {
        if (r->count > 0 && taken >= r->count) break;
        struct icaltimetype t = icalrecur_iterator_next(it);
        if (icaltime_is_null_time(t)) break;
        int64_t wall = (int64_t)icaltime_as_timet(t), instant;
        if (r->until_set && !r->until_utc && wall > r->until_s) break;
        if (!resolve(r->zone, wall, &instant)) continue; /* spring forward: no such time */
        if (r->until_set && r->until_utc && instant > r->until_s) break;
        if (!visit(t, instant, taken, ctx)) break;
        taken++;
    }
    icalrecur_iterator_free(it);
}

static bool has(const short *by) { return by[0] != ICAL_RECURRENCE_ARRAY_MAX; }

/* Frequencies and filters whose search libical bounds cheaply: no
 * SECONDLY, and MINUTELY only with filters that match within a week. */
static const char *rule_shape_refusal(const struct icalrecurrencetype *rule) {
    if (rule->freq == ICAL_SECONDLY_RECURRENCE) return "FREQ=SECONDLY is not supported (use MINUTELY or coarser)";
    if (rule->freq != ICAL_MINUTELY_RECURRENCE) return NULL;
    if (has(rule->by_month) || has(rule->by_month_day) || has(rule->by_year_day) ||
        has(rule->by_week_no) || has(rule->by_set_pos))
        return "FREQ=MINUTELY takes only BYDAY, BYHOUR, BYMINUTE and BYSECOND filters";
    for (int i = 0; i < ICAL_BY_DAY_SIZE && rule->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
        if (icalrecurrencetype_day_position(rule->by_day[i]) != 0)
            return "FREQ=MINUTELY takes BYDAY without a position (MO, not 1MO)";
    return NULL;
}

/* Starting a walk at an earlier instance instead of the start gives the
 * same later instances: instances share every field the rule does not
 * set (they all come from the start) and sit on the rule's INTERVAL grid.
 * BYSETPOS picks by position inside a period, so it always walks from the
 * start (it only appears with coarse frequencies, where that is cheap). */
static bool resumable(const ap_recur *r) { return r->memo_set && !has(r->rule.by_set_pos); }

typedef struct {
    int64_t prev;
    bool have_prev;
    int64_t min_gap;
    bool too_close;
    int seen;
} probe;

static bool probe_visit(struct icaltimetype wall, int64_t s, int taken, void *ctx) {
    (void)wall;
    (void)taken;
    probe *p = ctx;
    if (p->have_prev && s - p->prev < p->min_gap) {
        p->too_close = true;
        return false;
    }
    p->prev = s;
    p->have_prev = true;
    return ++p->seen < INTERVAL_PROBE;
}

static ap_status build(ap_recur *r, const char *rrule, const char *tz, const char *start,
                       int64_t min_interval_s, ap_recur_error *why) {
    if (rrule == NULL || tz == NULL || start == NULL) {
        refuse(why, rrule == NULL ? "rrule" : tz == NULL ? "tz" : "start", "is required");
        return AP_EINVAL;
    }
    if (strncmp(rrule, "RRULE:", 6) == 0) rrule += 6;
    if (strlen(rrule) == 0 || strlen(rrule) > 1024) {
        refuse(why, "rrule", "must be an RRULE value of 1 to 1024 characters");
        return AP_EINVAL;
    }
    struct icalrecurrencetype rule = icalrecurrencetype_from_string(rrule);
    if (rule.rscale != NULL) {
        icalmemory_free_buffer(rule.rscale);
        refuse(why, "rrule", "RSCALE (non-Gregorian calendars) is not supported");
        return AP_EINVAL;
    }
    if (rule.freq == ICAL_NO_RECURRENCE) {
        refuse(why, "rrule", "is not a valid RFC 5545 recurrence rule (FREQ is required)");
        return AP_EINVAL;
    }
    const char *shape = rule_shape_refusal(&rule);
    if (shape != NULL) {
        refuse(why, "rrule", shape);
        return AP_EINVAL;
    }
    if (!tz_name_ok(tz) || (r->zone = zone_named(tz)) == NULL) {
        refuse(why, "tz", "is not a known IANA time zone (e.g. America/New_York)");
        return AP_EINVAL;
    }
    if (!parse_wall(start, &r->start)) {
        refuse(why, "start", "must be a local wall time YYYY-MM-DDTHH:MM:SS");
        return AP_EINVAL;
    }
    int64_t first;
    if (!resolve(r->zone, (int64_t)icaltime_as_timet(r->start), &first)) {
        refuse(why, "start", "does not exist in this time zone (the clocks skip it)");
        return AP_EINVAL;
    }
    r->count = rule.count > 0 ? rule.count : 0;
    if (!icaltime_is_null_time(rule.until)) {
        r->until_set = true;
        r->until_utc = icaltime_is_utc(rule.until);
        struct icaltimetype u = rule.until;
        if (u.is_date) { /* a date: through the end of that local day */
            u.is_date = 0;
            u.hour = 23;
            u.minute = 59;
            u.second = 59;
        }
        r->until_s = (int64_t)icaltime_as_timet(u);
    }
    rule.count = 0;
    rule.until = r->start; /* floating, like the walk */
    rule.until.year += HORIZON_YEARS;
    if (rule.until.month == 2 && rule.until.day == 29) rule.until.day = 28;
    r->rule = rule;

    icalrecur_iterator *it = icalrecur_iterator_new(r->rule, r->start);
    if (it == NULL) {
        refuse(why, "rrule", "combines parts RFC 5545 does not allow together");
        return AP_EINVAL;
    }
    icalrecur_iterator_free(it);
    probe p = {.min_gap = min_interval_s};
    walk(r, r->start, 0, probe_visit, &p);
    if (p.seen == 0) {
        refuse(why, "rrule", "has no occurrence at or after start");
        return AP_EINVAL;
    }
    if (p.too_close) {
        char reason[160];
        snprintf(reason, sizeof(reason), "occurs more often than once every %lld s",
                 (long long)min_interval_s);
        refuse(why, "rrule", reason);
        return AP_EINVAL;
    }
    return AP_OK;
}

ap_status ap_recur_new(ap_recur **out, const char *rrule, const char *tz, const char *start,
                       int64_t min_interval_s, ap_recur_error *why) {
    *out = NULL;
    if (why) {
        why->field = NULL;
        why->reason[0] = '\0';
    }
    ap_recur *r = calloc(1, sizeof(*r));
    if (r == NULL) return AP_ENOMEM;
    pthread_once(&ical_once, ical_init);
    pthread_mutex_lock(&ical_mu);
    ap_status st = build(r, rrule, tz, start, min_interval_s, why);
    pthread_mutex_unlock(&ical_mu);
    if (st != AP_OK) {
        free(r);
        return st;
    }
    *out = r;
    return AP_OK;
}

void ap_recur_free(ap_recur *r) { free(r); }

typedef struct {
    ap_recur *r;
    int64_t after_ms;
    int64_t *out;
    size_t max, n;
} collect;

static bool collect_visit(struct icaltimetype wall, int64_t s, int taken, void *ctx) {
    collect *c = ctx;
    if (s * 1000 <= c->after_ms) { /* remember the latest point to resume from */
        c->r->memo_set = true;
        c->r->memo_wall = wall;
        c->r->memo_instant = s * 1000;
        c->r->memo_taken = taken;
        return true;
    }
    c->out[c->n++] = s * 1000;
    return c->n < c->max;
}

size_t ap_recur_next(ap_recur *r, int64_t after_ms, int64_t *out, size_t max) {
    if (r == NULL || max == 0) return 0;
    collect c = {.r = r, .after_ms = after_ms, .out = out, .max = max};
    pthread_mutex_lock(&ical_mu);
    if (resumable(r) && r->memo_instant <= after_ms)
        walk(r, r->memo_wall, r->memo_taken, collect_visit, &c);
    else
        walk(r, r->start, 0, collect_visit, &c);
    pthread_mutex_unlock(&ical_mu);
    return c.n;
}
