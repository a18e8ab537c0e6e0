/* count_connections.c -- a TCP listener on 127.0.0.1 that answers nothing and
 * counts the connections it accepts: the witness that a URL was never
 * fetched (tests/e2e/test_media_refused.sh). The sandbox's own counters
 * also count the test's admin calls; this one sees only what reaches it.
 *
 *   count_connections PORT_FILE COUNT_FILE
 *
 * Writes its port to PORT_FILE, then after each accepted connection the
 * running total to COUNT_FILE ("0" from the start). Runs until killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_number(const char *path, long n) {
    char tmp[4096];
    int len = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (len < 0 || (size_t)len >= sizeof(tmp)) return -1;
    FILE *f = fopen(tmp, "w");
    if (f == NULL) return -1;
    int ok = fprintf(f, "%ld\n", n) > 0;
    if (fclose(f) != 0 || !ok) return -1;
    return rename(tmp, path); /* a reader never sees a half-written number */
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: count_connections PORT_FILE COUNT_FILE\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("count_connections: listen");
        return 1;
    }
    long count = 0;
    if (write_number(argv[2], count) != 0 || write_number(argv[1], ntohs(sa.sin_port)) != 0) {
        perror("count_connections: write");
        return 1;
    }
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        close(c);
        if (write_number(argv[2], ++count) != 0) perror("count_connections: write");
    }
}
