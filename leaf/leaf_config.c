/* leaf_config: reads section "leaf" of warren-leaf's configuration (docs/CONFIG.md): every
 * key with its default, the node list (inline groups plus nodes_file), the cookie file.
 * Errors are recorded in the wr_config (file, line, key) so --check-config reports them all. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "leaf.h"
#include "leaf_notify.h"
#include "wr_error.h"

int leaf_node_name_valid(const char *name, char *why, size_t whylen)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255) {
        snprintf(why, whylen, "node name must be 1..255 bytes, got %zu", n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c >= 0x7f) {
            snprintf(why, whylen, "node name '%s' has a non-printable or space byte at %zu", name, i);
            return 0;
        }
    }
    const char *at = strchr(name, '@');
    if (!at || at == name || at[1] == '\0' || strchr(at + 1, '@')) {
        snprintf(why, whylen, "node name '%s' is not of the form name@host", name);
        return 0;
    }
    return 1;
}

static int id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= WR_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '.' && id[i] != '-')
            return 0;
    return 1;
}

static int add_node(leaf_cfg_t *out, size_t *cap, const char *name, int port, const char *address)
{
    if (out->n_nodes == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        leaf_node_cfg_t *nn = realloc(out->nodes, ncap * sizeof *nn);
        if (!nn)
            return WR_ENOMEM;
        out->nodes = nn;
        *cap = ncap;
    }
    leaf_node_cfg_t *n = &out->nodes[out->n_nodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->port = port;
    snprintf(n->address, sizeof n->address, "%s", address ? address : "");
    return 0;
}

static int address_valid(const char *a)
{
    struct in_addr in;
    return a[0] == '\0' || inet_pton(AF_INET, a, &in) == 1;
}

/* "name@host port [address] [cluster=NAME]" lines, '#' comments. */
static void read_nodes_file(wr_config_t *cfg, leaf_cfg_t *out, size_t *cap)
{
    FILE *f = fopen(out->nodes_file, "r");
    if (!f) {
        wr_config_error(cfg, "leaf.nodes_file", "cannot read %s: %s", out->nodes_file, strerror(errno));
        return;
    }
    char line[1024];
    int lineno = 0, errors = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            wr_config_error(cfg, "leaf.nodes_file", "%s:%d: line too long", out->nodes_file, lineno);
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char name[512], addr[128], extra[8], cluster[LEAF_CLUSTER_MAX + 8] = "";
        long port = 0;
        addr[0] = '\0';
        char *cl = strstr(line, "cluster=");    /* an optional field anywhere after the name */
        if (cl && cl > line && isspace((unsigned char)cl[-1])) {
            size_t cn = strcspn(cl, " \t\r\n");
            snprintf(cluster, sizeof cluster, "%.*s", (int)(cn - 8 < sizeof cluster - 1 ? cn - 8 : sizeof cluster - 1), cl + 8);
            memset(cl, ' ', cn);
            if (!id_valid(cluster)) {
                wr_config_error(cfg, "leaf.nodes_file", "%s:%d: bad cluster '%s' ([A-Za-z0-9_.-], 1..63 bytes)",
                                out->nodes_file, lineno, cluster);
                if (++errors >= 20)
                    break;
                continue;
            }
        }
        char portbuf[32];
        int k = sscanf(line, "%511s %31s %127s %7s", name, portbuf, addr, extra);
        if (k <= 0)
            continue;
        char why[300], *end = NULL;
        if (k < 2) {
            wr_config_error(cfg, "leaf.nodes_file", "%s:%d: expected 'name@host port [address] [cluster=NAME]'", out->nodes_file, lineno);
        } else if (k > 3) {
            wr_config_error(cfg, "leaf.nodes_file", "%s:%d: too many fields", out->nodes_file, lineno);
        } else if (!leaf_node_name_valid(name, why, sizeof why)) {
            wr_config_error(cfg, "leaf.nodes_file", "%s:%d: %s", out->nodes_file, lineno, why);
        } else if ((port = strtol(portbuf, &end, 10)) < 0 || port > 65535 || *end) {
            wr_config_error(cfg, "leaf.nodes_file", "%s:%d: bad port '%s' (0..65535)", out->nodes_file, lineno, portbuf);
        } else if (k == 3 && !address_valid(addr)) {
            wr_config_error(cfg, "leaf.nodes_file", "%s:%d: bad IPv4 address '%s'", out->nodes_file, lineno, addr);
        } else {
            if (add_node(out, cap, name, (int)port, k == 3 ? addr : "") != 0)
                break;
            snprintf(out->nodes[out->n_nodes - 1].cluster, LEAF_CLUSTER_MAX, "%s", cluster);
            continue;
        }
        if (++errors >= 20) {
            wr_config_error(cfg, "leaf.nodes_file", "%s: too many errors, stopped reading", out->nodes_file);
            break;
        }
    }
    fclose(f);
}

