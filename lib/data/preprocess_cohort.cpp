// A cohort's preprocessing: subjects spread over threads, their patches handed on in cohort
// order as soon as they and every earlier subject's are made, through a bounded reorder
// window, so that memory holds a few subjects' patches whatever the cohort's size (streamed
// into a CacheWriter), or all of them when the caller asks for a PatchSet.
#include "data/data.h"

#include "core/core.h"
#include "log/log.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace vfp::data {
namespace {

/// What preprocessing the cohort found: who was left out (cohort order) and how many
/// subjects reached the sink.
struct CohortOutcome {
  std::vector<Exclusion> excluded;
  std::size_t kept = 0;
};

/// Runs preprocess_subject over `subjects` with `threads` threads and calls `sink` with each
/// kept subject's patches in cohort order. A thread waits before starting a subject more than
/// a window ahead of the next one to hand on, which bounds what waits in memory. Failing
/// subjects are listed together at the end (InputError), or excluded (on_bad_subject:
/// exclude); a failing sink (a full disk) stops the run and is rethrown.
class OrderedRun {
public:
  OrderedRun(const std::vector<Subject>& subjects, const config::ExperimentConfig& c, int threads,
             std::function<void(const PatchSet&)> sink)
      : subjects_(subjects), c_(c), threads_(std::max(1, threads)), sink_(std::move(sink)),
        window_(2 * std::size_t(threads_) + 2), failed_(subjects.size(), 0),
        errors_(subjects.size()), progress_("preprocessing: subjects done", subjects.size()) {
    if (c.cohort.centroid_format == "csv")
      table_ = read_centroid_csv(c.cohort.centroids, c.cohort.centroid_space);
  }

  CohortOutcome run() {
    std::vector<std::thread> pool;
    for (int t = 1; t < threads_; ++t)
      pool.emplace_back([this] { work(); });
    work();
    for (auto& t : pool)
      t.join();
    progress_.finish();
    if (sink_error_)
      std::rethrow_exception(sink_error_);
    throw_if_stop_requested("while preprocessing (the cache is built again from the start)");
    return outcome();
  }

private:
  bool stopping() const { return stop_signal() != 0 || sink_error_ != nullptr; }

  void work() {
    // A stop request leaves the subjects not started: the cache is written whole or not at all.
    for (;;) {
      std::size_t i = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        i = next_++;
        if (i >= subjects_.size())
          return;
        while (i >= emitted_ + window_ && !stopping()) // a stop signal does not notify: poll
          moved_.wait_for(lock, std::chrono::milliseconds(100));
        if (stopping())
          return;
      }
      deliver(i, make(i));
    }
  }

  // The subject's patches, or an empty set and its error recorded when it fails (whatever it
  // made, none of it is kept).
  PatchSet make(std::size_t i) {
    PatchSet mine;
    try {
      CentroidSource source;
      source.format = c_.cohort.centroid_format;
      source.path = config::subject_path(c_.cohort.centroids, subjects_[i].id);
      source.table = &table_;
      preprocess_subject(subjects_[i].id, config::subject_path(c_.cohort.images, subjects_[i].id),
                         source, c_.preprocess, mine, subjects_[i].dicom_series);
      fault_point("preprocess.subject"); // test-only (docs/hardening.md): between subjects
      return mine;
    } catch (const std::exception& e) {
      errors_[i] = e.what();
    } catch (...) {
    }
    failed_[i] = 1; // apart from errors_: an exception with an empty message still fails it
    if (errors_[i].empty())
      errors_[i] = "subject " + subjects_[i].id + ": preprocessing failed (no message)";
    return PatchSet{};
  }

