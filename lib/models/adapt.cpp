// Bringing pretrained weights into a classifier: 2D → 3D inflation, first-layer channel
// adaptation, and the pipeline that reads, maps, strips, adapts and loads a file.
#include "models/models.h"

#include "core/core.h"
#include "models/weight_files.h"

#include <functional>
#include <set>
#include <sstream>

namespace vfp::models {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

/// The model's tensor of each name, for looking up target shapes.
std::map<std::string, torch::Tensor> by_name(const torch::nn::Module& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : state_of(model))
    out.emplace(item.key(), item.value());
  return out;
}

torch::Tensor inflate_kernel(const torch::Tensor& w, std::int64_t depth, Inflation rule) {
  if (rule == Inflation::kMean)
    return w.unsqueeze(2).repeat({1, 1, depth, 1, 1}) / static_cast<double>(depth);
  auto out = torch::zeros({w.size(0), w.size(1), depth, w.size(2), w.size(3)}, w.options());
  out.select(2, depth / 2).copy_(w);
  return out;
}

/// Name of the stem's convolution weight: the first parameter of the first layer group with
/// a kernel (3 or more axes).
std::string stem_weight_key(Classifier& model) {
  const auto groups = model.layer_groups();
  for (const auto& p : groups.front().parameters())
    if (p.dim() >= 3)
      for (const auto& item : model.named_parameters())
        if (item.value().is_same(p))
          return item.key();
  return {};
}

/// The first name component of each head key ("fc" for "fc.3.weight").
std::set<std::string> head_modules(Classifier& model) {
  std::set<std::string> out;
  for (const auto& key : head_keys(model))
    out.insert(key.substr(0, key.find('.')));
  return out;
}

bool under_module(const std::string& key, const std::set<std::string>& modules) {
  const auto first = key.substr(0, key.find('.'));
  return modules.count(first) > 0;
}

/// A linear weight [out, in] whose counterpart in the model is a pointwise convolution
/// [out, in, 1, ...] viewed as one: the same map (MONAI's squeeze-and-excitation layers are
/// Linear, ours 1×1 convolutions as timm's).
StateDict linear_as_pointwise(const StateDict& state,
                              const std::map<std::string, torch::Tensor>& targets) {
  StateDict out;
  for (const auto& item : state) {
    const auto& w = item.value();
    const auto t = targets.find(item.key());
    const bool pointwise = t != targets.end() && w.dim() == 2 && t->second.dim() > 2 &&
                           t->second.size(0) == w.size(0) && t->second.size(1) == w.size(1) &&
                           t->second.numel() == w.numel();
    out.insert(item.key(), pointwise ? w.reshape(t->second.sizes()) : w);
  }
  return out;
}

} // namespace

StateDict inflate_to_3d(const StateDict& state, const torch::nn::Module& target, Inflation rule) {
  const auto targets = by_name(target);
  StateDict out;
  for (const auto& item : state) {
    const auto& w = item.value();
    const auto t = targets.find(item.key());
    if (w.dim() != 4 || t == targets.end() || t->second.dim() != 5) {
      out.insert(item.key(), w);
      continue;
    }
    const auto& goal = t->second;
    if (goal.size(0) != w.size(0) || goal.size(3) != w.size(2) || goal.size(4) != w.size(3))
      throw InputError("cannot inflate '" + item.key() + "': 2D kernel " + shape_of(w) +
                       " does not match the 3D model's " + shape_of(goal) +
                       " in output channels or in-plane size");
    // Input channels may still differ (the stem before channel adaptation): inflate as is.
    out.insert(item.key(), inflate_kernel(w, goal.size(2), rule));
  }
  return out;
}

StateDict adapt_input_channels(const StateDict& state, const std::string& key,
                               std::int64_t channels, ChannelRule rule) {
  StateDict out;
  bool found = false;
  for (const auto& item : state) {
    if (item.key() != key) {
      out.insert(item.key(), item.value());
      continue;
    }
    found = true;
    const auto& w = item.value();
    const auto have = w.dim() >= 2 ? w.size(1) : 0;
    torch::Tensor adapted;
    if (have == channels) {
      adapted = w;
    } else if (channels == 1) {
      adapted = rule == ChannelRule::kSum ? w.sum(1, /*keepdim=*/true) : w.mean(1, true);
    } else if (have == 1) {
      std::vector<std::int64_t> times(static_cast<std::size_t>(w.dim()), 1);
      times[1] = channels;
      adapted = w.repeat(times);
      if (rule == ChannelRule::kMean)
        adapted = adapted / static_cast<double>(channels);
    } else {
      throw InputError("cannot adapt '" + key + "' from " + std::to_string(have) + " to " +
                       std::to_string(channels) +
                       " input channels (only C → 1 or 1 → C is defined)");
    }
    out.insert(item.key(), adapted);
  }
  if (!found)
    throw InputError("cannot adapt input channels: no key '" + key + "' in the weights");
  return out;
}

