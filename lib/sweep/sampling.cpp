// sweep.random: points drawn from the product and from continuous ranges.
#include "sweep/spec.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>

namespace vfp::sweep::detail {
namespace {

InputError random_error(const YAML::Node& node, const std::string& file, const std::string& what) {
  return InputError(where(node, file) + ": sweep.random" + what);
}

/// A non-negative integer no larger than `most`.
std::uint64_t read_count(const YAML::Node& node, const std::string& file, const std::string& key,
                         std::uint64_t least, std::uint64_t most) {
  unsigned long long v = 0;
  const bool ok = node.IsScalar() && !node.Scalar().empty() && node.Scalar()[0] != '-' &&
                  YAML::convert<unsigned long long>::decode(node, v);
  if (!ok || v < least || v > most)
    throw random_error(node, file,
                       "." + key + ": expected an integer in [" + std::to_string(least) + ", " +
                           std::to_string(most) + "], got '" + message_text(node) + "'");
  return v;
}

} // namespace

RandomSampling read_random(const YAML::Node& random, const std::string& file) {
  if (!random.IsMap())
    throw random_error(random, file, ": expected {n: N, seed: S}");
  RandomSampling r;
  r.at = where(random, file);
  for (const auto& kv : random) {
    const auto key = kv.first.as<std::string>();
    if (key == "n")
      r.n = read_count(kv.second, file, key, 1, kMaxConfigurations);
    else if (key == "seed")
      r.seed = read_count(kv.second, file, key, 0, ~std::uint64_t{0});
    else {
      auto hint = config::did_you_mean(key, {"n", "seed"});
      throw random_error(kv.first, file,
                         "." + shorten_for_message(key) + ": unknown key" +
                             (hint.empty() ? " (expected n and seed)" : " (" + hint + ")"));
    }
  }
  if (r.n == 0)
    throw random_error(random, file, ": missing n (how many configurations to sample)");
  return r;
}

PointSampler::PointSampler(const std::vector<Axis>& axes, std::uint64_t seed)
    : axes_(axes), engine_(mix_seed(seed)) {}

// The top 53 bits as a double in [0, 1): the same on every standard library, unlike
// std::uniform_real_distribution.
double PointSampler::uniform01() {
  return std::ldexp(static_cast<double>(engine_() >> 11), -53);
}

std::vector<Choice> PointSampler::draw() {
  std::vector<Choice> point;
  point.reserve(axes_.size());
  for (const auto& axis : axes_) {
    const double u = uniform01();
    if (axis.distribution) {
      point.push_back(draw_from(*axis.distribution, axis.columns.front(), u));
      continue;
    }
    const auto size = axis.choices.size();
    const auto index = std::min(size - 1, static_cast<size_t>(std::floor(u * double(size))));
    point.push_back(axis.choices[index]);
  }
  return point;
}

Choice PointSampler::draw_from(const Distribution& d, const std::string& key, double u) {
  std::string text;
  switch (d.kind) {
  case Distribution::Kind::uniform:
    text = number_text(d.low + u * (d.high - d.low));
    break;
  case Distribution::Kind::loguniform:
    text = number_text(std::exp(std::log(d.low) + u * (std::log(d.high) - std::log(d.low))));
    break;
  case Distribution::Kind::int_uniform: {
    const auto low = static_cast<long long>(d.low), high = static_cast<long long>(d.high);
    const auto span = static_cast<double>(high - low + 1);
    text = std::to_string(low + std::min(high - low, static_cast<long long>(std::floor(u * span))));
    break;
  }
  }
  return Choice{{Setting{key, generated(text, d.recipe)}}, ""};
}

} // namespace vfp::sweep::detail
