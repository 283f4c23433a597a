%% beam_md5: strips the agent's beam in place (beam_lib:strip/1: no debug info, line table or
%% attributes, and gzip-compressed, which code:load_binary/3 inflates; the code chunks and so
%% the md5 stay the same), so the leaf sends about half the bytes to every node it loads
%% the agent into, then writes the hex of beam_lib:md5(Beam) (what Mod:module_info(md5)
%% answers on a node that runs this beam) to Out. Used by the build for the agent.
main([Beam, Out]) ->
    {ok, Bin} = file:read_file(Beam),
    {ok, {_, Stripped}} = beam_lib:strip(Bin),
    {ok, {_, Md5}} = beam_lib:md5(Bin),
    {ok, {_, Md5}} = beam_lib:md5(Stripped),
    ok = file:write_file(Beam, Stripped),
    ok = file:write_file(Out, [io_lib:format("~2.16.0b", [B]) || <<B>> <= Md5]).
