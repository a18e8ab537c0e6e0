/* ctl_migrations.h -- the SQL migrations autopostctl carries inside itself.
 *
 * ${build}/ctl_migrations.c is generated from deploy/migrations/NNNN_name.sql by
 * cmake/embed_migrations.cmake, sorted by file name, so a container needs no
 * extra files to bring a database up to date. The array ends with {0, 0, 0}. */
#ifndef CTL_MIGRATIONS_H
#define CTL_MIGRATIONS_H

typedef struct ap_migration {
    int version;      /* the file name's leading number */
    const char *name; /* file name without ".sql", e.g. "0001_init" */
    const char *sql;  /* the whole file, run as one multi-statement string */
} ap_migration;

extern const ap_migration ap_migrations[];

#endif
