%% beam_md5: writes the hex of beam_lib:md5(Beam) (what Mod:module_info(md5) answers on a node
%% that runs this beam) to Out. Used by the build for the agent.
main([Beam, Out]) ->
    {ok, {_, Md5}} = beam_lib:md5(Beam),
    ok = file:write_file(Out, [io_lib:format("~2.16.0b", [B]) || <<B>> <= Md5]).
