#include "ssl/byol_parts.h"

namespace vfp::ssl::detail {

Lars::Lars(const std::vector<torch::Tensor>& adapted, const std::vector<torch::Tensor>& excluded,
           LarsOptions options)
    : options_(options) {
  for (const auto& p : adapted)
    slots_.push_back({p, torch::zeros_like(p), true});
  for (const auto& p : excluded)
    slots_.push_back({p, torch::zeros_like(p), false});
}

std::vector<torch::Tensor> Lars::velocities() const {
  std::vector<torch::Tensor> out;
  for (const auto& s : slots_)
    out.push_back(s.velocity);
  return out;
}

void Lars::zero_grad() {
  for (auto& s : slots_)
    if (s.param.grad().defined()) {
      s.param.mutable_grad().detach_();
      s.param.mutable_grad().zero_();
    }
}

void Lars::step() {
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    if (!g.defined())
      continue;
    torch::Tensor u = g;
    if (s.adapted) {
      u = options_.weight_decay != 0 ? g.add(s.param, options_.weight_decay) : g.clone();
      // Stays a tensor (no host sync); a zero norm (fresh zero weights, no gradient) keeps 1.
      const auto w_norm = s.param.norm();
      const auto u_norm = u.norm();
      const auto trust = torch::where((w_norm > 0).logical_and(u_norm > 0),
                                      options_.eta * w_norm / u_norm, torch::ones_like(w_norm));
      u.mul_(trust);
    }
    s.velocity.mul_(options_.momentum).add_(u);
    s.param.add_(s.velocity, -options_.lr);
  }
}

} // namespace vfp::ssl::detail
