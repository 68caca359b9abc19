// The job graph of a sweep (docs/architecture.md, "A run", step 2).
#include "tasks/plan.h"

#include "core/core.h"
#include "data/data.h"
#include "results/results.h"

#include <algorithm>
#include <map>
#include <set>

namespace vfp::tasks {
namespace {

dispatch::Job job(const std::string& kind, const std::string& id, int index,
                  std::vector<int> depends_on = {}) {
  dispatch::Job j;
  j.kind = kind;
  j.id = id;
  j.assignment = {{"kind", kind}, {"index", index}};
  j.depends_on = std::move(depends_on);
  return j;
}

/// Seconds a configuration's finished train_eval tasks took (mean), from earlier runs: the
/// dispatch starts the longest tasks first.
std::map<std::string, double> seconds_per_configuration(const std::vector<nlohmann::json>& rows) {
  std::map<std::string, std::pair<double, int>> sums;
  for (const auto& r : rows)
    if (r.value("kind", "") == "train_eval" && r.value("status", "") == "ok") {
      auto& s = sums[r.value("config_id", "")];
      s.first += r.value("seconds", 0.0);
      ++s.second;
    }
  std::map<std::string, double> out;
  for (const auto& [id, s] : sums)
    out[id] = s.first / s.second;
  return out;
}

/// Builds one plan; each step adds one kind of job.
class Planner {
public:
  Planner(const sweep::Sweep& sweep, const OnDisk& on_disk, const PlanOptions& options)
      : sweep_(sweep), on_disk_(on_disk), options_(options),
        finished_(options.resume ? results::finished_task_ids(on_disk.rows)
                                 : std::set<std::string>{}),
        seconds_(seconds_per_configuration(on_disk.rows)) {}

  Plan plan(const std::vector<CacheUse>& caches) {
    add_preprocessing(caches);
    const auto outer = add_training_jobs("train_eval", sweep_.tasks);
    const auto inner = add_training_jobs("inner", sweep_.inner_tasks);
    add_selections(outer, inner);
    add_pooled_analyses(outer);
    skip_unneeded();
    plan_.cache_keys = job_of_key_.size();
    plan_.pretrainings = job_of_pretraining_.size();
    return std::move(plan_);
  }

private:
  using JobsOfConfiguration = std::vector<std::vector<int>>;

  /// How many blocks a missing cache is preprocessed in: one per worker, so that ranks split
  /// the subjects; none (a single build) when alone, when it exists, or for tiny cohorts.
  int shards_for(const std::string& key, std::size_t subjects) const {
    const int workers = options_.workers;
    if (workers < 2 || subjects < 2 * std::size_t(workers))
      return 0;
    return on_disk_.cache_present(key) ? 0 : workers;
  }

  /// The preprocess job of cache `key` (first use: configuration `c`), and its shards; added
  /// once, shared by every configuration that uses it. `external`: the cohort BYOL pretrains on.
  int preprocess_job(const std::string& key, std::size_t subjects, std::size_t c, bool external) {
    if (job_of_key_.count(key))
      return job_of_key_[key];
    auto& graph = plan_.graph;
    const int shards = shards_for(key, subjects);
    std::vector<int> shard_jobs;
    for (int s = 0; s < shards; ++s) {
      auto shard =
          job("preprocess_shard", "preprocess-" + key + "-shard-" + std::to_string(s), int(c));
      shard.assignment["shard"] = s;
      shard.assignment["shards"] = shards;
      if (external)
        shard.assignment["cohort"] = "ssl";
      shard_jobs.push_back(graph.add(std::move(shard)));
    }
    auto merge = job("preprocess", "preprocess-" + key, int(c), shard_jobs);
    merge.assignment["shards"] = shards;
    if (external)
      merge.assignment["cohort"] = "ssl";
    return job_of_key_[key] = graph.add(std::move(merge));
  }

