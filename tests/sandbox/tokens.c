/* tokens.c -- what a platform imitation makes of an access token.
 *
 * Test tokens choose their fate by prefix (expired*, revoked*, invalid*,
 * noperm*). Tokens the sandbox's own token endpoints issued (oauth.c) are
 * tracked: valid until the expiry they were issued with, expired after.
 * Every other non-empty token is valid. Platforms map the state to their
 * own error shapes, so one token means the same thing everywhere. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

static const struct {
    const char *prefix;
    sandbox_token_state state;
} token_prefixes[] = {
    {"expired", SANDBOX_TOKEN_EXPIRED},
    {"revoked", SANDBOX_TOKEN_REVOKED},
    {"invalid", SANDBOX_TOKEN_INVALID},
    {"noperm", SANDBOX_TOKEN_NO_PERMISSION},
};

/* Issued tokens: few (one per refresh), so a list is enough. */
typedef struct issued_token {
    struct issued_token *next;
    int64_t expires_at_ms; /* wall clock */
    char token[];
} issued_token;

static pthread_mutex_t issued_mu = PTHREAD_MUTEX_INITIALIZER;
static issued_token *issued_head;

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sandbox_token_issue(const char *token, int64_t expires_at_ms) {
    size_t n = strlen(token);
    issued_token *t = malloc(sizeof(*t) + n + 1);
    if (t == NULL) return -1;
    memcpy(t->token, token, n + 1);
    t->expires_at_ms = expires_at_ms;
    pthread_mutex_lock(&issued_mu);
    t->next = issued_head;
    issued_head = t;
    pthread_mutex_unlock(&issued_mu);
    return 0;
}

void sandbox_tokens_reset(void) {
    pthread_mutex_lock(&issued_mu);
    while (issued_head) {
        issued_token *next = issued_head->next;
        free(issued_head);
        issued_head = next;
    }
    pthread_mutex_unlock(&issued_mu);
}

sandbox_token_state sandbox_token_state_of(const char *platform, const char *token) {
    (void)platform; /* an issued token is good on the platform that asked for it */
    if (token == NULL || *token == '\0') return SANDBOX_TOKEN_INVALID;
    for (size_t i = 0; i < sizeof(token_prefixes) / sizeof(token_prefixes[0]); i++)
        if (strncmp(token, token_prefixes[i].prefix, strlen(token_prefixes[i].prefix)) == 0)
            return token_prefixes[i].state;
    if (strncmp(token, SANDBOX_ISSUED_TOKEN_PREFIX, strlen(SANDBOX_ISSUED_TOKEN_PREFIX)) != 0)
        return SANDBOX_TOKEN_OK;
    sandbox_token_state st = SANDBOX_TOKEN_INVALID; /* ours in shape, never issued */
    pthread_mutex_lock(&issued_mu);
    for (issued_token *t = issued_head; t; t = t->next)
        if (strcmp(t->token, token) == 0) {
            st = wall_ms() < t->expires_at_ms ? SANDBOX_TOKEN_OK : SANDBOX_TOKEN_EXPIRED;
            break;
        }
    pthread_mutex_unlock(&issued_mu);
    return st;
}
