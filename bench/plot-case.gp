# bench/plot-case.gp -- one benchmark case as a PNG: time against n for each
# method, linear scales on the left, logarithmic on the right.
# Variables (gnuplot -e): dat (data file), out (PNG), ttl (title),
# ncols (number of columns of dat, n included).
set terminal pngcairo size 1400,560 font "sans,11"
set output out
set datafile missing "-"
set key autotitle columnhead top left
set grid
set style data linespoints
set multiplot layout 1,2 title ttl font "sans,14"
set title "linear scales"
set xlabel "n"
set ylabel "time, s"
set format x "%.0s%c"
plot for [c=2:ncols] dat using 1:c lw 2 pt 7 ps 0.7
set title "logarithmic scales"
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set ylabel "time, s (log)"
plot for [c=2:ncols] dat using 1:c lw 2 pt 7 ps 0.7
unset multiplot
