/* sim_main: warren-sim's command line: dispatches to up / down / emulate. */
#include <stdio.h>
#include <string.h>
#include "sim.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-sim COMMAND [OPTIONS]\n"
            "Emulates BEAM nodes at the distribution-protocol level and deploys a whole warren\n"
            "fabric (leaves, relays, root) on this machine.\n\n"
            "Commands:\n"
            "  up       --nodes N [--fanout F] --dir DIR   start emulated nodes and a fabric, wait\n"
            "                                              until the root sees every node\n"
            "  down     --dir DIR                          stop everything `up` started in DIR\n"
            "  emulate  --count N --base-port P ...        run emulated nodes in this process\n"
            "  inject   --dir DIR --node NODE FAULT        apply (or --clear) one fault on one emulated node\n"
            "  kill     --dir DIR leaf|relay|root [--id ID] kill -9 one process of that tier\n"
            "  restart  --dir DIR ID                       start a killed process again\n"
            "  watch    --root URL[,URL...]                poll roots' node counts by state\n\n"
            "Run `warren-sim COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("warren-sim %s\n", WARREN_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "up"))
        return sim_up_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "down"))
        return sim_down_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "emulate"))
        return sim_emulate_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "inject"))
        return sim_inject_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "kill"))
        return sim_kill_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "restart"))
        return sim_restart_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "watch"))
        return sim_watch_main(argc - 1, argv + 1);
    fprintf(stderr, "warren-sim: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
