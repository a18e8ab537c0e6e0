/* ap_netpolicy.h -- which network addresses autopost may reach on behalf of
 * a URL it was given (a post's media), and whether a configured URL's host
 * is the local machine.
 *
 * A media URL comes from whoever wrote the post: fetched as is, it could
 * reach the cloud metadata service, the cluster's internal services or the
 * publisher's own loopback (server-side request forgery). The check runs on
 * the address libcurl is about to connect to (its open-socket callback), not
 * on the URL's host name, so a name that resolves to a public address at
 * check time and a private one at connect time (DNS rebinding), and every
 * redirect hop, go through the same test. */
#ifndef AP_NETPOLICY_H
#define AP_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* True when sa (AF_INET or AF_INET6, len bytes) is a public unicast address.
 * Refused: unspecified, loopback, RFC 1918, CGNAT (100.64/10, where some
 * clouds put their metadata service), link-local (169.254/16 with the
 * metadata address 169.254.169.254; fe80::/10), unique-local (fc00::/7 with
 * fd00:ec2::254), site-local, multicast, broadcast, reserved, documentation
 * and benchmark ranges, Teredo; IPv4-mapped, IPv4-compatible, NAT64 and
 * 6to4 IPv6 addresses are judged by the IPv4 address they carry. On false,
 * why names the range (for logs, never for the post's error message). */
bool ap_netpolicy_address_is_public(const struct sockaddr *sa, size_t len, const char **why);

/* True when the URL's host is the local machine: "localhost", 127.0.0.0/8
 * or [::1]. Used at config load: an http base_url on loopback (a sandbox,
 * the tests, the demo) needs no insecure_http flag. */
bool ap_netpolicy_url_is_loopback(const char *url);

#endif
