/* test_common_config.c -- the strict YAML config loader (common/ap_config.c).
 *
 * Every error must read "file:line: key: reason" with the line a person
 * would look at; most cases parse from memory, a few from tests/data/config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_config.h"
#include "test.h"

/* Loads yaml (named "t.yaml") into a fresh config; err gets the message. */
static ap_status load(ap_config *cfg, const char *yaml, char *err, size_t errlen) {
    ap_config_init(cfg);
    err[0] = '\0';
    return ap_config_load_buffer(cfg, "t.yaml", yaml, strlen(yaml), err, errlen);
}

/* Expects yaml to fail with an error that starts with "t.yaml:<line>: <key>: "
 * and mentions reason. */
static void expect_error(const char *yaml, int line, const char *key, const char *reason) {
    ap_config cfg;
    char err[512], prefix[128];
    CHECK(load(&cfg, yaml, err, sizeof(err)) == AP_EINVAL);
    snprintf(prefix, sizeof(prefix), "t.yaml:%d: %s: ", line, key);
    if (strncmp(err, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "  expected prefix \"%s\", got \"%s\"\n", prefix, err);
        test_failures++;
    }
    CHECK_CONTAINS(err, reason);
    ap_config_free(&cfg);
}

static char *data_path(const char *name) {
    static char path[1024];
    const char *dir = getenv("AUTOPOST_TEST_DATA");
    snprintf(path, sizeof(path), "%s/config/%s", dir ? dir : "tests/data", name);
    return path;
}

