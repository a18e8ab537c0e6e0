/* ap_metrics.h -- a tiny Prometheus metrics registry (no external library).
 *
 * Three kinds, as Prometheus defines them: counters (only go up), gauges
 * (set to any value) and histograms (fixed bucket bounds given at
 * registration). A metric is a family (name, help, type) with one series per
 * set of label values; every series is registered up front with its labels as
 * NULL-terminated name/value pairs:
 *
 *     const char *const labels[] = {"platform", "facebook", NULL};
 *     ap_counter *acks = ap_metrics_counter(reg, "autopost_publisher_acks_total",
 *                                           "Jobs acked.", labels);
 *     ap_counter_inc(acks);
 *
 * Registering the same name and labels again returns the same series, so a
 * service loop that restarts does not duplicate anything. Label values are
 * therefore a small fixed set known at registration (platforms, outcomes,
 * error classes): never a schedule id.
 *
 * Thread safety: updates are lock-free atomics, safe from any thread;
 * registration and rendering take the registry's mutex. Series live as long
 * as the registry; every update function accepts NULL and does nothing, so
 * code that runs without a registry (unit tests) needs no special case.
 *
 * Rendering produces the text exposition format 0.0.4: families in
 * registration order, "# HELP" and "# TYPE" once per family, label values
 * escaped (\\, \", \n), histogram buckets cumulative with le="+Inf" last,
 * then _sum and _count. */
#ifndef AP_METRICS_H
#define AP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ap_status.h"

#define AP_METRICS_MAX_LABELS 4
#define AP_METRICS_MAX_BUCKETS 16
/* Content-Type of ap_metrics_render's output. */
#define AP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct ap_metrics ap_metrics;
/* One series. The three names are the same type; each update function checks
 * the kind and ignores a series of another kind. */
typedef struct ap_metric ap_counter;
typedef struct ap_metric ap_gauge;
typedef struct ap_metric ap_histogram;

/* Latency buckets in seconds, 5 ms .. 10 s (Prometheus client defaults). */
extern const double ap_metrics_latency_buckets[];
extern const size_t ap_metrics_latency_nbuckets;

/* NULL when out of memory. */
ap_metrics *ap_metrics_new(void);
/* Frees the registry and every series in it; NULL is a no-op. */
void ap_metrics_free(ap_metrics *reg);

/* Registration. labels may be NULL (no labels). Returns NULL (and registers
 * nothing) when reg is NULL, memory runs out, a name is not a valid
 * Prometheus name, the same name was registered with another type or other
 * label names, there are more than AP_METRICS_MAX_LABELS labels, or (for
 * histograms) bounds are not strictly increasing finite numbers or more than
 * AP_METRICS_MAX_BUCKETS. help may be NULL. */
ap_counter *ap_metrics_counter(ap_metrics *reg, const char *name, const char *help,
                               const char *const *labels);
ap_gauge *ap_metrics_gauge(ap_metrics *reg, const char *name, const char *help,
                           const char *const *labels);
ap_histogram *ap_metrics_histogram(ap_metrics *reg, const char *name, const char *help,
                                   const char *const *labels, const double *bounds, size_t nbounds);

void ap_counter_inc(ap_counter *c);
void ap_counter_add(ap_counter *c, uint64_t n);
uint64_t ap_counter_value(const ap_counter *c); /* 0 for NULL */

void ap_gauge_set(ap_gauge *g, double v);
void ap_gauge_add(ap_gauge *g, double delta);
double ap_gauge_value(const ap_gauge *g); /* 0 for NULL */

void ap_histogram_observe(ap_histogram *h, double v);

/* Renders every series into a malloc'ed, NUL-terminated buffer the caller
 * frees; *len (if not NULL) gets its length without the NUL. */
ap_status ap_metrics_render(ap_metrics *reg, char **out, size_t *len);

#endif
