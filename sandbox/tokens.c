/* tokens.c -- what a platform imitation makes of an access token.
 *
 * Test tokens choose their fate by prefix (expired*, revoked*, invalid*,
 * noperm*); every other non-empty token is valid. Platforms map the state to
 * their own error shapes, so one token means the same thing everywhere. */
#include <string.h>

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

sandbox_token_state sandbox_token_state_of(const char *platform, const char *token) {
    (void)platform; /* tokens issued by a platform's token endpoint will be tracked per platform */
    if (token == NULL || *token == '\0') return SANDBOX_TOKEN_INVALID;
    for (size_t i = 0; i < sizeof(token_prefixes) / sizeof(token_prefixes[0]); i++)
        if (strncmp(token, token_prefixes[i].prefix, strlen(token_prefixes[i].prefix)) == 0)
            return token_prefixes[i].state;
    return SANDBOX_TOKEN_OK;
}