int leaf_config_read_cookie(leaf_cfg_t *out, char *err, size_t errlen)
{
    FILE *f = fopen(out->cookie_file, "r");
    if (!f) {
        snprintf(err, errlen, "cookie_file %s: cannot read: %s", out->cookie_file, strerror(errno));
        return WR_ECONFIG;
    }
    char line[512];
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    char *s = line;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "cookie_file %s: empty first line (no cookie)", out->cookie_file);
        return WR_ECONFIG;
    }
    if (n >= sizeof out->cookie) {
        snprintf(err, errlen, "cookie_file %s: cookie longer than %zu bytes", out->cookie_file,
                 sizeof out->cookie - 1);
        return WR_ECONFIG;
    }
    memcpy(out->cookie, s, n + 1);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int leaf_config_read(wr_config_t *cfg, leaf_cfg_t *out)
{
    static const char *const modes[] = {"failover", "all", NULL};
    char path[128], buf[512];
    memset(out, 0, sizeof *out);

    wr_config_string(cfg, "leaf.id", "", out->id, sizeof out->id);
    if (!wr_config_has(cfg, "leaf.id"))
        wr_config_error(cfg, "leaf.id", "required key missing");
    else if (!id_valid(out->id))
        wr_config_error(cfg, "leaf.id", "'%s' is not a valid id ([A-Za-z0-9_.-], 1..63 bytes)", out->id);

    char host[256] = "localhost";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    char *dot = strchr(host, '.');
    if (dot)
        *dot = '\0';
    char def_name[WR_NODE_NAME_MAX];
    snprintf(def_name, sizeof def_name, "warren_%.60s@%.180s", out->id, host);
    for (char *p = def_name; *p && *p != '@'; p++)
        if (*p == '-' || *p == '.')
            *p = '_';
    int own_name = wr_config_has(cfg, "leaf.node_name");
    wr_config_string(cfg, "leaf.node_name", def_name, out->node_name, sizeof out->node_name);
    if ((own_name || id_valid(out->id)) && !leaf_node_name_valid(out->node_name, buf, sizeof buf))
        wr_config_error(cfg, "leaf.node_name", "%s", buf);

    wr_config_string(cfg, "leaf.cookie_file", "", out->cookie_file, sizeof out->cookie_file);
    if (!wr_config_has(cfg, "leaf.cookie_file")) {
        wr_config_error(cfg, "leaf.cookie_file", "required key missing");
    } else if (leaf_config_read_cookie(out, buf, sizeof buf) != 0) {
        wr_config_error(cfg, "leaf.cookie_file", "%s", buf);
    }

    int64_t v;
    wr_config_double(cfg, "leaf.interval", 10.0, 0.05, 3600.0, &out->interval);
    wr_config_int(cfg, "leaf.down_after", 3, 1, 1000, &v);
    out->down_after = (int)v;
    wr_config_double(cfg, "leaf.connect_timeout", 5.0, 0.05, 300.0, &out->connect_timeout);
    wr_config_double(cfg, "leaf.reconnect_max", 30.0, 1.0, 3600.0, &out->reconnect_max);

    wr_config_strings(cfg, "leaf.parents", &out->parents, &out->n_parents);
    wr_config_enum(cfg, "leaf.parent_mode", modes, 0, &out->parent_mode);
    wr_config_double(cfg, "leaf.heartbeat.interval", 1.0, 0.01, 60.0, &out->hb_interval);
    wr_config_int(cfg, "leaf.heartbeat.misses", 3, 1, 100, &v);
    out->hb_misses = (int)v;

    snprintf(buf, sizeof buf, "./%s.lmdb", out->id);
    wr_config_string(cfg, "leaf.store.path", buf, out->store_path, sizeof out->store_path);
    wr_config_int(cfg, "leaf.store.map_size_mb", 1024, 1, 1 << 20, &out->map_size_mb);
    wr_config_double(cfg, "leaf.store.retention", 3600.0, 1.0, 10.0 * 365 * 86400, &out->retention);
    leaf_hist_config_read(cfg, out);   /* store.max_mb, store.history (leaf_hist.c) */
    wr_outbox_limits_read(cfg, "leaf.outbox", out->map_size_mb,   /* outbox bounds (wr_outbox.c) */
                          out->parent_mode == WR_PARENTS_ALL ? out->n_parents : 1, &out->outbox);
    leaf_agent_config_read(cfg, out);  /* agent, agent_dir (leaf_agent.c) */
    leaf_group_config_read(cfg, out);  /* group.leaves (leaf_group.c) */
    leaf_alarms_config_read(cfg, &out->alarms);   /* alarms (leaf_alarms_config.c) */
    leaf_notify_config_read(cfg, out); /* notify (leaf_notify.c) */

    size_t cap = 0;
    int n = wr_config_list_length(cfg, "leaf.nodes");
    for (int i = 0; i < n; i++) {
        char name[WR_NODE_NAME_MAX + 8], addr[LEAF_ADDR_MAX];
        int64_t port = 0;
        char npath[128];
        snprintf(npath, sizeof npath, "leaf.nodes.[%d].name", i);
        int has_name = wr_config_has(cfg, npath);
        int name_ok = has_name && wr_config_string(cfg, npath, "", name, sizeof name) == 0;
        snprintf(path, sizeof path, "leaf.nodes.[%d].port", i);
        int port_ok = wr_config_int(cfg, path, 0, 0, 65535, &port) == 0;
        snprintf(path, sizeof path, "leaf.nodes.[%d].address", i);
        int addr_ok = wr_config_string(cfg, path, "", addr, sizeof addr) == 0;
        char cluster[LEAF_CLUSTER_MAX + 8] = "", cpath[128];
        snprintf(cpath, sizeof cpath, "leaf.nodes.[%d].cluster", i);
        int cluster_ok = wr_config_string(cfg, cpath, "", cluster, sizeof cluster) == 0;
        if (cluster_ok && cluster[0] && !id_valid(cluster)) {
            wr_config_error(cfg, cpath, "'%s' is not a valid cluster name ([A-Za-z0-9_.-], 1..63 bytes)", cluster);
            cluster_ok = 0;
        }
        if (addr_ok && !address_valid(addr)) {
            wr_config_error(cfg, path, "'%s' is not an IPv4 address", addr);
            addr_ok = 0;
        }
        if (!has_name) {
            wr_config_error(cfg, npath, "required key missing");
            continue;
        }
        if (name_ok && !leaf_node_name_valid(name, buf, sizeof buf)) {
            wr_config_error(cfg, npath, "%s", buf);
            name_ok = 0;
        }
        if (!name_ok || !port_ok || !addr_ok || !cluster_ok)
            continue;
        if (add_node(out, &cap, name, (int)port, addr) != 0)
            return WR_ENOMEM;
        snprintf(out->nodes[out->n_nodes - 1].cluster, LEAF_CLUSTER_MAX, "%s", cluster);
    }
    /* fleet checks: how long nodes of one cluster may disagree about its membership */
    wr_config_double(cfg, "leaf.membership_grace", 60.0, 0.0, 86400.0, &out->membership_grace);
    wr_config_string(cfg, "leaf.nodes_file", "", out->nodes_file, sizeof out->nodes_file);
    if (out->nodes_file[0])
        read_nodes_file(cfg, out, &cap);
    if (out->n_nodes > LEAF_MAX_NODES)
        wr_config_error(cfg, "leaf.nodes", "%zu nodes, over the cap of %d", out->n_nodes, LEAF_MAX_NODES);

    /* Duplicates (inline or from the file): sort pointers to the names. */
    if (out->n_nodes > 1) {
        char **names = malloc(out->n_nodes * sizeof *names);
        if (!names)
            return WR_ENOMEM;
        for (size_t i = 0; i < out->n_nodes; i++)
            names[i] = out->nodes[i].name;
        qsort(names, out->n_nodes, sizeof *names, name_cmp);
        for (size_t i = 1; i < out->n_nodes; i++)
            if (strcmp(names[i - 1], names[i]) == 0 && (i < 2 || strcmp(names[i - 2], names[i]) != 0))
                wr_config_error(cfg, "leaf.nodes", "duplicate node %s", names[i]);
        free(names);
    }
    return 0;
}

void leaf_config_free(leaf_cfg_t *cfg)
{
    wr_config_strings_free(&cfg->parents);
    wr_config_strings_free(&cfg->group_leaves);
    free(cfg->nodes);
    cfg->nodes = NULL;
    cfg->n_nodes = 0;
    memset(cfg->cookie, 0, sizeof cfg->cookie);
    free(cfg->agent_beam);
    cfg->agent_beam = NULL;
}