static void test_good_file_sets_every_key(void) {
    ap_config cfg;
    char err[512] = "";
    ap_config_init(&cfg);
    CHECK(ap_config_load_file(&cfg, data_path("good.yaml"), err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(err, "");
    CHECK_CONTAINS(cfg.path, "good.yaml");
    CHECK_STR_EQ(cfg.instance, "pub-1");
    CHECK(cfg.shutdown_grace_ms == 30000);
    CHECK_STR_EQ(cfg.log_level, "debug");
    CHECK_STR_EQ(cfg.nats_url, "nats://nats-1:4222,nats://nats-2:4222");
    CHECK(cfg.nats_connect_timeout_ms == 1500);
    CHECK(cfg.stream_replicas == 3);
    CHECK(cfg.duplicate_window_ms == 90 * 60 * 1000);
    CHECK(cfg.ack_wait_ms == 120000);
    CHECK(cfg.max_deliver == 25);
    CHECK_STR_EQ(cfg.pg_dsn, "host=db dbname=autopost user=autopost");
    CHECK_STR_EQ(cfg.credentials_key_file, "/run/secrets/autopost.key");
    CHECK(cfg.credentials_key_hex == NULL); /* never from a file */
    CHECK(cfg.scheduler_tick_ms == 250);
    CHECK(cfg.scheduler_batch_size == 1000);
    CHECK(cfg.scheduler_max_past_ms == 90000);
    CHECK(cfg.scheduler_max_queued_per_tenant == 300);
    CHECK(cfg.publisher_fetch_batch == 128);
    CHECK(cfg.publisher_drain_grace_ms == 15000);
    CHECK(cfg.publisher_media_allow_private);
    CHECK(cfg.dispatcher_batch_size == 200);
    CHECK(cfg.dispatcher_flush_ms == 50);
    CHECK(ap_config_require(&cfg, AP_NEED_NATS | AP_NEED_PG | AP_NEED_KEY | AP_NEED_PLATFORM,
                            "facebook", err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);
}

static void test_good_file_platform_keys(void) {
    ap_config cfg;
    char err[512] = "";
    ap_config_init(&cfg);
    CHECK(ap_config_load_file(&cfg, data_path("good.yaml"), err, sizeof(err)) == AP_OK);
    CHECK(cfg.nplatforms == 1);
    const ap_platform_config *p = ap_config_platform(&cfg, "facebook");
    CHECK(p != NULL);
    if (p) {
        CHECK(!p->enabled);
        CHECK_STR_EQ(p->base_url, "http://127.0.0.1:18080");
        CHECK_STR_EQ(p->api_version, "v20.0");
        CHECK(p->timeout_ms == 10000);
        CHECK(p->connect_timeout_ms == 2000);
        CHECK(p->concurrency == 16);
        CHECK(p->max_ack_pending == 512);
        CHECK(p->max_attempts == 5);
        CHECK(p->backoff_base_ms == 500);
        CHECK(p->backoff_max_ms == 600000);
        CHECK(!p->tls_verify);
        CHECK(p->insecure_http);
    }
    CHECK(ap_config_platform(&cfg, "instagram") == NULL);
    CHECK(ap_config_platform(&cfg, NULL) == NULL);
    ap_config_free(&cfg);
}

static void test_platform_without_keys_gets_defaults(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "platforms:\n  facebook:\n", err, sizeof(err)) == AP_OK);
    const ap_platform_config *p = ap_config_platform(&cfg, "facebook");
    CHECK(p != NULL);
    if (p) {
        CHECK(p->enabled);
        CHECK_STR_EQ(p->base_url, "https://graph.facebook.com");
        CHECK_STR_EQ(p->api_version, "v19.0");
        CHECK(p->timeout_ms == 30000);
        CHECK(p->connect_timeout_ms == 5000);
        CHECK(p->concurrency == 64);
        CHECK(p->max_ack_pending == 1024);
        CHECK(p->max_attempts == 8);
        CHECK(p->backoff_base_ms == 1000);
        CHECK(p->backoff_max_ms == 300000);
        CHECK(p->tls_verify);
    }
    ap_config_free(&cfg);
    /* YAML null spelled out means the same as nothing. */
    CHECK(load(&cfg, "platforms:\n  facebook: ~\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_platform(&cfg, "facebook") != NULL);
    ap_config_free(&cfg);
}

/* The platforms' documented per-account caps are account limits by default
 * (Instagram 50, Threads 250 per rolling 24 h); others have none. An
 * operator may lower a cap, not raise or remove it; the window is free. */
static void test_platform_caps_are_default_account_limits(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "platforms:\n  instagram:\n  threads:\n  facebook:\n  x:\n  linkedin:\n", err,
               sizeof(err)) == AP_OK);
    const ap_platform_config *ig = ap_config_platform(&cfg, "instagram");
    const ap_platform_config *th = ap_config_platform(&cfg, "threads");
    CHECK(ig != NULL && th != NULL);
    if (ig) {
        CHECK(ig->account_limit == 50);
        CHECK(ig->account_window_ms == 24LL * 3600 * 1000);
    }
    if (th) {
        CHECK(th->account_limit == 250);
        CHECK(th->account_window_ms == 24LL * 3600 * 1000);
    }
    const char *uncapped[] = {"facebook", "x", "linkedin"};
    for (size_t i = 0; i < 3; i++) {
        const ap_platform_config *p = ap_config_platform(&cfg, uncapped[i]);
        CHECK(p != NULL && p->account_limit == 0 && p->account_window_ms == 15 * 60 * 1000);
    }
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);

    /* Lowered, with a short window (a sandbox test): accepted. */
    CHECK(load(&cfg, "platforms:\n  threads:\n    account_limit: 4\n    account_window: 20s\n", err,
               sizeof(err)) == AP_OK);
    th = ap_config_platform(&cfg, "threads");
    CHECK(th != NULL && th->account_limit == 4 && th->account_window_ms == 20000);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);

    /* Raised past the cap or turned off: refused, naming the cap. */
    const char *bad[] = {"platforms:\n  instagram:\n    account_limit: 51\n",
                         "platforms:\n  instagram:\n    account_limit: 0\n",
                         "platforms:\n  threads:\n    account_limit: 251\n"};
    for (size_t i = 0; i < 3; i++) {
        CHECK(load(&cfg, bad[i], err, sizeof(err)) == AP_OK);
        CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_EINVAL);
        CHECK_CONTAINS(err, ".account_limit: ");
        CHECK_CONTAINS(err, i < 2 ? "at most 50 posts per account per 24 h" : "at most 250");
        ap_config_free(&cfg);
    }
}

