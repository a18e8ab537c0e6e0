/* ap_metrics.c -- see ap_metrics.h.
 *
 * Each series renders its label pairs once, at registration, already escaped
 * (`platform="facebook",outcome="ok"`): a scrape then only copies strings and
 * formats numbers, and the same string is the key that finds an existing
 * series when one is registered twice. Values are C11 atomics: a histogram's
 * buckets are plain per-bucket counts made cumulative while rendering, so an
 * observation is one increment plus a compare-and-swap on the sum. A scrape
 * running during observations may see _sum a moment behind the buckets;
 * Prometheus tolerates that, and _count is always the +Inf bucket. */
#include "ap_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_buf.h"

const double ap_metrics_latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};
const size_t ap_metrics_latency_nbuckets =
    sizeof(ap_metrics_latency_buckets) / sizeof(ap_metrics_latency_buckets[0]);

typedef enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

struct ap_metric {
    struct ap_metric *next; /* in its family, registration order */
    metric_kind kind;
    char *labels;             /* escaped pairs without braces; "" for none */
    _Atomic uint64_t count;   /* counter */
    _Atomic double value;     /* gauge; histogram sum */
    _Atomic uint64_t *bucket; /* histogram: nbounds + 1 (the last is +Inf) */
    const double *bounds;     /* the family's */
    size_t nbounds;
};

typedef struct family {
    struct family *next;
    char *name;
    char *help;
    metric_kind kind;
    size_t nlabels;
    char *label_names[AP_METRICS_MAX_LABELS];
    double bounds[AP_METRICS_MAX_BUCKETS];
    size_t nbounds;
    struct ap_metric *series, **series_tail;
} family;

struct ap_metrics {
    pthread_mutex_t mu;
    family *families, **tail;
};

/* Escapes for a label value (in_label) or a HELP line: backslash and newline
 * always, the double quote only inside a label value. */
static void put_escaped(ap_buf *b, const char *s, bool in_label) {
    for (; *s; s++) {
        if (*s == '\\')
            ap_buf_puts(b, "\\\\");
        else if (*s == '\n')
            ap_buf_puts(b, "\\n");
        else if (*s == '"' && in_label)
            ap_buf_puts(b, "\\\"");
        else
            ap_buf_append(b, s, 1);
    }
}

/* Shortest text that reads back as the same double, laid out like Go's
 * strconv.FormatFloat(v, 'g', -1, 64), which the Prometheus server and its
 * client libraries use: "10" and "0.005" rather than C's "1e+01", exponent
 * form below 1e-4 and from 1e6. Matching matters for le="..." values, which
 * are compared as strings across scrapes. The specials are +Inf, -Inf, NaN. */
static void format_double(char *buf, size_t len, double v) {
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(buf, len, "%.*e", digits - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, len, "%.*e", digits - 1, v);
    const char *e = strchr(buf, 'e');
    int exp = e ? atoi(e + 1) : 0;
    if (exp < -4 || exp >= 6) return;
    int decimals = digits - 1 - exp;
    snprintf(buf, len, "%.*f", decimals > 0 ? decimals : 0, v);
}

/* ---- names ----------------------------------------------------------------- */

static bool valid_name(const char *s, bool colon_ok) {
    if (s == NULL || *s == '\0') return false;
    for (const char *c = s; *c; c++) {
        bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
                     (colon_ok && *c == ':');
        bool digit = *c >= '0' && *c <= '9';
        if (!alpha && !(digit && c != s)) return false;
    }
    return true;
}

/* Label names: valid, not reserved ("__" prefix), unique, and "le" is the
 * histogram's own. */
static bool valid_labels(const char *const *labels, size_t *nlabels, metric_kind kind) {
    size_t n = 0;
    for (; labels && labels[2 * n]; n++) {
        const char *name = labels[2 * n];
        if (n >= AP_METRICS_MAX_LABELS || labels[2 * n + 1] == NULL) return false;
        if (!valid_name(name, false) || strncmp(name, "__", 2) == 0) return false;
        if (kind == KIND_HISTOGRAM && strcmp(name, "le") == 0) return false;
        for (size_t j = 0; j < n; j++)
            if (strcmp(labels[2 * j], name) == 0) return false;
    }
    *nlabels = n;
    return true;
}

