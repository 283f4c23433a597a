# made by warren-bench antfarm: run `gnuplot plots.gp` in this directory
set terminal pngcairo size 960,540 font ',10'
set grid
set key left top
set datafile missing 'NaN'
set output '/tmp/b10kh/out/visible.png'
set title 'Nodes visible at the root after start (10000 nodes)'
set xlabel 'seconds since start'
set ylabel 'nodes'
set yrange [0:10501]
plot '/tmp/b10kh/out/visible.dat' using 1:2 with lines lw 2 title 'visible', \
     '' using 1:3 with lines lw 2 title 'up', 10000 with lines dt 2 title 'all'
set yrange [*:*]
set output '/tmp/b10kh/out/cpu.png'
set title 'CPU per tier, steady state (10000 nodes, interval 10 s)'
set xlabel 'seconds into the window'
set ylabel 'cores'
set yrange [0:*]
plot '/tmp/b10kh/out/steady.dat' using 1:2 with linespoints title 'emulator', '' using 1:3 with linespoints title 'leaves', '' using 1:4 with linespoints title 'relays', '' using 1:5 with linespoints title 'root', '' using 1:6 with linespoints lw 3 lc rgb 'black' title 'fabric'
set output '/tmp/b10kh/out/rss.png'
set title 'RSS per tier, steady state (10000 nodes)'
set ylabel 'MB'
plot '/tmp/b10kh/out/steady.dat' using 1:7 with linespoints title 'emulator', '' using 1:8 with linespoints title 'leaves', '' using 1:9 with linespoints title 'relays', '' using 1:10 with linespoints title 'root', '' using 1:11 with linespoints lw 3 lc rgb 'black' title 'fabric', '' using 1:14 with lines dt 2 lc rgb 'black' title 'fabric: anon', '' using 1:15 with lines dt 3 lc rgb 'black' title 'fabric: file-backed'