  /// One preprocess job per distinct cache key, the external pretraining cohorts' included.
  void add_preprocessing(const std::vector<CacheUse>& caches) {
    if (caches.size() != sweep_.configurations.size())
      throw Error("planning: " + std::to_string(caches.size()) + " caches for " +
                  std::to_string(sweep_.configurations.size()) + " configurations");
    for (std::size_t c = 0; c < caches.size(); ++c) {
      prep_of_config_.push_back(preprocess_job(caches[c].key, caches[c].subjects, c, false));
      const auto& external = caches[c].external_key;
      external_prep_of_config_.push_back(
          external.empty() ? -1 : preprocess_job(external, caches[c].external_subjects, c, true));
    }
  }

  /// Outer tasks ("train_eval"), then with nested selection on inner folds the inner tasks
  /// ("inner"), each after its cache and its pretraining (one pretrain job per distinct BYOL
  /// pretraining, shared by the tasks that load it). Returns per configuration its jobs.
  JobsOfConfiguration add_training_jobs(const std::string& kind,
                                        const std::vector<sweep::TrainTask>& list) {
    auto& graph = plan_.graph;
    JobsOfConfiguration jobs_of_config(sweep_.configurations.size());
    for (std::size_t t = 0; t < list.size(); ++t) {
      const auto& task = list[t];
      const auto& configuration = sweep_.configurations[std::size_t(task.configuration)];
      const int prep = prep_of_config_[std::size_t(task.configuration)];
      std::vector<int> depends_on{prep};
      if (configuration.config.runs_pretraining()) {
        // An inner task uses its outer fold's pretraining, which the outer tasks added. An
        // external pretraining reads the external cohort's cache, not this one.
        const auto id = pretrain_id(configuration.config, task);
        const int external = external_prep_of_config_[std::size_t(task.configuration)];
        if (!job_of_pretraining_.count(id))
          job_of_pretraining_[id] =
              graph.add(job("pretrain", id, int(t), {external >= 0 ? external : prep}));
        depends_on.push_back(job_of_pretraining_[id]);
      }
      auto training = job(kind, task.id, int(t), depends_on);
      if (seconds_.count(configuration.id))
        training.estimate_seconds = seconds_.at(configuration.id);
      const int j = graph.add(std::move(training));
      jobs_of_config[std::size_t(task.configuration)].push_back(j);
      if (finished_.count(task.id)) {
        graph.mark_done(j);
        ++plan_.skipped;
      } else {
        prep_needed_.insert(prep);
        if (depends_on.size() > 1)
          pretraining_needed_.insert(depends_on[1]);
      }
    }
    return jobs_of_config;
  }

  bool all_done(const std::vector<int>& jobs) const {
    return std::all_of(jobs.begin(), jobs.end(),
                       [&](int j) { return plan_.graph.state(j) == dispatch::State::kDone; });
  }

  /// Per group, once its members' outer and inner tasks are done, the selection (on the
  /// coordinator, which holds the rows it chooses from).
  void add_selections(const JobsOfConfiguration& outer, const JobsOfConfiguration& inner) {
    for (std::size_t g = 0; g < sweep_.groups.size(); ++g) {
      std::vector<int> inputs;
      for (int m : sweep_.groups[g].members) {
        const auto& o = outer[std::size_t(m)];
        const auto& i = inner[std::size_t(m)];
        inputs.insert(inputs.end(), o.begin(), o.end());
        inputs.insert(inputs.end(), i.begin(), i.end());
      }
      auto selection = job("selection", sweep_.groups[g].id, int(g), inputs);
      selection.on_coordinator = true;
      const int j = plan_.graph.add(std::move(selection));
      if (finished_.count(sweep_.groups[g].id) && all_done(inputs))
        plan_.graph.mark_done(j);
    }
  }

  /// Per configuration, once its folds are done: the survival analysis on a worker, and the
  /// table refreshed by the coordinator (its row appears without waiting for the sweep).
  void add_pooled_analyses(const JobsOfConfiguration& outer) {
    auto& graph = plan_.graph;
    for (std::size_t c = 0; c < sweep_.configurations.size(); ++c) {
      const auto& folds = outer[c];
      const int cox = graph.add(job("cox", cox_id(sweep_.configurations[c]), int(c), folds));
      if (finished_.count(graph.job(cox).id))
        graph.mark_done(cox);
      auto table = job("aggregate", "aggregate-" + sweep_.configurations[c].id, int(c), folds);
      table.on_coordinator = true;
      const int aggregate = graph.add(std::move(table));
      if (all_done(folds))
        graph.mark_done(aggregate);
    }
  }

