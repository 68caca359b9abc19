#include "train/train.h"

#include "core/core.h"
#include "metrics/metrics.h"
#include "models/models.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <random>

namespace vfp::train {
namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o,
                                                        std::vector<torch::Tensor> params) {
  if (o.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  if (o.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(0.9).weight_decay(o.weight_decay));
  throw InputError("unknown optimizer '" + o.optimizer + "' (expected adamw, adam or sgd)");
}

/// Copies of every parameter and buffer, to restore the best epoch.
std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters())
    out.push_back(p.detach().clone());
  for (auto& b : m.buffers())
    out.push_back(b.detach().clone());
  return out;
}

void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  size_t k = 0;
  for (auto& p : m.parameters())
    p.copy_(saved[k++]);
  for (auto& b : m.buffers())
    b.copy_(saved[k++]);
}

/// Scores patches in eval mode, in batches.
std::vector<float> score(models::Classifier& model, const FoldData& d,
                         const std::vector<int>& idx) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<float> out;
  out.reserve(idx.size());
  const int64_t plane = int64_t(d.channels) * d.height * d.width;
  const size_t chunk = 256;
  auto batch = torch::empty({int64_t(chunk), d.channels, d.height, d.width});
  for (size_t start = 0; start < idx.size(); start += chunk) {
    const size_t n = std::min(chunk, idx.size() - start);
    float* dst = batch.data_ptr<float>();
    for (size_t k = 0; k < n; ++k)
      std::copy_n(d.pixels + idx[start + k] * plane, plane, dst + k * plane);
    auto probs = torch::sigmoid(model.forward(batch.narrow(0, 0, int64_t(n)))).flatten();
    auto acc = probs.accessor<float, 1>();
    for (size_t k = 0; k < n; ++k)
      out.push_back(acc[int64_t(k)]);
  }
  return out;
}

double patient_auroc(const FoldData& d, const std::vector<int>& patches,
                     const std::vector<float>& scores, const std::string& how) {
  std::vector<int> subjects;
  std::vector<double> subject_scores;
  aggregate_by_subject(d.patch_subject, patches, scores, how, subjects, subject_scores);
  std::vector<int> labels;
  for (int s : subjects)
    labels.push_back(d.subject_label[s]);
  return metrics::auroc(subject_scores, labels);
}

void check_split(const FoldData& d, const std::vector<int>& patches, const char* name) {
  int pos = 0;
  for (int p : patches)
    pos += d.subject_label[d.patch_subject[p]];
  if (patches.empty())
    throw TaskError(std::string("the ") + name + " split is empty");
  if (pos == 0 || pos == int(patches.size()))
    throw TaskError(std::string("the ") + name + " split has " +
                    (pos == 0 ? "no positive" : "no negative") +
                    " subjects; AUROC is undefined (use fewer folds or a larger cohort)");
}

} // namespace

Outcome fit_and_score(const TrainOptions& o, const FoldData& d,
                      const std::function<void(const EpochLog&)>& on_epoch) {
  check_split(d, d.train, "training");
  check_split(d, d.validation, "validation");
  torch::set_num_threads(std::max(1, o.threads));
  torch::manual_seed(o.seed);
  models::ModelSpec spec;
  spec.arch = o.arch;
  spec.width = o.width;
  spec.dropout = o.dropout;
  spec.in_channels = d.channels;
  auto model = models::make_model(spec);
  auto optimizer = make_optimizer(o, model->parameters());

  double positives = 0;
  for (int p : d.train)
    positives += d.subject_label[d.patch_subject[p]];
  const double negatives = double(d.train.size()) - positives;
  auto loss_options = torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions();
  if (o.balanced_loss)
    loss_options.pos_weight(torch::full({1}, negatives / positives));

  std::mt19937_64 rng(mix_seed(o.seed));
  std::uniform_real_distribution<float> unit(0.0F, 1.0F);
  const int64_t plane = int64_t(d.channels) * d.height * d.width;
  const int64_t bs = std::min<int64_t>(o.batch_size, int64_t(d.train.size()));
  // Batch buffers live across steps: no allocation (and no page faults) in the loop.
  auto x = torch::empty({bs, d.channels, d.height, d.width});
  auto y = torch::empty({bs, 1});

  Outcome out;
  std::vector<torch::Tensor> best_state = snapshot(*model);
  double best = -1;
  int since_best = 0;
  std::vector<int> order = d.train;
  for (int epoch = 1; epoch <= o.max_epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng() % i]);
    model->train();
    double loss_sum = 0;
    int64_t seen = 0;
    // Drop a last batch of one: batch norm cannot normalise a single sample.
    for (size_t start = 0; start + 1 < order.size(); start += size_t(bs)) {
      const int64_t n = std::min<int64_t>(bs, int64_t(order.size() - start));
      float* xp = x.data_ptr<float>();
      float* yp = y.data_ptr<float>();
      for (int64_t k = 0; k < n; ++k) {
        const int p = order[start + size_t(k)];
        const float* src = d.pixels + p * plane;
        float* dst = xp + k * plane;
        if (o.augment && unit(rng) < 0.5F) {
          for (int r = 0; r < d.height; ++r) // mirror columns
            for (int c = 0; c < d.width; ++c)
              dst[r * d.width + c] = src[r * d.width + (d.width - 1 - c)];
        } else {
          std::copy_n(src, plane, dst);
        }
        if (o.augment) {
          const float gain = 0.95F + 0.1F * unit(rng), shift = 0.04F * unit(rng) - 0.02F;
          for (int64_t q = 0; q < plane; ++q)
            dst[q] = dst[q] * gain + shift;
        }
        yp[k] = float(d.subject_label[d.patch_subject[p]]);
      }
      optimizer->zero_grad();
      auto logits = model->forward(x.narrow(0, 0, n));
      auto loss = torch::nn::functional::binary_cross_entropy_with_logits(logits, y.narrow(0, 0, n),
                                                                          loss_options);
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw TaskError(std::string("training loss became ") +
                        (std::isnan(value) ? "NaN" : "infinite") + " at epoch " +
                        std::to_string(epoch) + " (lower train.lr?)");
      loss.backward();
      optimizer->step();
      loss_sum += value * double(n);
      seen += n;
    }
    EpochLog log;
    log.epoch = epoch;
    log.train_loss = loss_sum / double(std::max<int64_t>(seen, 1));
    log.val_auroc = patient_auroc(d, d.validation, score(*model, d, d.validation), o.aggregation);
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.history.push_back(log);
    out.epochs_run = epoch;
    if (on_epoch)
      on_epoch(log);
    if (log.val_auroc > best + o.min_delta) {
      best = log.val_auroc;
      out.best_epoch = epoch;
      best_state = snapshot(*model);
      since_best = 0;
    } else if (++since_best >= o.patience) {
      break;
    }
  }
  restore(*model, best_state);
  out.best_val_auroc = best;
  out.test_scores = score(*model, d, d.test);
  return out;
}

} // namespace vfp::train
