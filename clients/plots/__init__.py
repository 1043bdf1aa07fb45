"""Figures the CLI draws. matplotlib is imported only here and only when a plot is asked
for; figures are built on the Agg canvas directly (no pyplot global state), at a fixed
pixel size so the docs and the tests know what they get."""
