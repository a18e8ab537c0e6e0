/* test_common_netpolicy.c -- the outbound address policy (common/ap_netpolicy.c):
 * a table of addresses, each allowed or refused, and the loopback test for
 * configured URLs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ap_netpolicy.h"
#include "test.h"

typedef struct address_case {
    const char *address;
    bool allowed;
} address_case;

static const address_case address_cases[] = {
    {"93.184.216.34", true},
    {"8.8.8.8", true},
    {"1.1.1.1", true},
    {"100.63.255.255", true},
    {"100.128.0.0", true},
    {"172.15.255.255", true},
    {"172.32.0.0", true},
    {"223.255.255.255", true},
    {"0.0.0.0", false},
    {"127.0.0.1", false},
    {"127.255.255.254", false},
    {"10.0.0.1", false},
    {"172.16.0.1", false},
    {"172.31.255.255", false},
    {"192.168.1.1", false},
    {"100.64.0.1", false},
    {"100.100.100.200", false}, /* Alibaba Cloud metadata, inside CGNAT */
    {"169.254.169.254", false}, /* AWS, GCP, Azure metadata */
    {"169.254.0.1", false},
    {"192.0.0.192", false},
    {"198.18.0.1", false},
    {"224.0.0.1", false},
    {"239.255.255.250", false},
    {"255.255.255.255", false},
    {"240.0.0.1", false},
    {"2606:4700:4700::1111", true},
    {"2001:4860:4860::8888", true},
    {"2a00:1450:4001:80b::200e", true},
    {"::", false},
    {"::1", false},
    {"fe80::1", false},
    {"fd00:ec2::254", false}, /* AWS IMDS over IPv6 */
    {"fc00::1", false},
    {"fec0::1", false},
    {"ff02::1", false},
    {"2001:db8::1", false},
    {"2001:0:4136:e378::1", false},
    {"::ffff:127.0.0.1", false},
    {"::ffff:169.254.169.254", false},
    {"::ffff:10.1.2.3", false},
    {"::ffff:8.8.8.8", true},
    {"::127.0.0.1", false},
    {"64:ff9b::a9fe:a9fe", false}, /* NAT64 of 169.254.169.254 */
    {"64:ff9b::808:808", true},
    {"2002:7f00:1::1", false},   /* 6to4 of 127.0.0.1 */
    {"2002:c0a8:101::1", false}, /* 6to4 of 192.168.1.1 */
    {"2002:808:808::1", true},
};

static void test_address_table(void) {
    for (size_t i = 0; i < sizeof(address_cases) / sizeof(address_cases[0]); i++) {
        const address_case *c = &address_cases[i];
        const char *why = NULL;
        bool got;
        if (strchr(c->address, ':')) {
            struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
            CHECK(inet_pton(AF_INET6, c->address, &sa6.sin6_addr) == 1);
            got = ap_netpolicy_address_is_public((struct sockaddr *)&sa6, sizeof(sa6), &why);
        } else {
            struct sockaddr_in sa4 = {.sin_family = AF_INET};
            CHECK(inet_pton(AF_INET, c->address, &sa4.sin_addr) == 1);
            got = ap_netpolicy_address_is_public((struct sockaddr *)&sa4, sizeof(sa4), &why);
        }
        if (got != c->allowed) {
            fprintf(stderr, "  %s: want %s, got %s (%s)\n", c->address,
                    c->allowed ? "allowed" : "refused", got ? "allowed" : "refused",
                    why ? why : "-");
            test_failures++;
        }
        if (!got) CHECK(why != NULL && *why != '\0');
    }
}

static void test_other_families_refused(void) {
    struct sockaddr sa = {.sa_family = AF_UNIX};
    const char *why = NULL;
    CHECK(!ap_netpolicy_address_is_public(&sa, sizeof(sa), &why));
    CHECK(!ap_netpolicy_address_is_public(NULL, 0, NULL));
    struct sockaddr_in short_v4 = {.sin_family = AF_INET};
    CHECK(!ap_netpolicy_address_is_public((struct sockaddr *)&short_v4, 4, NULL));
}

static void test_url_is_loopback(void) {
    CHECK(ap_netpolicy_url_is_loopback("http://127.0.0.1:8090"));
    CHECK(ap_netpolicy_url_is_loopback("http://127.1.2.3/x"));
    CHECK(ap_netpolicy_url_is_loopback("http://localhost:18080/x/2"));
    CHECK(ap_netpolicy_url_is_loopback("http://LOCALHOST"));
    CHECK(ap_netpolicy_url_is_loopback("http://[::1]:8090/"));
    CHECK(ap_netpolicy_url_is_loopback("http://user:pw@127.0.0.1/"));
    CHECK(!ap_netpolicy_url_is_loopback("http://sandbox:8090/x"));
    CHECK(!ap_netpolicy_url_is_loopback("http://10.0.0.1"));
    CHECK(!ap_netpolicy_url_is_loopback("http://localhost.example.com/"));
    CHECK(!ap_netpolicy_url_is_loopback("http://127.0.0.1.example.com/"));
    CHECK(!ap_netpolicy_url_is_loopback("http://evil@example.com/?h=127.0.0.1"));
    CHECK(!ap_netpolicy_url_is_loopback("http://example.com/@127.0.0.1"));
    CHECK(!ap_netpolicy_url_is_loopback("http://[::2]/"));
    CHECK(!ap_netpolicy_url_is_loopback("no scheme"));
    CHECK(!ap_netpolicy_url_is_loopback(NULL));
}

int main(void) {
    RUN(test_address_table);
    RUN(test_other_families_refused);
    RUN(test_url_is_loopback);
    return TEST_RESULT();
}
