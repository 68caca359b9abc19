# bench_stats's R side: times coxph (Efron) and concordance on the raw float64 file the
# benchmark wrote (column-major: time, event, covariates). Prints one tagged line.
# Usage: Rscript stats_reference.R cox FILE N COVARIATES REPEATS
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[3]); p <- as.integer(args[4]); repeats <- as.integer(args[5])
v <- readBin(args[2], "double", n * (p + 2))
d <- as.data.frame(matrix(v, nrow = n))
names(d) <- c("time", "status", paste0("x", seq_len(p)))
form <- as.formula(paste("Surv(time, status) ~", paste0("x", seq_len(p), collapse = " + ")))
timed <- function(expr) {
  ms <- numeric(repeats)
  for (r in seq_len(repeats)) ms[r] <- system.time(value <- eval.parent(substitute(expr)))[["elapsed"]] * 1000
  list(ms = median(ms), value = value)
}
fit <- timed(coxph(form, data = d, ties = "efron"))
lp <- predict(fit$value, type = "lp")
cc <- timed(concordance(Surv(d$time, d$status) ~ lp, reverse = TRUE))
cat(sprintf("vfp-bench-stats fit_ms=%.3f beta1=%.12g c_ms=%.3f c=%.12g\n", fit$ms,
            coef(fit$value)[[1]], cc$ms, cc$value$concordance))
