# Reference values for tests/metrics/calibration_test.cpp: writes calibration.csv (300
# subjects drawn with a fixed seed) and prints R's glm fits, the calibration intercept and slope,
# the Brier score, the reliability bins and the cross-fitted recalibration on it.
# Run from this folder: Rscript make_calibration_reference.R   (Debian 12: r-base-core 4.2.2)
options(digits = 15)
f17 <- function(v) sprintf("%.17g", v)

set.seed(20240517)
n <- 300
lp <- rnorm(n, -1.2, 1)                # the true log-odds of each subject
y <- rbinom(n, 1, plogis(lp))
x <- round(lp + rnorm(n, 0, 0.5), 6)   # a noisy covariate
p <- plogis(0.4 + 0.7 * lp)            # predicted probabilities: too high, too flat
fold <- sample(rep(0:4, length.out = n))
write.csv(data.frame(x = f17(x), p = f17(p), y = y, fold = fold), "calibration.csv",
          row.names = FALSE, quote = FALSE)

d <- read.csv("calibration.csv")         # fit what the test reads
tight <- glm.control(epsilon = 1e-14, maxit = 100)   # the MLE itself (default: ~1e-8)
show_fit <- function(label, fit) {
  s <- summary(fit)$coefficients
  cat(label, "coef", f17(s[, 1]), "se", f17(s[, 2]), "iter", fit$iter, "\n")
}
show_fit("glm(y ~ x)", glm(y ~ x, binomial, d, control = tight))
show_fit("glm(y ~ x) default control", glm(y ~ x, binomial, d))
show_fit("glm(y ~ 1, offset = x)", glm(y ~ 1, binomial, d, offset = x, control = tight))

lg <- qlogis(d$p)
cat("n", nrow(d), "events", sum(d$y), "\n")
cat("brier", f17(mean((d$p - d$y)^2)), "mean_predicted", f17(mean(d$p)),
    "observed", f17(mean(d$y)), "\n")
cat("calibration intercept (offset glm)",
    f17(coef(glm(y ~ 1, binomial, d, offset = lg, control = tight))), "\n")
cat("calibration slope", f17(coef(glm(y ~ lg, binomial, d, control = tight))[2]), "\n")

# Deciles by hand: sorted by p, the i-th (from 0) in bin floor(i * 10 / n) (no ties here).
o <- order(d$p)
bin <- integer(n); bin[o] <- floor((0:(n - 1)) * 10 / n)
for (b in 0:9) {
  k <- bin == b
  w <- prop.test(sum(d$y[k]), sum(k), correct = FALSE)$conf.int  # Wilson score interval
  cat("bin", b, "n", sum(k), "events", sum(d$y[k]), "mean_predicted", f17(mean(d$p[k])),
      "wilson", f17(w[1]), f17(w[2]), "\n")
}

# Recalibration with a prior shift of log(3): glm(y ~ I(logit(p) − log 3)); cross-fitted: each
# fold's probabilities from the fit on the other folds.
shift <- log(3)
d$z <- lg - shift
r <- glm(y ~ z, binomial, d, control = tight)
cat("recalibration log(3) coef", f17(coef(r)), "\n")
cf <- numeric(n)
for (f in 0:4) {
  m <- glm(y ~ z, binomial, d[d$fold != f, ], control = tight)
  cf[d$fold == f] <- predict(m, d[d$fold == f, ], type = "response")
}
cat("cross-fitted first 5", f17(cf[1:5]), "\n")
cat("cross-fitted mean", f17(mean(cf)), "brier", f17(mean((cf - d$y)^2)), "\n")
