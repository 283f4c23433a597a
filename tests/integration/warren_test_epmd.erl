%% warren_test_epmd: an -epmd_module for tests: resolves node names from a warren-sim
%% manifest ("name@host port address" lines, file in $WARREN_EMU_MANIFEST) instead of epmd,
%% because emulated nodes are never registered in epmd. Registers nothing itself.
-module(warren_test_epmd).
-export([start_link/0, register_node/2, register_node/3, port_please/2, port_please/3,
         names/0, names/1, address_please/3, listen_port_please/2]).

start_link() -> ignore.
register_node(Name, Port) -> register_node(Name, Port, inet_tcp).
register_node(_Name, _Port, _Family) -> {ok, 1}.
listen_port_please(_Name, _Host) -> {ok, 0}.
names() -> names(localhost).
names(_Host) -> {ok, []}.
address_please(_Name, Host, Family) -> inet:getaddr(Host, Family).
port_please(Name, Host) -> port_please(Name, Host, infinity).
port_please(Name, _Host, _Timeout) ->
    Prefix = to_list(Name) ++ "@",
    {ok, Bin} = file:read_file(os:getenv("WARREN_EMU_MANIFEST")),
    Lines = string:split(binary_to_list(Bin), "\n", all),
    case [P || L <- Lines, [N, P | _] <- [string:lexemes(L, " ")], lists:prefix(Prefix, N)] of
        [P | _] -> {port, list_to_integer(P), 6};
        [] -> noport
    end.

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(L) -> L.
