/* sim: the entry points of warren-sim's subcommands (sim_main.c dispatches argv[1]). */
#ifndef SIM_H
#define SIM_H

/* warren-sim up: start emulated nodes + a whole fabric, wait until the root sees them all. */
int sim_up_main(int argc, char **argv);
/* warren-sim down: stop everything an `up` started in DIR. */
int sim_down_main(int argc, char **argv);
/* warren-sim emulate: run a block of emulated BEAM nodes in this process (used by `up`,
 * usable alone). Implemented in sim_emu*.c. */
int sim_emulate_main(int argc, char **argv);
/* warren-sim inject: apply or clear one fault on one emulated node of a fabric (sim_inject_cli.c). */
int sim_inject_main(int argc, char **argv);
/* warren-sim kill: SIGKILL one process of a tier of a fabric (sim_ctl.c). */
int sim_kill_main(int argc, char **argv);
/* warren-sim restart: start one process of a fabric again from DIR/run/ID.argv (sim_ctl.c). */
int sim_restart_main(int argc, char **argv);
/* warren-sim watch: poll roots for node counts by state, a line per poll (sim_watch.c). */
int sim_watch_main(int argc, char **argv);

#endif
