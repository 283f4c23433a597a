/* warrenctl_int: shared by warrenctl*.c: the human-readable formatters of API answers.
 * Each takes the parsed JSON of one API answer and prints a table on out. Not a contract. */
#ifndef WARRENCTL_INT_H
#define WARRENCTL_INT_H
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Each returns 0, or -1 if the JSON does not have the documented shape (a message on stderr). */
int ctl_print_status(FILE *out, json_t *j, int64_t now_ms);
int ctl_print_nodes(FILE *out, json_t *j, int64_t now_ms);
int ctl_print_node(FILE *out, json_t *j, int64_t now_ms);
int ctl_print_metric(FILE *out, json_t *j);
int ctl_print_tree(FILE *out, json_t *j);
int ctl_print_rollups(FILE *out, json_t *j);

/* warrenctl_procs.c: `procs NODE [--by KEY] [-n N]`. Builds the API path into path (by and
 * n may be NULL; the root checks them); returns 0, or -1 with ctl_procs_error() saying why. */
int ctl_procs_path(const char *node, const char *by, const char *n, char *path, size_t len);
const char *ctl_procs_error(void);
/* The procs table: PID NAME INITIAL_CALL CURRENT_FUNCTION and the value column. */
int ctl_print_procs(FILE *out, json_t *j);

/* warrenctl_fleet.c: `fleet METRIC` and `top METRIC [-n N]`. ctl_fleet_cmd: CTL_FLEET,
 * CTL_TOP or 0 for a command name. ctl_fleet_path builds the API path (n may be NULL; the
 * root checks metric and n); returns 0, or -1 with ctl_fleet_error() saying why.
 * ctl_fleet_json: what --json prints (top: the answer's list of {node, value}). */
enum { CTL_FLEET = 1, CTL_TOP = 2 };
int ctl_fleet_cmd(const char *name);
int ctl_fleet_path(int which, const char *metric, const char *n, char *path, size_t len);
const char *ctl_fleet_error(void);
json_t *ctl_fleet_json(int which, json_t *j);
int ctl_print_fleet(FILE *out, json_t *j);
int ctl_print_top(FILE *out, json_t *j);

/* warrenctl_events.c: alarms, notifications, ack. ctl_events_command: the index of argv's
 * command if it is one of them, else 0; ctl_events_main runs it (own options; exit code). */
int ctl_events_command(int argc, char **argv);
int ctl_events_main(int argc, char **argv);

/* "2026-11-23T10:41:07.123Z" (buf >= 32 bytes). */
void ctl_fmt_iso(int64_t ms, char *buf, size_t len);
/* "3m12s ago", "2d03h ago", "just now", "-" when ms <= 0. */
void ctl_fmt_ago(int64_t ms, int64_t now_ms, char *buf, size_t len);

#endif
