# bench/plot-crossover.gp -- short loops: the plain loop against the forced
# matrix power, per case, with the proposed iters_limit marked.
# Variables (gnuplot -e): dat (crossover.dat), out (PNG), limit, vm (its name).
set terminal pngcairo size 1000,640 font "sans,11"
set output out
set datafile missing "-"
set grid
set logscale xy
set xlabel "iterations n (log)"
set ylabel "time of one call, microseconds (log)"
set title sprintf("Where cpm starts to win (%s): plain loop (solid) against cpm forced (dashed); proposed iters\\_limit = %d", vm, limit)
set key outside right
set style data linespoints
set arrow from limit, graph 0 to limit, graph 1 nohead lw 2 dt 3 lc rgb "black"
# crossover.dat: n, then naive, fallback, cpm for each of 4 cases
names = "sum fibint rec3int fibbig"
plot for [k=1:4] dat using 1:(column(3*k-1)) title word(names,k)." plain" lw 2 pt 7 ps 0.6 lc k dt 1, \
     for [k=1:4] dat using 1:(column(3*k+1)) title word(names,k)." cpm" lw 2 pt 5 ps 0.6 lc k dt 2
