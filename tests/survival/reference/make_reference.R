# Exports two clinical datasets shipped with R's survival package to CSV and prints the
# reference values that tests/survival/*_test.cpp record. Run from this folder:
#   Rscript make_reference.R
# (Debian 12: r-base-core 4.2, r-cran-survival 3.5-3, r-cran-rms 6.5-0). Events are recoded to
# 0/1. Also writes veteran_resamples.csv (the bootstrap draws of validation_test.cpp).
suppressMessages(library(survival))
options(digits = 15)

lung_cc <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")])
lung_cc$status <- lung_cc$status - 1                      # 1/2 → 0/1
write.csv(lung_cc, "lung.csv", row.names = FALSE)
vet <- veteran[, c("time", "status", "karno", "age", "diagtime", "trt")]
write.csv(vet, "veteran.csv", row.names = FALSE)

report <- function(label, fit, data, taus = c(Inf, 365)) {
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
  for (tau in taus) {                                     # Uno's C, untruncated and at 1 year
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

## Issue 22 (tests/survival/zero_time_test.cpp): times of 0. The veteran data in whole months,
## floor(time / 30): 40 subjects at time 0 (39 events, 1 censored).
vet0 <- transform(vet, time = floor(time / 30))
report("veteran months efron", coxph(Surv(time, status) ~ karno + age + diagtime + trt, vet0),
       vet0, taus = c(Inf, 12))
report("veteran months breslow",
       coxph(Surv(time, status) ~ karno + age + diagtime + trt, vet0, ties = "breslow"), vet0,
       taus = c(Inf, 12))
km0 <- summary(survfit(Surv(time, status) ~ 1, vet0), times = c(0, 1, 3, 6, 12))
cat("== veteran months Kaplan-Meier at 0, 1, 3, 6, 12\n")
for (k in c("n.risk", "surv", "std.err", "lower", "upper"))
  cat(k, sprintf("%.15g", km0[[k]]), "\n")
lr0 <- survdiff(Surv(time, status) ~ trt, vet0)
cat("== veteran months log-rank by trt\nobserved", lr0$obs, "expected", sprintf("%.15g", lr0$exp),
    "chisq", sprintf("%.15g", lr0$chisq), "\n")

## Issue 22 (tests/survival/calibration_test.cpp): Breslow's baseline hazard, at the mean
## covariates, of a ties = "breslow" fit (survfit.coxph's default for it is the Breslow hazard).
for (d in list(list("lung", lung_cc, Surv(time, status) ~ age + sex + ph.ecog,
                    c(5, 100, 305, 500, 800)),
               list("veteran months", vet0, Surv(time, status) ~ karno + age + diagtime + trt,
                    c(0, 1, 3, 6, 12)))) {
  fit <- coxph(d[[3]], d[[2]], ties = "breslow")
  bh <- basehaz(fit, centered = TRUE)
  cat("==", d[[1]], "basehaz at", d[[4]], "\n",
      sprintf("%.15g", bh$hazard[findInterval(d[[4]], bh$time)]), "\nevent times", length(unique(d[[2]]$time[d[[2]]$status == 1])), "\n")
}

## Issue 22 (tests/survival/validation_test.cpp): Harrell's optimism-corrected C of the veteran
## model, by hand: B = 50 resamples drawn as rms's predab.resample draws them (set.seed, then
## sample(n, replace = TRUE) per resample), written 0-based to veteran_resamples.csv; each
## resample's refit scored (Harrell's C of its linear predictor) on the resample and on the
## original rows.
form <- Surv(time, status) ~ karno + age + diagtime + trt
harrell <- function(fit, data)
  concordance(Surv(data$time, data$status) ~ predict(fit, newdata = data, type = "lp"),
              reverse = TRUE)$concordance
B <- 50
n <- nrow(vet)
set.seed(22)
idx <- replicate(B, sample(n, replace = TRUE))            # n × B
write.csv(data.frame(resample = rep(0:(B - 1), each = n), row = as.vector(idx) - 1),
          "veteran_resamples.csv", row.names = FALSE)
apparent <- harrell(coxph(form, vet), vet)
optimism <- mean(sapply(1:B, function(b) {
  fit <- coxph(form, vet[idx[, b], ])
  harrell(fit, vet[idx[, b], ]) - harrell(fit, vet)
}))
cat("== veteran optimism-corrected C, B = 50, seed 22\napparent", sprintf("%.15g", apparent),
    "optimism", sprintf("%.15g", optimism), "corrected", sprintf("%.15g", apparent - optimism),
    "\n")
## rms::validate's Dxy = 2 (C − 0.5) from the same draws (its fits stop at eps = 1e-4 and its
## Dxy comes from survConcordance.fit, which leaves out pairs tied in time).
suppressMessages(library(rms))
set.seed(22)
v <- validate(cph(form, vet, x = TRUE, y = TRUE), B = B)
cat("rms validate Dxy: apparent", sprintf("%.15g", v["Dxy", "index.orig"]), "optimism",
    sprintf("%.15g", v["Dxy", "optimism"]), "corrected",
    sprintf("%.15g", v["Dxy", "index.corrected"]), "n", v["Dxy", "n"], "\n")