  /// A cache no remaining task needs is not built (nor are its shards); a pretraining whose
  /// checkpoint exists or that no task needs is not run.
  void skip_unneeded() {
    auto& graph = plan_.graph;
    for (const auto& [id, j] : job_of_pretraining_)
      if (!pretraining_needed_.count(j) || on_disk_.pretrained(id))
        graph.mark_done(j);
      else // the cache it reads (an external cohort's is needed by nothing else)
        prep_needed_.insert(graph.job(j).depends_on.front());
    for (const auto& [key, j] : job_of_key_)
      if (!prep_needed_.count(j)) {
        graph.mark_done(j);
        for (int s : graph.job(j).depends_on)
          graph.mark_done(s);
      }
  }

  const sweep::Sweep& sweep_;
  const OnDisk& on_disk_;
  PlanOptions options_;
  std::set<std::string> finished_; ///< task ids whose latest row is ok (with resume)
  std::map<std::string, double> seconds_;
  Plan plan_;
  std::map<std::string, int> job_of_key_;
  std::vector<int> prep_of_config_;
  std::vector<int> external_prep_of_config_; ///< -1: the configuration pretrains on none
  std::map<std::string, int> job_of_pretraining_;
  std::set<int> prep_needed_, pretraining_needed_;
};

} // namespace

std::vector<CacheUse> cache_uses(const sweep::Sweep& sweep) {
  std::vector<CacheUse> out;
  for (const auto& configuration : sweep.configurations) {
    const auto& c = configuration.config;
    std::vector<data::Exclusion> excluded;
    const auto subjects = data::read_cohort(c, &excluded);
    CacheUse use;
    use.key = data::cache_key(c, subjects);
    use.subjects = subjects.size();
    if (c.runs_pretraining() && c.ssl.data == "external") {
      const auto external = data::read_unlabelled_cohort(c.ssl.cohort, &excluded);
      use.external_key = data::cache_key(config::external_cohort_config(c), external);
      use.external_subjects = external.size();
    }
    out.push_back(use);
  }
  return out;
}

Plan plan_jobs(const sweep::Sweep& sweep, const std::vector<CacheUse>& caches,
               const OnDisk& on_disk, const PlanOptions& options) {
  return Planner(sweep, on_disk, options).plan(caches);
}

namespace {

nlohmann::json run_job_of_kind(const sweep::Sweep& sweep, const nlohmann::json& assignment,
                               const TaskContext& ctx) {
  const auto kind = assignment.at("kind").get<std::string>();
  const int index = assignment.at("index").get<int>();
  const int shard = assignment.value("shard", 0), shards = assignment.value("shards", 0);
  const bool external = assignment.value("cohort", "") == "ssl"; // BYOL's external cohort
  if (kind == "preprocess_shard")
    return external
               ? run_preprocess_external_shard(sweep.configurations.at(index).config, ctx, shard,
                                               shards)
               : run_preprocess_shard(sweep.configurations.at(index).config, ctx, shard, shards);
  if (kind == "preprocess")
    return external ? run_preprocess_external(sweep.configurations.at(index).config, ctx, shards)
                    : run_preprocess(sweep.configurations.at(index).config, ctx, shards);
  if (kind == "pretrain")
    return run_pretrain(sweep, sweep.tasks.at(index), ctx);
  if (kind == "train_eval")
    return run_train_eval(sweep, sweep.tasks.at(index), ctx);
  if (kind == "inner")
    return run_train_eval(sweep, sweep.inner_tasks.at(index), ctx);
  if (kind == "cox")
    return run_cox(sweep, index, ctx);
  throw Error("unknown job kind '" + kind + "'");
}

} // namespace

nlohmann::json run_job(const sweep::Sweep& sweep, const nlohmann::json& assignment,
                       const TaskContext& ctx) {
  const auto started = utc_now();
  return with_provenance(run_job_of_kind(sweep, assignment, ctx), ctx, started);
}

} // namespace vfp::tasks