/* OAuth refresh keys: off by default, checked together by require(). */
static void test_token_refresh_keys(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "platforms:\n  x:\n", err, sizeof(err)) == AP_OK);
    const ap_platform_config *p = ap_config_platform(&cfg, "x");
    CHECK(p && p->token_url == NULL && p->client_id == NULL);
    CHECK(p && strcmp(p->token_auth, "basic") == 0 && p->token_refresh_margin_ms == 300000);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);

    CHECK(load(&cfg,
               "platforms:\n  x:\n    token_url: https://api.x.test/2/oauth2/token\n"
               "    client_id: abc\n    client_secret_file: /run/secrets/x\n"
               "    token_auth: body\n    token_refresh_margin: 90s\n",
               err, sizeof(err)) == AP_OK);
    p = ap_config_platform(&cfg, "x");
    CHECK(p && strcmp(p->client_id, "abc") == 0 && p->token_refresh_margin_ms == 90000);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);

    const char *bad[][2] = {
        {"platforms:\n  x:\n    token_url: https://t.test/token\n", "client_id: required"},
        {"platforms:\n  x:\n    client_id: abc\n", "token_url: required"},
        {"platforms:\n  x:\n    token_url: ftp://t.test\n    client_id: a\n", "http://"},
        {"platforms:\n  x:\n    token_auth: digest\n", "basic or body"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(load(&cfg, bad[i][0], err, sizeof(err)) == AP_OK);
        CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_EINVAL);
        CHECK_CONTAINS(err, bad[i][1]);
        ap_config_free(&cfg);
    }
}

/* platforms.<p>.ca_file: a private CA's bundle. The publisher's own
 * platform must name a readable file and keep verification on; other
 * platforms' files are not opened (their services may not mount them). */
