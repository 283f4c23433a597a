# made by warren-bench antfarm: run `gnuplot faults.gp` in this directory
set terminal pngcairo size 960,540 font ',10'
set grid
set key left top
set output '/tmp/b10kh/out/latency.png'
set title 'Injected fault to root alarm (10000 nodes, interval 10 s)'
set logscale y
set ylabel 'ms'
set xrange [-0.5:5.5]
set xtics ('mqueue_flood' 0, 'crash' 1, 'silent' 2, 'busy_dist_port' 3, 'atom_leak' 4, 'memory_growth' 5)
plot '/tmp/b10kh/out/faults.dat' using ($1-0.1):3 with points pt 7 ps 1.2 title 'injection -> root alarm', '' using ($1+0.1):($4 > 0 ? $4 : 1/0) with points pt 5 ps 1.2 title 'leaf raise -> root'
