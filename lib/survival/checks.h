// Private to vfp::survival: input checks shared by its functions.
#pragma once

#include <Eigen/Core>

#include <string>
#include <vector>

namespace vfp::survival::detail {

/// Throws InputError "<what>: time of row N is X: times must be finite and 0 or more" for the
/// first time that is negative or not finite (0 is a valid time, as in R's survival).
void check_times(const std::vector<double>& time, const std::string& what);

/// Throws InputError naming the covariates of every exact linear dependency among the columns
/// of `centred` (the covariates less their `means`), e.g. "covariates 'bmi' and 'bmi2' are
/// exactly collinear (bmi2 = 2·bmi)". Each column is compared, in order, with the span of the
/// earlier independent ones; it depends on them when its residual is below a relative tolerance.
void check_not_collinear(const Eigen::MatrixXd& centred, const std::vector<double>& means,
                         const std::vector<std::string>& names);

} // namespace vfp::survival::detail
