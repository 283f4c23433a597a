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

#endif