static void test_platform_ca_file(void) {
    ap_config cfg;
    char err[512], ca[] = "/tmp/autopost-test-ca-XXXXXX", yaml[512];
    int fd = mkstemp(ca);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    int n = snprintf(yaml, sizeof(yaml),
                     "platforms:\n  facebook:\n    ca_file: %s\n"
                     "  x:\n    ca_file: /nonexistent/x-ca.pem\n",
                     ca);
    CHECK(n > 0 && (size_t)n < sizeof(yaml));
    CHECK(load(&cfg, yaml, err, sizeof(err)) == AP_OK);
    const ap_platform_config *p = ap_config_platform(&cfg, "facebook");
    CHECK(p && p->ca_file && strcmp(p->ca_file, ca) == 0);
    CHECK(ap_config_require(&cfg, AP_NEED_PLATFORM, "facebook", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_PLATFORM, "x", err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, ": platforms.x.ca_file: cannot read /nonexistent/x-ca.pem: "
                        "No such file or directory");
    ap_config_free(&cfg);

    n = snprintf(yaml, sizeof(yaml),
                 "platforms:\n  facebook:\n    ca_file: %s\n    tls_verify: false\n", ca);
    CHECK(n > 0 && (size_t)n < sizeof(yaml));
    CHECK(load(&cfg, yaml, err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_PLATFORM, "facebook", err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "platforms.facebook.ca_file: has no effect with tls_verify: false");
    ap_config_free(&cfg);

    CHECK(load(&cfg, "platforms:\n  facebook:\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_platform(&cfg, "facebook")->ca_file == NULL); /* the system's bundle */
    ap_config_free(&cfg);
    expect_error("platforms:\n  facebook:\n    ca_file: ~\n", 3, "platforms.facebook.ca_file",
                 "expected a string, found null");
    unlink(ca);
}

static void test_minimal_file_keeps_service_defaults(void) {
    ap_config cfg;
    char err[512] = "";
    ap_config_init(&cfg);
    CHECK(ap_config_load_file(&cfg, data_path("minimal.yaml"), err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(cfg.nats_url, "nats://localhost:4222");
    CHECK_STR_EQ(cfg.log_level, "info");
    CHECK(cfg.instance == NULL);
    CHECK(cfg.stream_replicas == 1);
    CHECK(cfg.duplicate_window_ms == 2 * 3600 * 1000);
    CHECK(cfg.ack_wait_ms == 60000);
    CHECK(cfg.max_deliver == 20);
    CHECK(cfg.scheduler_tick_ms == 200);
    CHECK(cfg.scheduler_max_past_ms == 5 * 60 * 1000);
    CHECK(cfg.scheduler_max_queued_per_account == 100);
    CHECK(cfg.scheduler_max_queued_per_tenant == 2000);
    CHECK(cfg.shutdown_grace_ms == 25000);
    CHECK(cfg.nplatforms == 1);
    ap_config_free(&cfg);
}

static void test_empty_document_is_empty_config(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "", err, sizeof(err)) == AP_OK);
    CHECK(cfg.nats_url == NULL);
    CHECK(cfg.nplatforms == 0);
    ap_config_free(&cfg);
    CHECK(load(&cfg, "# only a comment\n", err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);
}

static void test_env_overrides_file(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "nats:\n  url: nats://file:4222\npostgres:\n  dsn: host=file\n", err,
               sizeof(err)) == AP_OK);
    setenv("AUTOPOST_NATS_URL", "nats://env:4222", 1);
    setenv("AUTOPOST_POSTGRES_DSN", "host=env", 1);
    setenv("AUTOPOST_CREDENTIALS_KEY", "00112233", 1);
    setenv("AUTOPOST_INSTANCE", "from-env", 1);
    CHECK(ap_config_apply_env(&cfg, err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(cfg.nats_url, "nats://env:4222");
    CHECK_STR_EQ(cfg.pg_dsn, "host=env");
    CHECK_STR_EQ(cfg.credentials_key_hex, "00112233");
    CHECK(getenv("AUTOPOST_CREDENTIALS_KEY") == NULL); /* read once, then cleared */
    CHECK_STR_EQ(cfg.instance, "from-env");
    unsetenv("AUTOPOST_NATS_URL");
    unsetenv("AUTOPOST_POSTGRES_DSN");
    unsetenv("AUTOPOST_CREDENTIALS_KEY");
    unsetenv("AUTOPOST_INSTANCE");
    ap_config_free(&cfg);
}

static void test_empty_env_does_not_override(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "nats:\n  url: nats://file:4222\n", err, sizeof(err)) == AP_OK);
    setenv("AUTOPOST_NATS_URL", "", 1);
    CHECK(ap_config_apply_env(&cfg, err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(cfg.nats_url, "nats://file:4222");
    unsetenv("AUTOPOST_NATS_URL");
    ap_config_free(&cfg);
}

static void test_unknown_top_level_key(void) {
    expect_error("nats:\n  url: nats://x:4222\nnatz:\n  url: y\n", 3, "natz", "unknown key");
}

static void test_unknown_nested_key(void) {
    expect_error("log:\n  level: info\nnats:\n  url: a\n  urll: nats://x:4222\n", 5, "nats.urll",
                 "unknown key");
}

static void test_unknown_platform_key(void) {
    expect_error("platforms:\n  facebook:\n    enabled: true\n    timout: 5s\n", 4,
                 "platforms.facebook.timout", "unknown key");
}

static void test_unknown_platform_name(void) {
    /* The line of the name, not of the first key below it. */
    expect_error("platforms:\n  myspace:\n    enabled: true\n", 2, "platforms.myspace",
                 "unknown platform (known: facebook, instagram, threads, x, linkedin)");
    expect_error("platforms:\n  facebook:\n  myspace:\n", 3, "platforms.myspace",
                 "unknown platform");
}

static void test_string_for_int(void) {
    expect_error("nats:\n  stream_replicas: three\n", 2, "nats.stream_replicas",
                 "expected an integer, found \"three\"");
}

static void test_quoted_int_is_a_string(void) {
    expect_error("scheduler:\n  tick: 1s\n  batch_size: \"5\"\n", 3, "scheduler.batch_size",
                 "expected an integer");
}

static void test_mapping_for_scalar(void) {
    /* The block mapping starts on line 3; the key that is wrong is on line 2. */
    expect_error("nats:\n  url:\n    host: x\n", 2, "nats.url",
                 "expected a scalar value, found a mapping");
    expect_error("nats:\n  url: [a, b]\n", 2, "nats.url", "found a sequence");
}

static void test_scalar_for_section(void) {
    expect_error("log: debug\n", 1, "log", "expected a mapping");
    expect_error("platforms: facebook\n", 1, "platforms", "expected a mapping");
    expect_error("platforms:\n  facebook: yes\n", 2, "platforms.facebook", "expected a mapping");
}

static void test_bad_duration(void) {
    expect_error("nats:\n  url: x\n  ack_wait: abc\n", 3, "nats.ack_wait",
                 "expected a duration like 500ms, 2s, 5m or 1h, found \"abc\"");
    expect_error("platforms:\n  facebook:\n    timeout: 1.5s\n", 3, "platforms.facebook.timeout",
                 "expected a duration");
    expect_error("scheduler:\n  max_past: 200h\n", 2, "scheduler.max_past", "out of range");
}

static void test_bad_bool(void) {
    expect_error("platforms:\n  facebook:\n    tls_verify: maybe\n", 3,
                 "platforms.facebook.tls_verify", "expected true or false, found \"maybe\"");
    expect_error("platforms:\n  facebook:\n    enabled: \"true\"\n", 3,
                 "platforms.facebook.enabled", "expected true or false");
}

static void test_null_string(void) {
    /* An empty value's own mark is on the next key's line; report the key's. */
    expect_error("nats:\n  url:\n  stream_replicas: 3\n", 2, "nats.url",
                 "expected a string, found null");
}

static void test_int_out_of_range(void) {
    expect_error("nats:\n  stream_replicas: 7\n", 2, "nats.stream_replicas",
                 "7 is out of range [1, 5]");
    expect_error("nats:\n  max_deliver: 1\n", 2, "nats.max_deliver", "out of range");
    expect_error("scheduler:\n  max_queued_per_tenant: -1\n", 2, "scheduler.max_queued_per_tenant",
                 "-1 is out of range [0, 1000000]");
    expect_error("scheduler:\n  batch_size: 99999999999999999999\n", 2, "scheduler.batch_size",
                 "expected an integer");
}

static void test_duration_out_of_range(void) {
    expect_error("nats:\n  ack_wait: 10ms\n", 2, "nats.ack_wait",
                 "10ms is out of range [1000ms, 3600000ms]");
    expect_error("service:\n  shutdown_grace: 2h\n", 2, "service.shutdown_grace", "out of range");
}

static void test_yaml_syntax_error(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "nats:\n  url: x\n   bad: indent\n", err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "t.yaml:3: YAML syntax error: ");
    ap_config_free(&cfg);
    CHECK(load(&cfg, "nats:\n  url: \"unterminated\n", err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "t.yaml:");
    CHECK_CONTAINS(err, "YAML syntax error");
    ap_config_free(&cfg);
}

static void test_second_document_rejected(void) {
    /* A stray "---" must not silently drop everything after it. */
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "nats:\n  url: x\n---\nnats:\n  url: y\n", err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "t.yaml:4: ");
    CHECK_CONTAINS(err, "second YAML document");
    ap_config_free(&cfg);
}

static void test_top_level_not_a_mapping(void) {
    expect_error("- nats\n- url\n", 1, "(top level)", "expected a mapping");
}

static void test_require_nats_url(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "postgres:\n  dsn: x\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_PG, NULL, err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_NATS, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_STR_EQ(err, "(no config file): nats.url: missing required value (or set "
                      "AUTOPOST_NATS_URL)");
    ap_config_free(&cfg);
}

/* service.instance lands in KV values and fixed buffers: bounded, one field. */
static void test_instance_is_bounded(void) {
    ap_config cfg;
    char err[512], yaml[256];
    snprintf(yaml, sizeof(yaml), "service:\n  instance: %0*d\n", AP_CONFIG_INSTANCE_MAX, 7);
    CHECK(load(&cfg, yaml, err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);
    snprintf(yaml, sizeof(yaml), "service:\n  instance: %0*d\n", AP_CONFIG_INSTANCE_MAX + 1, 7);
    CHECK(load(&cfg, yaml, err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, ": service.instance: must be 1 to 64 characters, found 65");
    ap_config_free(&cfg);
    CHECK(load(&cfg, "service:\n  instance: \"pub 1\"\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "service.instance: contains a space or control character");
    ap_config_free(&cfg);
}

static void test_require_postgres_dsn(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "nats:\n  url: x\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_NATS | AP_NEED_PG, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "postgres.dsn: missing required value");
    ap_config_free(&cfg);
}

static void test_require_credentials_key(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "nats:\n  url: x\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_KEY, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "credentials.key_file: missing required value");
    /* The environment's hex key satisfies it too. */
    cfg.credentials_key_hex = strdup("00");
    CHECK(ap_config_require(&cfg, AP_NEED_KEY, NULL, err, sizeof(err)) == AP_OK);
    ap_config_free(&cfg);
}

static void test_require_platform(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "nats:\n  url: x\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_PLATFORM, "facebook", err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "platforms.facebook: platform is not configured");
    ap_config_free(&cfg);
}

static void test_require_bad_log_level(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "log:\n  level: verbose\n", err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "log.level: expected debug, info, warn or error, found \"verbose\"");
    ap_config_free(&cfg);
}

static void test_require_base_url_scheme(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "platforms:\n  facebook:\n    base_url: ftp://graph.example\n", err,
               sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "platforms.facebook.base_url: must start with http:// or https://");
    ap_config_free(&cfg);
}

/* Plain http carries tokens in the clear: loopback (a sandbox) is fine,
 * another host needs the platform's insecure_http; token_url likewise. */
static void expect_plain_http(const char *yaml, bool ok, const char *want) {
    ap_config cfg;
    char err[512] = "";
    CHECK(load(&cfg, yaml, err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == (ok ? AP_OK : AP_EINVAL));
    if (!ok) CHECK_CONTAINS(err, want);
    ap_config_free(&cfg);
}

static void test_require_plain_http_needs_flag(void) {
    expect_plain_http("platforms:\n  x:\n    base_url: http://127.0.0.1:8090/x\n", true, NULL);
    expect_plain_http("platforms:\n  x:\n    base_url: http://localhost:8090/x\n", true, NULL);
    expect_plain_http("platforms:\n  x:\n    base_url: http://[::1]:8090/x\n", true, NULL);
    expect_plain_http("platforms:\n  x:\n    base_url: https://api.example\n", true, NULL);
    expect_plain_http("platforms:\n  x:\n    base_url: http://sandbox:8090/x\n", false,
                      "platforms.x.base_url: plain http to a host other than loopback");
    expect_plain_http("platforms:\n  x:\n    base_url: HTTP://10.0.0.5/x\n", false,
                      "platforms.x.base_url: must start with http:// or https://");
    expect_plain_http("platforms:\n  x:\n    base_url: http://sandbox:8090/x\n"
                      "    insecure_http: true\n",
                      true, NULL);
    expect_plain_http("platforms:\n  x:\n    token_url: http://auth.example/token\n"
                      "    client_id: c\n",
                      false, "platforms.x.token_url: plain http to a host other than loopback");
    expect_plain_http("platforms:\n  x:\n    token_url: http://auth.example/token\n"
                      "    client_id: c\n    insecure_http: true\n",
                      true, NULL);
    expect_plain_http("platforms:\n  x:\n    token_url: http://127.0.0.1:9/token\n"
                      "    client_id: c\n",
                      true, NULL);
}

static void test_media_allow_private_defaults_off(void) {
    ap_config cfg;
    char err[512] = "";
    CHECK(load(&cfg, "log:\n  level: info\n", err, sizeof(err)) == AP_OK);
    CHECK(!cfg.publisher_media_allow_private);
    ap_config_free(&cfg);
    CHECK(load(&cfg, "publisher:\n  media_allow_private: true\n", err, sizeof(err)) == AP_OK);
    CHECK(cfg.publisher_media_allow_private);
    ap_config_free(&cfg);
}

static void test_require_backoff_order(void) {
    ap_config cfg;
    char err[512];
    CHECK(load(&cfg, "platforms:\n  facebook:\n    backoff_base: 10m\n    backoff_max: 1m\n", err,
               sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, 0, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "platforms.facebook.backoff_max: smaller than backoff_base");
    ap_config_free(&cfg);
}

static void test_require_names_the_file(void) {
    ap_config cfg;
    char err[512] = "";
    ap_config_init(&cfg);
    CHECK(ap_config_load_file(&cfg, data_path("minimal.yaml"), err, sizeof(err)) == AP_OK);
    CHECK(ap_config_require(&cfg, AP_NEED_KEY, NULL, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "minimal.yaml: credentials.key_file: missing required value");
    ap_config_free(&cfg);
}

static void test_file_unknown_key(void) {
    ap_config cfg;
    char err[512] = "", want[1100];
    ap_config_init(&cfg);
    CHECK(ap_config_load_file(&cfg, data_path("bad_unknown_key.yaml"), err, sizeof(err)) ==
          AP_EINVAL);
    snprintf(want, sizeof(want), "%s:6: publisher.fetch_bacth: unknown key",
             data_path("bad_unknown_key.yaml"));
    CHECK_STR_EQ(err, want);
    ap_config_free(&cfg);
}

static void test_file_out_of_range(void) {
    ap_config cfg;
    char err[512] = "";
    ap_config_init(&cfg);
    CHECK(ap_config_load_file(&cfg, data_path("bad_range.yaml"), err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "bad_range.yaml:6: platforms.facebook.max_attempts: 1000 is out of range");
    ap_config_free(&cfg);
}

static void test_file_unreadable(void) {
    ap_config cfg;
    char err[512] = "";
    ap_config_init(&cfg);
    CHECK(ap_config_load_file(&cfg, "/nonexistent/autopost.yaml", err, sizeof(err)) == AP_EIO);
    CHECK_CONTAINS(err, "/nonexistent/autopost.yaml: cannot open config file: ");
    CHECK(cfg.path == NULL);
    ap_config_free(&cfg);
}

static void test_free_is_clean_and_repeatable(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    ap_config_free(&cfg); /* ASan reports a leak or double free here */
    ap_config_free(&cfg); /* zeroed by the first free: harmless */
    ap_config_free(NULL);
    char err[512];
    /* Free after a failure part-way through a file releases what was set. */
    CHECK(load(&cfg, "nats:\n  url: x\nplatforms:\n  facebook:\n    timeout: soon\n", err,
               sizeof(err)) == AP_EINVAL);
    ap_config_free(&cfg);
    /* A key given twice replaces the first value without leaking it. */
    CHECK(load(&cfg, "nats:\n  url: a\nnats:\n  url: b\n", err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(cfg.nats_url, "b");
    ap_config_free(&cfg);
}

/* The console's section: loopback by default, its keys checked like any other. */
static void test_console_section(void) {
    ap_config cfg;
    char err[512];
    ap_config_init(&cfg);
    CHECK_STR_EQ(cfg.console_http_bind, "127.0.0.1");
    CHECK(cfg.console_http_port == 8090);
    CHECK(cfg.console_token_file == NULL);
    CHECK(cfg.console_consumer_lag);
    CHECK(cfg.console_read_token_file == NULL);
    CHECK(cfg.console_allowed_hosts == NULL);
    ap_config_free(&cfg);
    CHECK(load(&cfg, "console:\n  http_bind: 0.0.0.0\n  http_port: 9000\n  token_file: /run/t\n"
                     "  read_token_file: /run/r\n  allowed_hosts: a.example, b.example\n",
               err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(cfg.console_read_token_file, "/run/r");
    CHECK_STR_EQ(cfg.console_allowed_hosts, "a.example, b.example");
    CHECK_STR_EQ(cfg.console_http_bind, "0.0.0.0");
    CHECK(cfg.console_http_port == 9000);
    CHECK_STR_EQ(cfg.console_token_file, "/run/t");
    ap_config_free(&cfg);
    expect_error("console:\n  http_port: 0\n", 2, "console.http_port", "out of range");
    expect_error("console:\n  token: x\n", 2, "console.token", "unknown key");
}

/* autopost-api's section: loopback on 8088 by default; the idempotency
 * window cannot go under the 24 hours the API promises. */
static void test_api_section(void) {
    ap_config cfg;
    char err[512];
    ap_config_init(&cfg);
    CHECK_STR_EQ(cfg.api_http_bind, "127.0.0.1");
    CHECK(cfg.api_http_port == 8088);
    CHECK(cfg.api_threads == 4);
    CHECK(cfg.api_rate_limit_per_second == 50 && cfg.api_rate_limit_burst == 100);
    CHECK(cfg.api_idempotency_ttl_ms == 86400000);
    ap_config_free(&cfg);
    CHECK(load(&cfg, "api:\n  http_bind: 0.0.0.0\n  http_port: 9100\n  threads: 2\n"
                     "  rate_limit_per_second: 7\n  rate_limit_burst: 9\n  idempotency_ttl: 48h\n",
               err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(cfg.api_http_bind, "0.0.0.0");
    CHECK(cfg.api_http_port == 9100 && cfg.api_threads == 2);
    CHECK(cfg.api_rate_limit_per_second == 7 && cfg.api_rate_limit_burst == 9);
    CHECK(cfg.api_idempotency_ttl_ms == 48 * 3600000LL);
    ap_config_free(&cfg);
    expect_error("api:\n  idempotency_ttl: 1h\n", 2, "api.idempotency_ttl", "out of range");
    /* Recurring posts (README "Recurring posts"). */
    ap_config_init(&cfg);
    CHECK(cfg.api_min_recurrence_interval_ms == 60000);
    CHECK(cfg.scheduler_recurrence_horizon_ms == 24 * 3600000LL);
    CHECK(cfg.scheduler_recurrence_grace_ms == 600000);
    ap_config_free(&cfg);
    CHECK(load(&cfg, "api:\n  min_recurrence_interval: 0s\nscheduler:\n"
                     "  recurrence_horizon: 2h\n  recurrence_grace: 30s\n",
               err, sizeof(err)) == AP_OK);
    CHECK(cfg.api_min_recurrence_interval_ms == 0);
    CHECK(cfg.scheduler_recurrence_horizon_ms == 2 * 3600000LL);
    CHECK(cfg.scheduler_recurrence_grace_ms == 30000);
    ap_config_free(&cfg);
    expect_error("scheduler:\n  recurrence_horizon: 10s\n", 2, "scheduler.recurrence_horizon",
                 "out of range");
    expect_error("api:\n  rate_limit_per_second: 0\n", 2, "api.rate_limit_per_second",
                 "out of range");
}

/* "a,b": b's keys over a's; a platform entry merges key by key; an error in
 * any file names that file; cfg->path is the whole list. */
static void test_layered_files(void) {
    ap_config cfg;
    char err[512] = "", list[2200];
    snprintf(list, sizeof(list), "%s,", data_path("minimal.yaml"));
    size_t n = strlen(list);
    snprintf(list + n, sizeof(list) - n, "%s", data_path("layer_env.yaml"));
    ap_config_init(&cfg);
    CHECK(ap_config_load_files(&cfg, list, err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(cfg.log_level, "debug");
    CHECK_STR_EQ(cfg.nats_url, "nats://localhost:4222"); /* from the first file */
    const ap_platform_config *fb = ap_config_platform(&cfg, "facebook");
    const ap_platform_config *x = ap_config_platform(&cfg, "x");
    CHECK(fb != NULL && fb->concurrency == 8 && fb->max_attempts == 8);
    CHECK(x != NULL && strcmp(x->base_url, "http://sandbox:8090/x") == 0);
    CHECK_STR_EQ(cfg.path, list);
    ap_config_free(&cfg);

    snprintf(list, sizeof(list), "%s,", data_path("minimal.yaml"));
    n = strlen(list);
    snprintf(list + n, sizeof(list) - n, "%s", data_path("bad_unknown_key.yaml"));
    ap_config_init(&cfg);
    CHECK(ap_config_load_files(&cfg, list, err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "bad_unknown_key.yaml:");
    ap_config_free(&cfg);

    ap_config_init(&cfg);
    CHECK(ap_config_load_files(&cfg, ",", err, sizeof(err)) == AP_EINVAL);
    CHECK_CONTAINS(err, "no file named");
    ap_config_free(&cfg);
}

int main(void) {
    RUN(test_good_file_sets_every_key);
    RUN(test_good_file_platform_keys);
    RUN(test_require_plain_http_needs_flag);
    RUN(test_media_allow_private_defaults_off);
    RUN(test_platform_without_keys_gets_defaults);
    RUN(test_platform_caps_are_default_account_limits);
    RUN(test_minimal_file_keeps_service_defaults);
    RUN(test_empty_document_is_empty_config);
    RUN(test_env_overrides_file);
    RUN(test_empty_env_does_not_override);
    RUN(test_unknown_top_level_key);
    RUN(test_unknown_nested_key);
    RUN(test_unknown_platform_key);
    RUN(test_unknown_platform_name);
    RUN(test_string_for_int);
    RUN(test_quoted_int_is_a_string);
    RUN(test_mapping_for_scalar);
    RUN(test_scalar_for_section);
    RUN(test_bad_duration);
    RUN(test_bad_bool);
    RUN(test_null_string);
    RUN(test_int_out_of_range);
    RUN(test_duration_out_of_range);
    RUN(test_yaml_syntax_error);
    RUN(test_second_document_rejected);
    RUN(test_top_level_not_a_mapping);
    RUN(test_require_nats_url);
    RUN(test_require_postgres_dsn);
    RUN(test_require_credentials_key);
    RUN(test_require_platform);
    RUN(test_require_bad_log_level);
    RUN(test_require_base_url_scheme);
    RUN(test_require_backoff_order);
    RUN(test_require_names_the_file);
    RUN(test_file_unknown_key);
    RUN(test_file_out_of_range);
    RUN(test_file_unreadable);
    RUN(test_free_is_clean_and_repeatable);
    RUN(test_console_section);
    RUN(test_api_section);
    RUN(test_token_refresh_keys);
    RUN(test_layered_files);
    RUN(test_platform_ca_file);
    RUN(test_instance_is_bounded);
    return TEST_RESULT();
}
