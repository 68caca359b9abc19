# pROC's values for tests/metrics/delong_test.cpp and bootstrap_test.cpp, on the CSVs written
# by make_reference.py. Run from this folder: Rscript make_reference.R
# (Debian 12: r-base-core 4.2.2, r-cran-proc 1.18.0).
suppressMessages(library(pROC))
options(digits = 15)
for (name in c("two_scores_random", "two_scores_ties")) {
  d <- read.csv(paste0(name, ".csv"))
  a <- roc(d$label, d$score_a, levels = c(0, 1), direction = "<")
  b <- roc(d$label, d$score_b, levels = c(0, 1), direction = "<")
  cat("==", name, "\n")
  for (r in list(a, b))
    cat("auc", sprintf("%.15g", as.numeric(auc(r))), "var", sprintf("%.15g", var(r)),
        "ci.delong", sprintf("%.15g", as.numeric(ci.auc(r, method = "delong"))[c(1, 3)]), "\n")
  t <- roc.test(a, b, method = "delong", paired = TRUE)
  cat("roc.test Z", sprintf("%.15g", t$statistic), "p", sprintf("%.15g", t$p.value),
      "conf.int", sprintf("%.15g", t$conf.int), "\n")
  cat("cov", sprintf("%.15g", cov(a, b, method = "delong")), "\n")
  set.seed(1)
  cat("ci.bootstrap 2000 stratified",
      sprintf("%.6f", as.numeric(ci.auc(a, method = "bootstrap", boot.n = 2000,
                                        boot.stratified = TRUE, progress = "none"))[c(1, 3)]), "\n")
}
# Nadeau–Bengio on ten split differences (5 folds × 2 repeats): the plain paired t-test is
# R's t.test; the corrected one scales its variance by (1/J + n_test/n_train) / (1/J).
d <- c(0.021, -0.004, 0.035, 0.012, 0.018, 0.009, -0.011, 0.027, 0.015, 0.006)
tt <- t.test(d)
cat("t.test t", sprintf("%.15g", tt$statistic), "p", sprintf("%.15g", tt$p.value),
    "ci", sprintf("%.15g", tt$conf.int), "\n")
J <- length(d); se <- sqrt((1 / J + 1 / 4) * var(d)); tc <- mean(d) / se
cat("corrected t", sprintf("%.15g", tc), "p", sprintf("%.15g", 2 * pt(-abs(tc), J - 1)),
    "ci", sprintf("%.15g", mean(d) + c(-1, 1) * qt(0.975, J - 1) * se), "\n")
cat("pt(-2.5, 3.7)", sprintf("%.15g", pt(-2.5, 3.7)), "qt(0.995, 9)", sprintf("%.15g", qt(0.995, 9)),
    "qnorm(0.975)", sprintf("%.15g", qnorm(0.975)), "pt(1.3, 120)", sprintf("%.15g", pt(1.3, 120)), "\n")