std::vector<std::string> head_keys(Classifier& model) {
  std::vector<std::string> out;
  const auto groups = model.layer_groups();
  const auto head = groups.back().parameters();
  for (const auto& item : model.named_parameters())
    for (const auto& p : head)
      if (item.value().is_same(p)) {
        out.push_back(item.key());
        break;
      }
  return out;
}

namespace {

/// The file's tensors under the model's names: key map, prefix stripped, head dropped.
StateDict rename_for(Classifier& model, const PretrainedOptions& options, StateDict state) {
  const std::string source = options.file.string();
  if (!options.key_map.empty())
    state = apply_key_map(read_key_map(options.key_map), state);

  if (!options.prefix.empty()) {
    StateDict kept;
    for (const auto& item : state)
      if (item.key().rfind(options.prefix, 0) == 0)
        kept.insert(item.key().substr(options.prefix.size()), item.value());
    if (kept.is_empty())
      throw InputError(source + ": no weights under the prefix '" + options.prefix + "'");
    state = std::move(kept);
  }

  const auto heads = head_modules(model);
  if (!options.keep_head) {
    // The file's head was trained for other outputs: drop it; the model's own head tensors
    // stand in for it so that a strict load checks the backbone alone.
    StateDict backbone;
    for (const auto& item : state)
      if (!under_module(item.key(), heads))
        backbone.insert(item.key(), item.value());
    for (const auto& item : state_of(model))
      if (under_module(item.key(), heads))
        backbone.insert(item.key(), item.value());
    state = std::move(backbone);
  }
  return state;
}

/// The renamed tensors brought to the model's shapes: stem channels adapted, 2D inflated,
/// linear weights of pointwise convolutions viewed as such.
/// A stem that differs in more than its input channels is left as it is, for the load to
/// report with the file's shape.
StateDict adapt_for(Classifier& model, const PretrainedOptions& options, StateDict state) {
  const auto targets = by_name(model);
  const auto stem = stem_weight_key(model);
  if (!stem.empty() && state.contains(stem)) {
    const auto& have = state[stem];
    const auto& want = targets.at(stem);
    const bool kernel = have.dim() >= 3 && have.size(0) == want.size(0) &&
                        (have.dim() == want.dim() || have.dim() + 1 == want.dim());
    if (kernel && have.size(1) != want.size(1))
      state = adapt_input_channels(state, stem, want.size(1), options.channels);
  }
  return linear_as_pointwise(inflate_to_3d(state, model, options.inflation), targets);
}

/// Runs `f`; a mismatch found after a key map says so.
template <typename F> auto noting_key_map(const PretrainedOptions& options, F f) {
  try {
    return f();
  } catch (const InputError& e) {
    if (options.key_map.empty())
      throw;
    throw InputError(std::string(e.what()) + " (keys after the key map " +
                     options.key_map.string() + ")");
  }
}

} // namespace

LoadReport load_pretrained(Classifier& model, const PretrainedOptions& options) {
  const std::string source = options.file.string();
  // Shapes first: the whole pipeline runs on the file's header (or pickle) alone, every
  // tensor a meta tensor, so that a file that does not fit the model is refused before a byte
  // of its data is read (a 3 GB tensor of the wrong shape costs nothing); then only the
  // tensors that load are read, and the pipeline runs again on them.
  const StateDict described =
      detail::read_weights(options.file, [](const std::string&) { return false; });
  std::map<const c10::TensorImpl*, std::string> file_key; // a described tensor → its key
  for (const auto& item : described)
    file_key.emplace(item.value().unsafeGetTensorImpl(), item.key());
  const StateDict renamed = rename_for(model, options, described);
  const StateDict planned = adapt_for(model, options, renamed);
  noting_key_map(options, [&] {
    detail::check_state(model, planned, options.mode, source);
    return 0;
  });

  const auto targets = by_name(model);
  std::set<std::string> wanted;
  for (const auto& item : renamed) {
    const auto from = file_key.find(item.value().unsafeGetTensorImpl());
    const auto target = targets.find(item.key());
    const auto* shaped = planned.find(item.key());
    if (from != file_key.end() && target != targets.end() && shaped &&
        shaped->sizes() == target->second.sizes())
      wanted.insert(from->second);
  }
  const StateDict read = detail::read_weights(
      options.file, [&](const std::string& key) { return wanted.count(key) > 0; });
  StateDict state;
  for (const auto& item : renamed) {
    const auto from = file_key.find(item.value().unsafeGetTensorImpl());
    if (from == file_key.end() || !wanted.count(from->second)) {
      state.insert(item.key(), item.value()); // the model's own head, or a tensor not loaded
      continue;
    }
    const auto* t = read.find(from->second);
    if (!t || t->is_meta() || t->sizes() != described[from->second].sizes())
      throw InputError(source + ": tensor '" + from->second + "' changed while it was read");
    state.insert(item.key(), *t);
  }
  state = adapt_for(model, options, state);
  return noting_key_map(options, [&] { return load_state(model, state, options.mode, source); });
}

} // namespace vfp::models
