#include "survival/checks.h"

#include "core/core.h"

#include <Eigen/Dense>

#include <cmath>
#include <cstdio>

namespace vfp::survival::detail {
namespace {

/// A column whose residual on the earlier ones is below this fraction of its norm depends on
/// them: far below any real covariate's independent variation (R's coxph declares singular at
/// about 1e-6), far above rounding (about 1e-16 times the condition number).
constexpr double kCollinearTolerance = 1e-9;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// "2·a - b + 3": `terms` as (coefficient, name), then the intercept when it is not zero.
std::string linear_combination(const std::vector<std::pair<double, std::string>>& terms,
                               double intercept) {
  std::string out;
  for (const auto& [coef, name] : terms) {
    const std::string magnitude = number(std::abs(coef));
    out += out.empty() ? (coef < 0 ? "-" : "") : (coef < 0 ? " - " : " + ");
    if (magnitude != "1")
      out += magnitude + "·";
    out += name;
  }
  if (intercept != 0) {
    out += intercept < 0 ? " - " : " + ";
    out += number(std::abs(intercept));
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t k = 0; k < names.size(); ++k)
    out += (k == 0 ? "" : k + 1 == names.size() ? " and " : ", ") + ("'" + names[k] + "'");
  return out;
}

} // namespace

void check_times(const std::vector<double>& time, const std::string& what) {
  for (std::size_t i = 0; i < time.size(); ++i)
    if (!std::isfinite(time[i]) || time[i] < 0)
      throw InputError(what + ": time of row " + std::to_string(i + 1) + " is " + number(time[i]) +
                       ": times must be finite and 0 or more");
}

void check_not_collinear(const Eigen::MatrixXd& centred, const std::vector<double>& means,
                         const std::vector<std::string>& names) {
  std::vector<Eigen::Index> independent;
  std::string problems;
  for (Eigen::Index j = 0; j < centred.cols(); ++j) {
    const Eigen::VectorXd xj = centred.col(j);
    if (independent.empty()) {
      independent.push_back(j);
      continue;
    }
    Eigen::MatrixXd a(centred.rows(), Eigen::Index(independent.size()));
    for (std::size_t k = 0; k < independent.size(); ++k)
      a.col(Eigen::Index(k)) = centred.col(independent[k]);
    const Eigen::VectorXd coef = a.colPivHouseholderQr().solve(xj);
    if ((xj - a * coef).norm() > kCollinearTolerance * xj.norm()) {
      independent.push_back(j);
      continue;
    }
    // x_j − mean_j = Σ c_k (x_k − mean_k): x_j = Σ c_k x_k + (mean_j − Σ c_k mean_k).
    std::vector<std::pair<double, std::string>> terms;
    std::vector<std::string> involved;
    double intercept = means[std::size_t(j)], scale = std::abs(means[std::size_t(j)]);
    for (std::size_t k = 0; k < independent.size(); ++k) {
      const auto c = independent[k];
      // Terms that contribute nothing beyond rounding are not part of the dependency.
      if (std::abs(coef(Eigen::Index(k))) * centred.col(c).norm() <=
          kCollinearTolerance * xj.norm())
        continue;
      terms.emplace_back(coef(Eigen::Index(k)), names[std::size_t(c)]);
      involved.push_back(names[std::size_t(c)]);
      intercept -= coef(Eigen::Index(k)) * means[std::size_t(c)];
      scale += std::abs(coef(Eigen::Index(k)) * means[std::size_t(c)]);
    }
    if (std::abs(intercept) <= kCollinearTolerance * scale)
      intercept = 0;
    involved.push_back(names[std::size_t(j)]);
    problems += (problems.empty() ? "" : "; ") + std::string("covariates ") +
                quoted_list(involved) + " are exactly collinear (" + names[std::size_t(j)] + " = " +
                linear_combination(terms, intercept) + ")";
  }
  if (!problems.empty())
    throw InputError("Cox model: " + problems +
                     ": their hazard ratios are not identifiable; drop one of each set");
}

} // namespace vfp::survival::detail
