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

/* "2026-11-23T10:41:07.123Z" (buf >= 32 bytes). */
void ctl_fmt_iso(int64_t ms, char *buf, size_t len);
/* "3m12s ago", "2d03h ago", "just now", "-" when ms <= 0. */
void ctl_fmt_ago(int64_t ms, int64_t now_ms, char *buf, size_t len);

#endif
