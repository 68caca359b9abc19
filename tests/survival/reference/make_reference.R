# Exports two clinical datasets shipped with R's survival package to CSV and prints the
# reference values that tests/survival/cox_test.cpp records. Run from this folder:
#   Rscript make_reference.R
# (Debian 12: r-base-core 4.2, r-cran-survival 3.5-3). Events are recoded to 0/1.
suppressMessages(library(survival))
options(digits = 15)

lung_cc <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")])
lung_cc$status <- lung_cc$status - 1                      # 1/2 → 0/1
write.csv(lung_cc, "lung.csv", row.names = FALSE)
vet <- veteran[, c("time", "status", "karno", "age", "diagtime", "trt")]
write.csv(vet, "veteran.csv", row.names = FALSE)

report <- function(label, fit, data) {
  cat("==", label, "\n")
  s <- summary(fit)
  print(s$coefficients)                                   # coef, exp(coef), se, z, p
  print(s$conf.int)                                       # exp(coef), lower .95, upper .95
  cat("loglik", sprintf("%.15g", fit$loglik), "\n")       # null, fitted
  cat("lr", sprintf("%.15g", s$logtest), "\n")            # chi2, df, p
  lp <- predict(fit, type = "lp")
  cc <- concordance(Surv(data$time, data$status) ~ lp, reverse = TRUE)
  cat("concordance", sprintf("%.15g", cc$concordance), "\n")
  print(cc$count)                                         # concordant, discordant, tied.x, ...
  for (tau in c(Inf, 365)) {                              # Uno's C, untruncated and at 1 year
    uno <- concordance(Surv(data$time, data$status) ~ lp, reverse = TRUE, timewt = "n/G2",
                       ymax = if (is.finite(tau)) tau else NULL)
    cat("uno tau", tau, sprintf("%.15g", uno$concordance), "\n")
  }
}
report("lung efron", coxph(Surv(time, status) ~ age + sex + ph.ecog, lung_cc), lung_cc)
report("lung breslow", coxph(Surv(time, status) ~ age + sex + ph.ecog, lung_cc, ties = "breslow"),
       lung_cc)
report("veteran efron", coxph(Surv(time, status) ~ karno + age + diagtime + trt, vet), vet)
report("veteran breslow",
       coxph(Surv(time, status) ~ karno + age + diagtime + trt, vet, ties = "breslow"), vet)
