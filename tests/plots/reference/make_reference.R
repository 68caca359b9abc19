# Reference values for tests/plots/km_log_rank_test.cpp: Kaplan–Meier curves by group and
# the log-rank test (survfit, survdiff) on R survival's lung data, as exported by
# tests/survival/reference/make_reference.R (lung.csv: complete cases, status 0/1).
# Run from this folder:  Rscript make_reference.R
# (Debian 12: r-base-core 4.2, r-cran-survival 3.5-3).
suppressMessages(library(survival))
options(digits = 15)
lung <- read.csv("../../survival/reference/lung.csv")
n <- nrow(lung)
# Tertiles of age by vfp's rule (survival::risk_groups): the group of a subject is
# floor(r · 3 / n), r the 0-based position of the first of its tied run in ascending order.
lung$tertile <- floor((rank(lung$age, ties.method = "min") - 1) * 3 / n)

report <- function(label, formula) {
  cat("==", label, "\n")
  d <- survdiff(formula, lung)
  cat("n", d$n, "\n")
  cat("observed", sprintf("%.15g", d$obs), "\n")
  cat("expected", sprintf("%.15g", d$exp), "\n")
  cat("chisq", sprintf("%.15g", d$chisq), "df", length(d$n) - 1, "\n")
  cat("p", sprintf("%.15g", pchisq(d$chisq, length(d$n) - 1, lower.tail = FALSE)), "\n")
  fit <- survfit(formula, lung)
  s <- summary(fit, times = c(100, 300, 500))
  print(data.frame(strata = s$strata, time = s$time, n.risk = s$n.risk,
                   surv = sprintf("%.15g", s$surv)))
}
report("sex", Surv(time, status) ~ sex)
report("ph.ecog", Surv(time, status) ~ ph.ecog)
report("age tertile", Surv(time, status) ~ tertile)
