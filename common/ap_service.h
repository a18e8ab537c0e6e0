/* ap_service.h -- what every service's main() does the same way.
 *
 * Load the config (or only check it), set up JSON logging, and turn
 * SIGTERM/SIGINT into a stop flag the service loop drains on. The loops end
 * by themselves; after the first signal an alarm of service.shutdown_grace is
 * the backstop for a call that hangs (a reconnect to a black-holed host), so
 * the process still ends, with a non-zero status the orchestrator will see. */
#ifndef AP_SERVICE_H
#define AP_SERVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ap_config.h"

/* Set by SIGTERM/SIGINT once ap_service_signals() is installed. */
extern volatile sig_atomic_t ap_service_stop;

/* The flags every service without flags of its own takes: --config FILE,
 * --check-config and --help; any other flag or a stray argument is a usage
 * error. Returns -1 to carry on, otherwise the exit status main() returns
 * (0 after --help, 2 after printing usage to stderr). `name` prefixes the
 * messages ("autopost-api"). */
int ap_service_args(int argc, char **argv, const char *name, void (*usage)(FILE *out),
                    const char **config_path, int *check_only);

/* Config with ap_config_setup(needs, platform); with check_only prints
 * "config ok". Returns -1 to carry on, otherwise the exit status main()
 * returns (cfg already freed). Sets up logging as `service`. */
int ap_service_setup(ap_config *cfg, const char *path, int needs, const char *platform,
                     bool check_only, const char *service);

/* For processes that hold the credentials key and tokens (publishers,
 * autopostctl): no core dump (RLIMIT_CORE 0) and not dumpable (no ptrace by
 * other users, /proc/<pid>/mem and environ root-only), so a crash or a
 * curious neighbour sees no key. Call first thing in main(); non-zero with
 * err filled when the kernel refuses. */
int ap_service_protect_secrets(char *err, size_t errlen);

/* SIGTERM/SIGINT -> ap_service_stop (+ the grace alarm); SIGPIPE ignored. */
void ap_service_signals(const ap_config *cfg);

#endif
