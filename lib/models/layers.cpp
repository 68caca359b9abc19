#include "models/layers.h"

#include "core/core.h"

namespace vfp::models {

Sizes repeat(int dims, std::int64_t value) {
  return Sizes(std::size_t(dims), value);
}

ConvImpl::ConvImpl(ConvOptions o) : options_(std::move(o)) {
  auto& c = options_;
  VFP_CHECK(c.dims == 2 || c.dims == 3, "convolution over 2 or 3 axes");
  VFP_CHECK(c.in % c.groups == 0 && c.out % c.groups == 0, "channels divisible by groups");
  if (c.kernel.size() == 1)
    c.kernel = repeat(c.dims, c.kernel[0]);
  if (c.stride.empty())
    c.stride = repeat(c.dims, 1);
  if (c.padding.empty())
    c.padding = repeat(c.dims, 0);
  VFP_CHECK(c.kernel.size() == std::size_t(c.dims) && c.stride.size() == std::size_t(c.dims) &&
                c.padding.size() == std::size_t(c.dims),
            "one kernel size, stride and padding per axis");
  Sizes shape{c.out, c.in / c.groups};
  shape.insert(shape.end(), c.kernel.begin(), c.kernel.end());
  weight = register_parameter("weight", torch::empty(shape));
  torch::nn::init::kaiming_normal_(weight, 0, torch::kFanOut, torch::kReLU);
  if (c.bias)
    bias = register_parameter("bias", torch::zeros({c.out}));
}

torch::Tensor ConvImpl::forward(const torch::Tensor& x) {
  const auto& c = options_;
  if (c.dims == 2)
    return torch::conv2d(x, weight, bias, c.stride, c.padding, 1, c.groups);
  return torch::conv3d(x, weight, bias, c.stride, c.padding, 1, c.groups);
}

Conv conv(int dims, std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t s,
          std::int64_t p, std::int64_t groups, bool bias) {
  ConvOptions o;
  o.dims = dims;
  o.in = in;
  o.out = out;
  o.kernel = repeat(dims, k);
  o.stride = repeat(dims, s);
  o.padding = repeat(dims, p);
  o.groups = groups;
  o.bias = bias;
  return Conv(o);
}

BatchNormImpl::BatchNormImpl(std::int64_t channels) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked =
      register_buffer("num_batches_tracked", torch::zeros({}, torch::TensorOptions(torch::kLong)));
}

torch::Tensor BatchNormImpl::forward(const torch::Tensor& x) {
  if (is_training()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(),
                           /*momentum=*/0.1, /*eps=*/1e-5, /*cudnn_enabled=*/true);
}

PoolImpl::PoolImpl(Kind kind, int dims, std::int64_t k, std::int64_t s, std::int64_t p, bool ceil)
    : kind_(kind), dims_(dims), k_(k), s_(s), p_(p), ceil_(ceil) {}

torch::Tensor PoolImpl::forward(const torch::Tensor& x) {
  const auto k = repeat(dims_, k_), s = repeat(dims_, s_), p = repeat(dims_, p_);
  const auto one = repeat(dims_, 1);
  if (kind_ == kMax)
    return dims_ == 2 ? torch::max_pool2d(x, k, s, p, one, ceil_)
                      : torch::max_pool3d(x, k, s, p, one, ceil_);
  return dims_ == 2 ? torch::avg_pool2d(x, k, s, p, ceil_) : torch::avg_pool3d(x, k, s, p, ceil_);
}

torch::Tensor global_average(const torch::Tensor& x) {
  std::vector<std::int64_t> spatial;
  for (std::int64_t d = 2; d < x.dim(); ++d)
    spatial.push_back(d);
  return x.mean(spatial);
}

Head::Head(torch::nn::Module& owner, const std::string& name, std::int64_t in,
           const ModelSpec& spec)
    : in_(in) {
  dropout_ = owner.register_module(name + "_dropout", torch::nn::Dropout(spec.dropout));
  if (spec.head_hidden <= 0) {
    linear_ = owner.register_module(name, torch::nn::Linear(in, spec.outputs));
    return;
  }
  mlp_ = owner.register_module(
      name, torch::nn::Sequential(torch::nn::Linear(in, spec.head_hidden), Relu(),
                                  torch::nn::Dropout(spec.dropout),
                                  torch::nn::Linear(spec.head_hidden, spec.outputs)));
}

torch::Tensor Head::forward(const torch::Tensor& features) {
  auto x = dropout_->forward(features);
  return linear_ ? linear_->forward(x) : mlp_->forward(x);
}

std::shared_ptr<torch::nn::Module> Head::module() const {
  if (linear_)
    return linear_.ptr();
  return mlp_.ptr();
}

} // namespace vfp::models
