# Figures (plots/): `make plots RUN=<run dir>` draws every figure of a run directory (PNG + SVG)
# into <run dir>/figures with plots/plot_all.sh; PLOTS_OUT=<dir> writes them elsewhere. Needs
# gnuplot (HAVE_GNUPLOT, probed by the top Makefile); without it the target says so and succeeds.
# The test core/tests/test_plots.c draws plots/fixtures/run (and skips without gnuplot).

.PHONY: plots
ifeq ($(HAVE_GNUPLOT),yes)
plots:
	@if [ -z "$(RUN)" ]; then \
	  echo "usage: make plots RUN=results/<run_id> [PLOTS_OUT=<dir>] (see plots/README.md)"; exit 2; fi
	@sh plots/plot_all.sh "$(RUN)" $(if $(PLOTS_OUT),"$(PLOTS_OUT)")
else
plots:
	@echo "[plots] gnuplot not found (apt-get install --no-install-recommends gnuplot-nox): no figures drawn for $(or $(RUN),<RUN unset>)"
endif
