# bench/plot-case.gp -- one benchmark case as a PNG: one log-log plot of
# each method's time (the minimum of its runs) against n, and the ratio
# naive/cpm (cpm's speed-up, measured in the same run) on the right-hand
# axis, each point labelled with its value.  The key sits above the plot,
# so that it hides no curve.
# Variables (gnuplot -e): dat (data file: n, each method's minimum, then
# each method's median), out (PNG), ttl (title), nm (number of methods;
# the first is the naive loop, the second cpm).
set terminal pngcairo size 1000,700 font "sans,11"
set output out
set datafile missing "-"
set datafile separator "\t"
set title ttl font "sans,14"
set key outside top center horizontal box
set grid xtics ytics mxtics mytics
set logscale x
set logscale y
set logscale y2
set format x "10^{%L}"
set format y "10^{%L}"
set xlabel "n"
set ylabel "time per call, s (log; minimum of the runs)"
set y2label "naive / cpm: cpm's speed-up (log)"
set y2tics
set ytics nomirror
set format y2 "%gx"
set style data linespoints
ratio(a, b) = (a > 0 && b > 0) ? a / b : NaN
plot for [c=2:nm+1] dat using 1:c title columnhead(c) lw 2 pt 7 ps 0.8, \
     dat using 1:(ratio(column(2), column(3))) axes x1y2 \
       title "naive/cpm (right axis)" lw 2 dt 2 lc rgb "black" pt 6, \
     dat using 1:(ratio(column(2), column(3))):(sprintf("%.0fx", ratio(column(2), column(3)))) \
       axes x1y2 with labels offset 0,1 font "sans,9" notitle