  // Parks subject i's patches, then hands on every subject ready in cohort order.
  void deliver(std::size_t i, PatchSet part) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ready_.emplace(i, std::move(part));
    progress_.update(++done_);
    for (auto it = ready_.find(emitted_); it != ready_.end(); it = ready_.find(emitted_)) {
      // Once a subject failed with on_bad_subject: error the run fails: no need to write more.
      const bool wanted =
          !failed_[emitted_] && !(any_error_ && c_.cohort.on_bad_subject != "exclude");
      any_error_ = any_error_ || failed_[emitted_];
      try {
        if (wanted && !sink_error_ && it->second.size() > 0) {
          sink_(it->second);
          ++kept_;
        }
      } catch (...) {
        sink_error_ = std::current_exception();
      }
      ready_.erase(it);
      ++emitted_;
    }
    moved_.notify_all();
  }

  CohortOutcome outcome() {
    CohortOutcome out;
    out.kept = kept_;
    if (c_.cohort.on_bad_subject == "exclude")
      for (std::size_t i = 0; i < subjects_.size(); ++i)
        if (failed_[i]) {
          spdlog::warn("excluding subject {}: {}", subjects_[i].id, errors_[i]);
          out.excluded.push_back({subjects_[i].id, errors_[i]});
          errors_[i].clear();
        }
    // Report every failing subject at once: a user fixes a cohort in one pass.
    std::string failed;
    int n_failed = 0;
    for (const auto& e : errors_)
      if (!e.empty()) {
        if (n_failed < 10)
          failed += "\n  " + e;
        ++n_failed;
      }
    if (n_failed > 0)
      throw InputError("preprocessing failed for " + std::to_string(n_failed) + " subject" +
                       (n_failed > 1 ? "s" : "") + ":" + failed + (n_failed > 10 ? "\n  ..." : ""));
    return out;
  }

  const std::vector<Subject>& subjects_;
  const config::ExperimentConfig& c_;
  const int threads_;
  std::function<void(const PatchSet&)> sink_;
  const std::size_t window_;
  CentroidTable table_;
  std::vector<char> failed_;
  std::vector<std::string> errors_;
  log::Progress progress_;
  std::mutex mutex_;
  std::condition_variable moved_;
  std::map<std::size_t, PatchSet> ready_; ///< made, waiting for an earlier subject
  std::size_t next_ = 0, emitted_ = 0, done_ = 0, kept_ = 0;
  bool any_error_ = false;
  std::exception_ptr sink_error_;
};

void refuse_if_empty(const CohortOutcome& outcome, bool allow_empty) {
  if (allow_empty || outcome.kept > 0)
    return;
  throw InputError(
      "preprocessing left no usable subject (" + std::to_string(outcome.excluded.size()) +
      " excluded; the first: " +
      (outcome.excluded.empty() ? std::string("none") : outcome.excluded.front().reason) + ")");
}

} // namespace

PatchSet empty_patch_set(const config::PreprocessConfig& p) {
  PatchSet out;
  const int n = p.cube_voxels();
  out.channels = p.output == "3d" || p.channels.empty() ? 1 : static_cast<int>(p.channels.size());
  out.depth = p.output == "3d" ? n : 0;
  out.height = out.width = n;
  return out;
}

PatchSet preprocess_cohort(const std::vector<Subject>& subjects, const config::ExperimentConfig& c,
                           int threads, bool allow_empty) {
  // The patch shape comes from the parameters, so that even an empty shard has one.
  PatchSet all = empty_patch_set(c.preprocess);
  auto outcome =
      OrderedRun(subjects, c, threads, [&](const PatchSet& part) {
        all.pixels.insert(all.pixels.end(), part.pixels.begin(), part.pixels.end());
        all.subject_ids.insert(all.subject_ids.end(), part.subject_ids.begin(),
                               part.subject_ids.end());
        all.vertebrae.insert(all.vertebrae.end(), part.vertebrae.begin(), part.vertebrae.end());
        all.origin.insert(all.origin.end(), part.origin.begin(), part.origin.end());
        all.spacing.insert(all.spacing.end(), part.spacing.begin(), part.spacing.end());
      }).run();
  refuse_if_empty(outcome, allow_empty);
  all.excluded = std::move(outcome.excluded);
  return all;
}

std::vector<Exclusion> preprocess_cohort_into(const std::vector<Subject>& subjects,
                                              const config::ExperimentConfig& c, int threads,
                                              CacheWriter& out, bool allow_empty) {
  auto outcome =
      OrderedRun(subjects, c, threads, [&](const PatchSet& part) {
        const auto values = part.patch_values();
        for (std::size_t k = 0; k < part.size(); ++k)
          out.append(part.subject_ids[k], part.vertebrae[k],
                     {part.origin[3 * k], part.origin[3 * k + 1], part.origin[3 * k + 2]},
                     {part.spacing[3 * k], part.spacing[3 * k + 1], part.spacing[3 * k + 2]},
                     part.pixels.data() + k * values);
      }).run();
  refuse_if_empty(outcome, allow_empty);
  for (const auto& e : outcome.excluded)
    out.exclude(e);
  return outcome.excluded;
}

} // namespace vfp::data
