/* sim_main: warren-sim's command line: dispatches to up / down / emulate. */
#include <stdio.h>
#include "sim.h"
#include "wr_cmd.h"

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
    static const wr_cmd_t cmds[] = {
        {"-V", NULL},
        {"--version", NULL},
        {"up", sim_up_main},
        {"down", sim_down_main},
        {"emulate", sim_emulate_main},
        {"inject", sim_inject_main},
        {"kill", sim_kill_main},
        {"restart", sim_restart_main},
        {"watch", sim_watch_main},
        {NULL, NULL},
    };
    return wr_cmd_dispatch("warren-sim", cmds, usage, argc, argv);
}
