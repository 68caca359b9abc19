// bench_out_of_core's worker: one measurement in a process of its own, so that its peak RSS
// is its own (out_of_core.h). Trains fNet 3D, or pretrains BYOL, on the patches read from the
// cache file or held in memory.
#include "out_of_core.h"

#include "core/core.h"
#include "data/data.h"
#include "ssl/ssl.h"
#include "train/train.h"
#include "train_options.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>

namespace vfp::bench::out_of_core {
namespace {

/// Reads patches through a cache reader (memory map of the file).
class ReaderSource : public vfp::loader::PatchSource {
public:
  explicit ReaderSource(const vfp::data::CacheReader& reader) : reader_(reader) {}
  void read(std::int64_t item, float* out) const override { reader_.read(std::size_t(item), out); }

private:
  const vfp::data::CacheReader& reader_;
};

/// The worker's patches: read from the cache file (a reader) or in memory (read_cache's PatchSet).
struct Held {
  std::unique_ptr<vfp::data::CacheReader> reader;
  vfp::data::PatchSet pixels;
  std::unique_ptr<vfp::loader::PatchSource> source;
  const vfp::data::PatchSet* index = nullptr;
};

void open_patches(const Options& o, Held& h) {
  if (o.path == "cache") {
    h.reader = std::make_unique<vfp::data::CacheReader>(o.cache, o.key);
    h.source = std::make_unique<ReaderSource>(*h.reader);
    h.index = &h.reader->index();
  } else if (o.path == "memory") {
    h.pixels = vfp::data::read_cache(o.cache, o.key);
    h.source = std::make_unique<vfp::loader::MemorySource>(h.pixels.pixels.data(),
                                                           std::int64_t(h.pixels.patch_values()));
    h.index = &h.pixels;
  } else {
    kArgs.fail("--path: '" + o.path + "' is neither cache nor memory");
  }
}

/// VmHWM (peak), RssAnon (private) and RssFile (mapped files) of this process, in MB.
std::map<std::string, double> memory_mb() {
  std::map<std::string, double> out;
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    for (const char* key : {"VmHWM", "RssAnon", "RssFile"})
      if (line.rfind(std::string(key) + ":", 0) == 0)
        out[key] = std::stod(line.substr(std::string(key).size() + 1)) / 1024;
  return out;
}

/// Subjects in a seeded order: 2 positive and 6 negative for validation, as many for test,
/// then training patches of the following subjects, about `train_patches` of them (20 %
/// positive), spread over the whole archive (so that a larger archive is read from more places,
/// not more often).
vfp::train::FoldData make_fold(int count, int train_patches) {
  vfp::train::FoldData f;
  const int subjects = count / 2;
  std::vector<int> order(std::size_t(subjects), 0);
  for (int s = 0; s < subjects; ++s) {
    order[size_t(s)] = s;
    f.subject_label.push_back(positive(s) ? 1 : 0);
  }
  for (std::int64_t p = 0; p < count; ++p)
    f.patch_subject.push_back(subject_of(p));
  std::shuffle(order.begin(), order.end(), std::mt19937(11));
  int validation[2] = {0, 0}, test[2] = {0, 0};         // subjects taken, [negative, positive]
  const int positives = std::max(2, train_patches / 5); // the study's 20 %, at least one subject
  const int train_quota[2] = {train_patches - positives, positives}; // patches
  int train[2] = {0, 0};
  for (int s : order) {
    const int label = positive(s) ? 1 : 0, quota = label ? 2 : 6;
    std::vector<int>* split = &f.train;
    if (validation[label] < quota) {
      split = &f.validation;
      ++validation[label];
    } else if (test[label] < quota) {
      split = &f.test;
      ++test[label];
    } else if (train[label] >= train_quota[label]) {
      continue;
    } else {
      train[label] += 2;
    }
    split->push_back(2 * s);
    split->push_back(2 * s + 1);
  }
  std::sort(f.train.begin(), f.train.end()); // read in archive order, as the loader shuffles
  return f;
}

/// Prints the worker's figures as one "OOC key=value ..." line for the parent.
void print_result(const std::map<std::string, double>& figures) {
  std::string line = "OOC";
  for (const auto& [k, v] : figures)
    line += " " + k + "=" + std::to_string(v);
  std::printf("%s\n", line.c_str());
}

void train_worker(const Options& o, const Held& h, std::map<std::string, double>& fig) {
  auto fold = make_fold(int(h.index->size()), o.steps * o.batch);
  fold.source = h.source.get();
  fold.channels = h.index->channels;
  fold.depth = h.index->depth;
  fold.height = h.index->height;
  fold.width = h.index->width;
  auto t = fixed_epochs("fnet", o.batch, o.epochs, o.threads, "cpu");
  t.run.seed = 1;
  const auto out = vfp::train::fit_and_score(t, fold);
  double warm_loop = 0, warm_wait = 0;
  for (const auto& e : out.history)
    if (e.epoch > 1) { // the first epoch is the warm-up
      warm_loop += e.step_seconds + e.data_wait_seconds;
      warm_wait += e.data_wait_seconds;
    }
  const double warm_samples = double(fold.train.size()) * (out.epochs_run - 1);
  fig["warm_sps"] = warm_samples / warm_loop;
  fig["wait_pct"] = 100 * warm_wait / warm_loop;
  fig["all_sps"] = double(fold.train.size()) * out.epochs_run / out.train_seconds;
}

void byol_worker(const Options& o, const Held& h, std::map<std::string, double>& fig) {
  vfp::ssl::ByolOptions b;
  b.model.arch = "fnet";
  b.ssl.epochs = o.epochs;
  b.ssl.batch_size = o.batch;
  b.run.threads = o.threads;
  b.run.device = "cpu";
  b.run.seed = 1;
  vfp::ssl::Patches p;
  p.source = h.source.get();
  p.count = int(h.index->size());
  p.channels = h.index->channels;
  p.depth = h.index->depth;
  p.height = h.index->height;
  p.width = h.index->width;
  std::vector<int> all(h.index->size());
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = int(i);
  std::shuffle(all.begin(), all.end(), std::mt19937(5)); // spread over the whole archive
  all.resize(std::min(all.size(), size_t(o.byol_steps) * size_t(o.batch)));
  p.items = all;
  const auto checkpoint = fs::path(o.cache).replace_extension(".byol.safetensors");
  double warm_seconds = 0;
  const auto out = vfp::ssl::pretrain_byol(b, p, checkpoint.string(), [&](const auto& e) {
    if (e.epoch > 1)
      warm_seconds += e.seconds;
  });
  fs::remove(checkpoint);
  fig["warm_sps"] = double(p.items.size()) * (o.epochs - 1) / warm_seconds;
  fig["all_sps"] = double(p.items.size()) * o.epochs / out.seconds;
}

} // namespace

int worker(const Options& o) {
  vfp::keep_freed_memory(); // as vfp does at start-up, on both paths
  std::map<std::string, double> fig;
  const auto t0 = Clock::now();
  Held h;
  open_patches(o, h);
  fig["load_s"] = seconds_since(t0);
  if (o.worker == "train")
    train_worker(o, h, fig);
  else if (o.worker == "byol")
    byol_worker(o, h, fig);
  else
    kArgs.fail("--worker: '" + o.worker + "' is neither train nor byol");
  const auto m = memory_mb();
  fig["hwm_mb"] = m.at("VmHWM");
  fig["anon_mb"] = m.at("RssAnon");
  fig["file_mb"] = m.at("RssFile");
  print_result(fig);
  return 0;
}

} // namespace vfp::bench::out_of_core