static char *render_labels(const char *const *labels, size_t n) {
    ap_buf b = {0};
    ap_buf_puts(&b, ""); /* "" rather than NULL for no labels */
    for (size_t i = 0; i < n; i++) {
        if (i > 0) ap_buf_puts(&b, ",");
        ap_buf_puts(&b, labels[2 * i]);
        ap_buf_puts(&b, "=\"");
        put_escaped(&b, labels[2 * i + 1], true);
        ap_buf_puts(&b, "\"");
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

/* ---- registry ---------------------------------------------------------------- */

ap_metrics *ap_metrics_new(void) {
    ap_metrics *reg = calloc(1, sizeof(*reg));
    if (reg == NULL) return NULL;
    if (pthread_mutex_init(&reg->mu, NULL) != 0) {
        free(reg);
        return NULL;
    }
    reg->tail = &reg->families;
    return reg;
}

static void series_free(struct ap_metric *m) {
    free(m->labels);
    free(m->bucket);
    free(m);
}

static void family_free(family *f) {
    struct ap_metric *m = f->series;
    while (m) {
        struct ap_metric *next = m->next;
        series_free(m);
        m = next;
    }
    for (size_t i = 0; i < f->nlabels; i++) free(f->label_names[i]);
    free(f->name);
    free(f->help);
    free(f);
}

void ap_metrics_free(ap_metrics *reg) {
    if (reg == NULL) return;
    family *f = reg->families;
    while (f) {
        family *next = f->next;
        family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

static family *family_find(ap_metrics *reg, const char *name) {
    for (family *f = reg->families; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

/* Does an existing family accept a series with this shape? */
static bool family_matches(const family *f, metric_kind kind, const char *const *labels,
                           size_t nlabels, const double *bounds, size_t nbounds) {
    if (f->kind != kind || f->nlabels != nlabels) return false;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->label_names[i], labels[2 * i]) != 0) return false;
    if (kind != KIND_HISTOGRAM) return true;
    if (f->nbounds != nbounds) return false;
    for (size_t i = 0; i < nbounds; i++)
        if (f->bounds[i] != bounds[i]) return false;
    return true;
}

static family *family_new(const char *name, const char *help, metric_kind kind,
                          const char *const *labels, size_t nlabels, const double *bounds,
                          size_t nbounds) {
    family *f = calloc(1, sizeof(*f));
    if (f == NULL) return NULL;
    f->kind = kind;
    f->name = strdup(name);
    f->help = help ? strdup(help) : NULL;
    bool ok = f->name && (help == NULL || f->help);
    for (size_t i = 0; i < nlabels; i++) {
        f->label_names[i] = strdup(labels[2 * i]);
        f->nlabels = i + 1;
        ok = ok && f->label_names[i];
    }
    if (nbounds) memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
    f->nbounds = nbounds;
    f->series_tail = &f->series;
    if (!ok) {
        family_free(f);
        return NULL;
    }
    return f;
}

static struct ap_metric *series_new(const family *f, char *labels) {
    struct ap_metric *m = calloc(1, sizeof(*m));
    if (m == NULL) return NULL;
    m->kind = f->kind;
    m->labels = labels;
    atomic_init(&m->count, 0);
    atomic_init(&m->value, 0.0);
    if (f->kind == KIND_HISTOGRAM) {
        m->bucket = calloc(f->nbounds + 1, sizeof(*m->bucket));
        if (m->bucket == NULL) {
            free(m);
            return NULL;
        }
        for (size_t i = 0; i <= f->nbounds; i++) atomic_init(&m->bucket[i], 0);
        m->bounds = f->bounds;
        m->nbounds = f->nbounds;
    }
    return m;
}

static bool valid_bounds(const double *bounds, size_t nbounds) {
    if (nbounds > AP_METRICS_MAX_BUCKETS || (nbounds > 0 && bounds == NULL)) return false;
    for (size_t i = 0; i < nbounds; i++) {
        if (!isfinite(bounds[i])) return false;
        if (i > 0 && !(bounds[i] > bounds[i - 1])) return false;
    }
    return true;
}

static struct ap_metric *metrics_register(ap_metrics *reg, metric_kind kind, const char *name,
                                          const char *help, const char *const *labels,
                                          const double *bounds, size_t nbounds) {
    size_t nlabels = 0;
    if (reg == NULL || !valid_name(name, true) || !valid_labels(labels, &nlabels, kind) ||
        !valid_bounds(bounds, nbounds))
        return NULL;
    char *rendered = render_labels(labels, nlabels);
    if (rendered == NULL) return NULL;

    struct ap_metric *m = NULL;
    pthread_mutex_lock(&reg->mu);
    family *f = family_find(reg, name);
    if (f != NULL && !family_matches(f, kind, labels, nlabels, bounds, nbounds)) goto unlock;
    if (f != NULL) {
        for (m = f->series; m; m = m->next)
            if (strcmp(m->labels, rendered) == 0) goto unlock; /* already there */
    } else {
        f = family_new(name, help, kind, labels, nlabels, bounds, nbounds);
        if (f == NULL) goto unlock;
        *reg->tail = f;
        reg->tail = &f->next;
    }
    m = series_new(f, rendered);
    if (m != NULL) {
        rendered = NULL; /* the series owns it now */
        *f->series_tail = m;
        f->series_tail = &m->next;
    }
unlock:
    pthread_mutex_unlock(&reg->mu);
    free(rendered);
    return m;
}

ap_counter *ap_metrics_counter(ap_metrics *reg, const char *name, const char *help,
                               const char *const *labels) {
    return metrics_register(reg, KIND_COUNTER, name, help, labels, NULL, 0);
}

ap_gauge *ap_metrics_gauge(ap_metrics *reg, const char *name, const char *help,
                           const char *const *labels) {
    return metrics_register(reg, KIND_GAUGE, name, help, labels, NULL, 0);
}

ap_histogram *ap_metrics_histogram(ap_metrics *reg, const char *name, const char *help,
                                   const char *const *labels, const double *bounds,
                                   size_t nbounds) {
    return metrics_register(reg, KIND_HISTOGRAM, name, help, labels, bounds, nbounds);
}

/* ---- updates ------------------------------------------------------------------ */

void ap_counter_inc(ap_counter *c) { ap_counter_add(c, 1); }

void ap_counter_add(ap_counter *c, uint64_t n) {
    if (c && c->kind == KIND_COUNTER) atomic_fetch_add_explicit(&c->count, n, memory_order_relaxed);
}

uint64_t ap_counter_value(const ap_counter *c) {
    return (c && c->kind == KIND_COUNTER) ? atomic_load(&c->count) : 0;
}

void ap_gauge_set(ap_gauge *g, double v) {
    if (g && g->kind == KIND_GAUGE) atomic_store(&g->value, v);
}

static void atomic_add_double(_Atomic double *target, double delta) {
    double old = atomic_load(target);
    while (!atomic_compare_exchange_weak(target, &old, old + delta)) {
    }
}

void ap_gauge_add(ap_gauge *g, double delta) {
    if (g && g->kind == KIND_GAUGE) atomic_add_double(&g->value, delta);
}

double ap_gauge_value(const ap_gauge *g) {
    return (g && g->kind == KIND_GAUGE) ? atomic_load(&g->value) : 0.0;
}

void ap_histogram_observe(ap_histogram *h, double v) {
    if (h == NULL || h->kind != KIND_HISTOGRAM) return;
    size_t i = 0;
    while (i < h->nbounds && !(v <= h->bounds[i])) i++; /* NaN lands in +Inf */
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_add_double(&h->value, v);
}

/* ---- rendering ------------------------------------------------------------------ */

/* name{labels} or name{labels,extra} or name{extra} or name. */
static void render_series_name(ap_buf *b, const char *name, const char *suffix, const char *labels,
                               const char *extra) {
    ap_buf_puts(b, name);
    ap_buf_puts(b, suffix);
    bool have_labels = labels[0] != '\0';
    if (!have_labels && extra == NULL) return;
    ap_buf_puts(b, "{");
    ap_buf_puts(b, labels);
    if (extra) {
        if (have_labels) ap_buf_puts(b, ",");
        ap_buf_puts(b, extra);
    }
    ap_buf_puts(b, "}");
}

static void render_histogram(ap_buf *b, const family *f, const struct ap_metric *m) {
    char num[40], le[64];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= m->nbounds; i++) {
        cumulative += atomic_load(&m->bucket[i]);
        if (i < m->nbounds) {
            format_double(num, sizeof(num), m->bounds[i]);
            snprintf(le, sizeof(le), "le=\"%s\"", num);
        } else {
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        }
        render_series_name(b, f->name, "_bucket", m->labels, le);
        ap_buf_printf(b, " %" PRIu64 "\n", cumulative);
    }
    format_double(num, sizeof(num), atomic_load(&m->value));
    render_series_name(b, f->name, "_sum", m->labels, NULL);
    ap_buf_printf(b, " %s\n", num);
    render_series_name(b, f->name, "_count", m->labels, NULL);
    ap_buf_printf(b, " %" PRIu64 "\n", cumulative);
}

static void render_family(ap_buf *b, const family *f) {
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    if (f->help) {
        ap_buf_printf(b, "# HELP %s ", f->name);
        put_escaped(b, f->help, false);
        ap_buf_puts(b, "\n");
    }
    ap_buf_printf(b, "# TYPE %s %s\n", f->name, type_names[f->kind]);
    for (const struct ap_metric *m = f->series; m; m = m->next) {
        char num[40];
        switch (f->kind) {
        case KIND_COUNTER:
            render_series_name(b, f->name, "", m->labels, NULL);
            ap_buf_printf(b, " %" PRIu64 "\n", atomic_load(&m->count));
            break;
        case KIND_GAUGE:
            format_double(num, sizeof(num), atomic_load(&m->value));
            render_series_name(b, f->name, "", m->labels, NULL);
            ap_buf_printf(b, " %s\n", num);
            break;
        case KIND_HISTOGRAM: render_histogram(b, f, m); break;
        }
    }
}

ap_status ap_metrics_render(ap_metrics *reg, char **out, size_t *len) {
    ap_buf b = {0};
    *out = NULL;
    if (len) *len = 0;
    ap_buf_puts(&b, "");
    if (reg) {
        pthread_mutex_lock(&reg->mu);
        for (const family *f = reg->families; f; f = f->next) render_family(&b, f);
        pthread_mutex_unlock(&reg->mu);
    }
    if (b.failed) {
        free(b.data);
        return AP_ENOMEM;
    }
    *out = b.data;
    if (len) *len = b.len;
    return AP_OK;
}
