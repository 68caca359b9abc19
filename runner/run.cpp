// `vfp run`: rank 0 coordinates (and works when alone), other ranks work.
#include "commands.h"

#include "core/core.h"
#include "data/data.h"
#include "dispatch/dispatch.h"
#include "log/log.h"
#include "plots/plots.h"
#include "results/results.h"
#include "sweep/sweep.h"
#include "tasks/tasks.h"

// The C API only: the deprecated C++ bindings add nothing and warn.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <unistd.h>

namespace vfp::runner {
namespace {

struct World {
  int rank = 0;
  int size = 1;
  int ranks_on_node = 1;
  int local_rank = 0; ///< rank among the node's ranks: picks the GPU
};

/// Runs one job on this rank; never throws (a failure becomes a reason).
nlohmann::json execute(const sweep::Sweep& sweep, const nlohmann::json& assignment,
                       tasks::TaskContext ctx, const dispatch::Heartbeat& beat) {
  try {
    ctx.progress = beat;
    const auto kind = assignment.at("kind").get<std::string>();
    const int index = assignment.at("index").get<int>();
    const int shard = assignment.value("shard", 0), shards = assignment.value("shards", 0);
    nlohmann::json row;
    if (kind == "preprocess_shard")
      row = tasks::run_preprocess_shard(sweep.configurations.at(index).config, ctx, shard, shards);
    else if (kind == "preprocess")
      row = tasks::run_preprocess(sweep.configurations.at(index).config, ctx, shards);
    else if (kind == "pretrain")
      row = tasks::run_pretrain(sweep, sweep.tasks.at(index), ctx);
    else if (kind == "train_eval")
      row = tasks::run_train_eval(sweep, sweep.tasks.at(index), ctx);
    else if (kind == "inner")
      row = tasks::run_train_eval(sweep, sweep.inner_tasks.at(index), ctx);
    else if (kind == "cox")
      row = tasks::run_cox(sweep, index, ctx);
    else
      throw Error("unknown job kind '" + kind + "'");
    return {{"ok", true}, {"row", row}};
  } catch (const Interrupted& e) {
    spdlog::warn("task {}", e.what());
    return {{"ok", false}, {"interrupted", true}, {"reason", e.what()}};
  } catch (const std::exception& e) {
    spdlog::error("task failed: {}", e.what());
    return {{"ok", false}, {"reason", e.what()}};
  }
}

/// Rank 0: builds the sweep's job graph, runs it over the ranks, keeps results.jsonl,
/// status.json and the table up to date.
class Coordinator {
public:
  /// `lock`: the sweep's run lock, held (take_sweep_folder): the store cuts a torn last row.
  Coordinator(const sweep::Sweep& sweep, const RunArgs& args, const tasks::TaskContext& ctx,
              int world_size, const RunLock& lock)
      : sweep_(sweep), args_(args), ctx_(ctx), store_(ctx.sweep_dir, lock), world_size_(world_size),
        rows_(store_.rows()) {}

  int run() {
    build_graph();
    const auto t0 = std::chrono::steady_clock::now();
    dispatch::CoordinatorHooks hooks;
    hooks.finished = [this](int j, const nlohmann::json& result, bool retrying) {
      finished(j, result, retrying);
    };
    hooks.cancelled = [this](int j) { record_failure(j); };
    hooks.started = [this](int j, int rank) {
      if (!graph_.job(j).on_coordinator)
        spdlog::info("rank {} starts {} {}", rank, graph_.job(j).kind, graph_.job(j).id);
    };
    hooks.changed = [this] { write_status(false); };
    hooks.idle = [this] {
      if (status_stale_)
        write_status(false);
      log_workers_now_and_then();
    };
    hooks.joined = [this](int rank, const nlohmann::json& hello) { ranks_[rank] = hello; };
    const dispatch::Executor execute = [this](const nlohmann::json& a,
                                              const dispatch::Heartbeat& beat) {
      if (a.at("kind") == "aggregate")
        return aggregate();
      if (a.at("kind") == "selection")
        return select(a.at("index").get<int>());
      return vfp::runner::execute(sweep_, a, ctx_, beat);
    };
    const auto ending = dispatch::coordinate(graph_, execute, args_.retries, hooks);
    state_ = ending == dispatch::Ending::kInterrupted ? "interrupted" : "finished";
    write_status(true);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto counts = graph_.counts();
    if (ending == dispatch::Ending::kInterrupted) {
      write_report(false); // the table of what is done; the figures wait for the end
      spdlog::warn("sweep {} stopped by signal {} after {:.1f} s: {} jobs done, {} left; every "
                   "finished row is on file and running tasks keep their last checkpoint, so "
                   "running the same command again (or the requeued job) resumes",
                   sweep_.name, stop_signal(), secs, counts.done, counts.waiting);
      return kExitInterrupted;
    }
    write_report(true);
    spdlog::info(
        "sweep {} finished in {:.1f} s: {} tasks run, {} skipped (already done), {} failed",
        sweep_.name, secs, ran_, skipped_, counts.failed);
    for (std::size_t j = 0; j < graph_.size(); ++j)
      if (graph_.state(int(j)) == dispatch::State::kFailed)
        spdlog::error("{} task {} failed: {}", graph_.job(int(j)).kind, graph_.job(int(j)).id,
                      graph_.reason(int(j)));
    return counts.failed == 0 ? 0 : 1;
  }

private:
  /// How many blocks a missing cache is preprocessed in: one per worker, so that ranks split
  /// the subjects; none (a single build) when alone, when it exists, or for tiny cohorts.
  int shards_for(const std::string& key, size_t subjects) const {
    const int workers = world_size_ - 1;
    if (workers < 2 || subjects < size_t(2 * workers))
      return 0;
    return std::filesystem::exists(data::cache_file(ctx_.cache_dir, key)) ? 0 : workers;
  }

  static dispatch::Job job(const std::string& kind, const std::string& id, int index,
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
  std::map<std::string, double> seconds_per_configuration() const {
    std::map<std::string, std::pair<double, int>> sums;
    for (const auto& r : rows_)
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

  void build_graph() {
    const auto finished = args_.resume ? store_.finished_task_ids() : std::set<std::string>{};
    // One preprocess job per distinct cache key, shared by every configuration that uses it.
    std::map<std::string, int> job_of_key;
    std::vector<int> prep_of_config(sweep_.configurations.size(), -1);
    for (size_t c = 0; c < sweep_.configurations.size(); ++c) {
      const auto& cfg = sweep_.configurations[c].config;
      std::vector<data::Exclusion> excluded;
      const auto subjects = data::read_cohort(cfg, &excluded);
      const auto key = data::cache_key(cfg, subjects);
      if (!job_of_key.count(key)) {
        const int shards = shards_for(key, subjects.size());
        std::vector<int> shard_jobs;
        for (int s = 0; s < shards; ++s) {
          auto shard =
              job("preprocess_shard", "preprocess-" + key + "-shard-" + std::to_string(s), int(c));
          shard.assignment["shard"] = s;
          shard.assignment["shards"] = shards;
          shard_jobs.push_back(graph_.add(std::move(shard)));
        }
        auto merge = job("preprocess", "preprocess-" + key, int(c), shard_jobs);
        merge.assignment["shards"] = shards;
        job_of_key[key] = graph_.add(std::move(merge));
      }
      prep_of_config[c] = job_of_key[key];
    }
    std::set<int> prep_needed;
    // One pretrain job per distinct BYOL pretraining, shared by the tasks that load it.
    std::map<std::string, int> job_of_pretraining;
    std::set<int> pretraining_needed;
    const auto seconds = seconds_per_configuration();
    // Outer tasks ("train_eval"), then with nested selection on inner folds the inner tasks
    // ("inner"): per configuration, the jobs of each kind.
    const auto add_training_jobs = [&](const std::string& kind,
                                       const std::vector<sweep::TrainTask>& list) {
      std::vector<std::vector<int>> jobs_of_config(sweep_.configurations.size());
      for (size_t t = 0; t < list.size(); ++t) {
        const auto& task = list[t];
        const auto& configuration = sweep_.configurations[size_t(task.configuration)];
        const int prep = prep_of_config[size_t(task.configuration)];
        std::vector<int> depends_on{prep};
        if (configuration.config.runs_pretraining()) {
          // An inner task uses its outer fold's pretraining, which the outer tasks added.
          const auto id = tasks::pretrain_id(configuration.config, task);
          if (!job_of_pretraining.count(id))
            job_of_pretraining[id] = graph_.add(job("pretrain", id, int(t), {prep}));
          depends_on.push_back(job_of_pretraining[id]);
        }
        auto training = job(kind, task.id, int(t), depends_on);
        if (seconds.count(configuration.id))
          training.estimate_seconds = seconds.at(configuration.id);
        const int j = graph_.add(std::move(training));
        jobs_of_config[size_t(task.configuration)].push_back(j);
        if (finished.count(task.id)) {
          graph_.mark_done(j);
          ++skipped_;
        } else {
          prep_needed.insert(prep);
          if (depends_on.size() > 1)
            pretraining_needed.insert(depends_on[1]);
        }
      }
      return jobs_of_config;
    };
    const auto train_jobs_of_config = add_training_jobs("train_eval", sweep_.tasks);
    // Then per group, once its members' outer and inner tasks are done, the selection (on the
    // coordinator, which holds the rows it chooses from).
    const auto inner_jobs_of_config = add_training_jobs("inner", sweep_.inner_tasks);
    for (size_t g = 0; g < sweep_.groups.size(); ++g) {
      std::vector<int> inputs;
      for (int m : sweep_.groups[g].members) {
        const auto& outer = train_jobs_of_config[size_t(m)];
        const auto& inner = inner_jobs_of_config[size_t(m)];
        inputs.insert(inputs.end(), outer.begin(), outer.end());
        inputs.insert(inputs.end(), inner.begin(), inner.end());
      }
      auto selection = job("selection", sweep_.groups[g].id, int(g), inputs);
      selection.on_coordinator = true;
      const int j = graph_.add(std::move(selection));
      if (finished.count(sweep_.groups[g].id) &&
          std::all_of(inputs.begin(), inputs.end(),
                      [&](int d) { return graph_.state(d) == dispatch::State::kDone; }))
        graph_.mark_done(j);
    }
    // Per configuration, once its folds are done: the survival analysis on a worker, and the
    // table refreshed by the coordinator (its row appears without waiting for the sweep).
    for (size_t c = 0; c < sweep_.configurations.size(); ++c) {
      const auto& folds = train_jobs_of_config[c];
      const int cox =
          graph_.add(job("cox", tasks::cox_id(sweep_.configurations[c]), int(c), folds));
      if (finished.count(graph_.job(cox).id))
        graph_.mark_done(cox);
      auto table = job("aggregate", "aggregate-" + sweep_.configurations[c].id, int(c), folds);
      table.on_coordinator = true;
      const int aggregate = graph_.add(std::move(table));
      if (std::all_of(folds.begin(), folds.end(),
                      [&](int f) { return graph_.state(f) == dispatch::State::kDone; }))
        graph_.mark_done(aggregate);
    }
    // A cache no remaining task needs is not built (nor are its shards); a pretraining whose
    // checkpoint exists (written atomically, so complete) or that no task needs is not run.
    for (const auto& [key, j] : job_of_key)
      if (!prep_needed.count(j)) {
        graph_.mark_done(j);
        for (int s : graph_.job(j).depends_on)
          graph_.mark_done(s);
      }
    for (const auto& [id, j] : job_of_pretraining)
      if (!pretraining_needed.count(j) ||
          std::filesystem::exists(tasks::pretrain_checkpoint(ctx_, id)))
        graph_.mark_done(j);
    spdlog::info("sweep {}: {} configurations, {} train_eval tasks{} ({} already done), {} cache "
                 "key(s), {} pretraining(s), {} selection group(s), {} rank(s)",
                 sweep_.name, sweep_.configurations.size(), sweep_.tasks.size(),
                 sweep_.inner_tasks.empty()
                     ? std::string()
                     : " and " + std::to_string(sweep_.inner_tasks.size()) + " inner tasks",
                 skipped_, job_of_key.size(), job_of_pretraining.size(), sweep_.groups.size(),
                 world_size_);
    write_status(true);
  }

  void finished(int j, const nlohmann::json& result, bool retrying) {
    const auto& job = graph_.job(j);
    if (job.on_coordinator)
      return;
    ++ran_;
    if (!result.value("ok", false)) {
      const auto reason = result.value("reason", "");
      if (retrying)
        spdlog::warn("{} {} failed on rank {} (attempt {}), will retry: {}", job.kind, job.id,
                     graph_.rank_of(j), graph_.attempts(j), reason);
      else
        record_failure(j);
      return;
    }
    auto row = result.at("row");
    row["status"] = "ok";
    row["rank"] = graph_.rank_of(j);
    row["finished"] = std::time(nullptr);
    if (job.kind == "train_eval") {
      append(row);
      spdlog::info("done {} (fold {}): AUROC {:.3f}, AUPRC {:.3f}, {} epochs, {:.1f} s", job.id,
                   row.value("fold", -1), row.value("auroc", 0.0), row.value("auprc", 0.0),
                   row.value("epochs", 0), row.value("seconds", 0.0));
      // Its siblings (the configuration's other folds) will take about as long.
      for (int d : graph_.dependents(j))
        for (int sibling : graph_.job(d).depends_on)
          if (graph_.state(sibling) == dispatch::State::kWaiting)
            graph_.set_estimate(sibling, row.value("seconds", 0.0));
    } else if (job.kind == "inner") {
      append(row);
      spdlog::info("done {} (fold {}, inner fold {}): AUROC {:.3f}, AUPRC {:.3f}, loss {:.4f}",
                   job.id, row.value("fold", -1), row.value("inner_fold", -1),
                   row.value("auroc", 0.0), row.value("auprc", 0.0), row.value("loss", 0.0));
    } else if (job.kind == "pretrain" && !row.value("reused", false)) {
      append(row); // provenance: tables read train_eval rows only
      spdlog::info("done {}: BYOL on {} patches, {} epochs, final loss {:.4f}, {:.1f} s", job.id,
                   row.value("patches", 0), row.value("epochs", 0), row.value("final_loss", 0.0),
                   row.value("seconds", 0.0));
    } else if (job.kind == "cox") {
      append(row);
      const auto& s = row["survival"];
      if (s.is_object())
        spdlog::info("done {}: pooled AUROC {:.3f}; Harrell's C age+BMI {:.3f} → with score "
                     "{:.3f}; score HR per SD {:.2f}",
                     job.id, row["pooled"].value("auroc", 0.0), s.value("c_baseline", 0.0),
                     s.value("c_image", 0.0), s.value("score_hr_per_sd", 0.0));
    }
    log_progress();
  }

  void log_progress() const {
    const auto c = graph_.counts();
    const double eta = graph_.eta_seconds(std::max(1, world_size_ - 1));
    spdlog::info("progress: {}/{} jobs done, {} running, {} failed{}", c.done, graph_.size(),
                 c.running, c.failed,
                 eta >= 0 ? ", about " + dispatch::format_duration(eta) + " left" : "");
  }

  /// Every minute while jobs run: what each rank is doing, from its last heartbeat, so that a
  /// long sweep's log shows progress between finished tasks.
  void log_workers_now_and_then() {
    const auto now = std::chrono::steady_clock::now();
    if (now - workers_logged_ < std::chrono::seconds(60))
      return;
    workers_logged_ = now;
    log_progress();
    for (const auto& w : graph_.running()) {
      std::string progress;
      if (w["progress"].is_object() && w["progress"].contains("epoch"))
        progress = ", epoch " + w["progress"]["epoch"].dump() + "/" +
                   w["progress"].value("of", nlohmann::json()).dump();
      spdlog::info("  rank {}: {} {} for {}{}", w["rank"].get<int>(), w["kind"].get<std::string>(),
                   w["task"].get<std::string>(),
                   dispatch::format_duration(w["seconds"].get<double>()), progress);
    }
  }

  /// A train_eval or inner job that failed for good (or could not run) gets a failed row.
  void record_failure(int j) {
    const auto& job = graph_.job(j);
    if (job.kind != "train_eval" && job.kind != "inner")
      return;
    const auto index = std::size_t(job.assignment.at("index").get<int>());
    const auto& task = job.kind == "inner" ? sweep_.inner_tasks[index] : sweep_.tasks[index];
    const auto& cfg = sweep_.configurations[task.configuration];
    // What the table needs of a configuration, as a success row carries it: a failure can be a
    // configuration's first row.
    nlohmann::json axes = nlohmann::json::array();
    for (const auto& [k, v] : cfg.axes)
      axes.push_back({k, v});
    nlohmann::json row = {{"kind", job.kind},
                          {"task_id", job.id},
                          {"config_id", cfg.id},
                          {"config_index", task.configuration},
                          {"axes", axes},
                          {"fold", task.fold},
                          {"repeat", task.repeat},
                          {"expected_folds", cfg.config.cv.folds * cfg.config.cv.repeats},
                          {"status", "failed"},
                          {"rank", graph_.rank_of(j)},
                          {"reason", graph_.reason(j)}};
    if (task.inner())
      row["inner_fold"] = task.inner_fold;
    append(row);
  }

  void append(const nlohmann::json& row) {
    store_.append(row);
    fault_point("results.row.appended"); // test-only (docs/hardening.md): on file, not recorded
    rows_.push_back(row);
  }

  /// The selection job of group `group`: chooses per outer fold from the rows so far and
  /// analyses the selected predictions; its row goes to results.jsonl here (the coordinator's
  /// jobs report no row).
  nlohmann::json select(int group) {
    try {
      auto row = tasks::run_selection(sweep_, group, rows_, ctx_);
      row["status"] = "ok";
      row["rank"] = 0;
      row["finished"] = std::time(nullptr);
      append(row);
      write_report(false);
      spdlog::info("done selection {}: nested AUROC over {} outer folds (per fold the best inner "
                   "{}); pooled AUROC {:.3f}",
                   row.value("task_id", ""), row["folds"].size(), row.value("metric", ""),
                   row["pooled"].value("auroc", 0.0));
      return {{"ok", true}, {"row", nullptr}};
    } catch (const std::exception& e) {
      spdlog::error("selection {} failed: {}", sweep_.groups.at(std::size_t(group)).id, e.what());
      return {{"ok", false}, {"reason", e.what()}};
    }
  }

  /// The aggregate job: the table with every configuration whose folds are done so far.
  nlohmann::json aggregate() {
    write_report(false);
    return {{"ok", true}, {"row", nullptr}};
  }

  /// status.json for other tools: counts, ETA, and what every rank is doing. Rewritten at most
  /// every 0.5 s (an fsynced write per event would slow the dispatch of short jobs); a change
  /// held back is written by the idle tick, so the file is never more than ~1 s behind.
  void write_status(bool now) {
    const auto t = std::chrono::steady_clock::now();
    if (!now && t - status_written_ < std::chrono::milliseconds(500)) {
      status_stale_ = true;
      return;
    }
    status_written_ = t;
    status_stale_ = false;
    const auto c = graph_.counts();
    const double eta = graph_.eta_seconds(std::max(1, world_size_ - 1));
    nlohmann::json status;
    status["sweep"] = sweep_.name;
    status["state"] = state_;
    status["total"] = graph_.size();
    status["waiting"] = c.waiting;
    status["running"] = c.running;
    status["done"] = c.done;
    status["failed"] = c.failed;
    status["eta_seconds"] = eta >= 0 ? nlohmann::json(eta) : nullptr;
    status["ranks"] = world_size_;
    status["coordinator_pid"] = ::getpid();
    status["workers"] = workers();
    status["updated"] = std::time(nullptr);
    write_file_atomically(ctx_.sweep_dir / "status.json", status.dump(2));
  }

  /// The running jobs, each with its rank's pid and host.
  nlohmann::json workers() const {
    auto running = graph_.running();
    for (auto& r : running) {
      const auto it = ranks_.find(r["rank"].get<int>());
      if (it != ranks_.end()) {
        r["pid"] = it->second.value("pid", 0);
        r["host"] = it->second.value("host", "");
      } else if (r["rank"] == 0) {
        r["pid"] = ::getpid();
      }
    }
    return running;
  }

  void write_report(bool final) {
    std::set<std::string> current;
    for (const auto& c : sweep_.configurations)
      current.insert(c.id);
    int left_out = 0;
    const auto table =
        results::aggregate(results::rows_of_configurations(rows_, current, &left_out));
    if (final && left_out > 0)
      spdlog::info("the table leaves out {} rows of configurations no longer in the sweep "
                   "(vfp report --all shows them)",
                   left_out);
    const auto report = confined_folder(ctx_.sweep_dir, {"report"}, true);
    const auto md = results::to_markdown(table);
    write_file_atomically(report / "table.md", md);
    fault_point("report.table"); // test-only (docs/hardening.md): between the table's files
    write_file_atomically(report / "table.csv", results::to_csv(table));
    write_file_atomically(report / "table.tex", results::to_latex(table));
    if (final) {
      std::cout << "\n" << md << std::flush;
      write_report_page(table, current);
    }
  }

  /// The figures and report/index.html, once at the end (the per-configuration refreshes stay
  /// tables only, so that they stay cheap). A figure that fails is a warning, not a failure.
  void write_report_page(const results::Table& table, const std::set<std::string>& current) {
    try {
      const auto page = plots::write_report_page(ctx_.sweep_dir, table,
                                                 results::rows_of_configurations(rows_, current));
      for (const auto& w : page.warnings)
        spdlog::warn("report: {}", w);
      spdlog::info("report: {} ({} figures)", page.index.string(), page.figures.size());
    } catch (const std::exception& e) {
      spdlog::warn("report: the figures and index.html were not written: {}", e.what());
    }
  }

  const sweep::Sweep& sweep_;
  const RunArgs& args_;
  tasks::TaskContext ctx_;
  results::ResultsStore store_;
  int world_size_;
  std::vector<nlohmann::json> rows_; ///< results.jsonl as it grows
  dispatch::Graph graph_;
  int ran_ = 0;
  int skipped_ = 0;
  std::string state_ = "running"; ///< then finished or interrupted (status.json)
  std::chrono::steady_clock::time_point status_written_{};
  bool status_stale_ = false;
  std::chrono::steady_clock::time_point workers_logged_ = std::chrono::steady_clock::now();
  std::map<int, nlohmann::json> ranks_; ///< rank → {"pid", "host"}
};

/// Rank 0 reads the sweep file and shares its text, so every rank expands the same bytes.
std::string broadcast_text(const std::string& text, int rank) {
  long size = rank == 0 ? static_cast<long>(text.size()) : 0;
  MPI_Bcast(&size, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  std::string out = rank == 0 ? text : std::string(static_cast<size_t>(size), '\0');
  MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD);
  return out;
}

/// "pid 12 on host n07 since 2026-11-29T10:00:00Z (SLURM job 42)" from a run lock's note.
std::string describe_holder(const std::string& note) {
  try {
    const auto h = nlohmann::json::parse(note);
    std::string text = "pid " + std::to_string(h.at("pid").get<long>()) + " on host " +
                       h.at("host").get<std::string>() + " since " +
                       h.at("started").get<std::string>();
    if (h.contains("slurm_job"))
      text += " (SLURM job " + h["slurm_job"].get<std::string>() + ")";
    return text;
  } catch (const std::exception&) { // not written yet, or by another version
    return note.empty() ? "another process" : note;
  }
}

/// Rank 0, before anything is written: takes the sweep's run lock (one `vfp run` of a sweep at
/// a time: two would do every task twice and interleave their rows), then removes what an
/// earlier, killed run left half written in the sweep's folder.
void take_sweep_folder(std::optional<RunLock>& lock, const std::filesystem::path& results_root,
                       const std::string& sweep_name) {
  const auto dir = confined_folder(results_root, {sweep_name}, true);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char started[32];
  std::strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc);
  nlohmann::json note = {{"pid", long(::getpid())}, {"host", host}, {"started", started}};
  if (const char* job = std::getenv("SLURM_JOB_ID"); job && *job)
    note["slurm_job"] = job;
  try {
    lock.emplace(dir / "run.lock", note.dump());
  } catch (const LockHeld& e) {
    const auto holder = describe_holder(e.holder());
    throw Error("sweep '" + sweep_name + "' is already being run by " + holder +
                "; two runs at once would do every task twice. Wait for it to end, or stop it "
                "(SIGTERM, scancel) and run this again: it resumes where it stopped (lock: " +
                e.file().string() + ")");
  }
  if (!lock->unsupported().empty())
    spdlog::warn("cannot lock {} ({}): nothing stops a second run of sweep {} at the same time",
                 (dir / "run.lock").string(), lock->unsupported(), sweep_name);
  if (const int removed = remove_stale_temporaries_below(dir))
    spdlog::info("removed {} temporary file(s) that a killed run left half written in {}", removed,
                 dir.string());
}

} // namespace

int threads_for_rank(int ranks_on_node) {
  const int mine = cpus_in_affinity();
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  // Unbound ranks all see every CPU: share them. Bound ranks own what they see.
  if (online > 0 && mine >= online && ranks_on_node > 1)
    return std::max(1, mine / ranks_on_node);
  return mine;
}

int run_command(const RunArgs& args, int* argc, char*** argv) {
  MPI_Init(argc, argv);
  World world;
  MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world.size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &world.ranks_on_node);
  MPI_Comm_rank(node, &world.local_rank);
  // The launcher's own numbering wins when it gives one (what per-rank GPU binding scripts
  // and CUDA_VISIBLE_DEVICES masks follow); the shared-memory split covers other launchers.
  for (const char* variable : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* value = std::getenv(variable); value && *value) {
      world.local_rank = std::atoi(value);
      break;
    }
  MPI_Comm_free(&node);
  log::setup(world.rank, args.log_level);
  // After MPI_Init, which may install handlers of its own: a scheduler's SIGTERM or SIGUSR1
  // (preemption, time limit) stops the sweep at a resumable point instead of killing it.
  install_stop_handlers();

  // Rank 0 validates everything first; on a bad sweep every rank exits with the same code.
  std::string text, error;
  sweep::Sweep sweep;
  std::optional<RunLock> run_lock; // rank 0, until the end
  if (world.rank == 0) {
    try {
      sweep = sweep::load(args.sweep_file, {args.smoke});
      text = read_text_file(args.sweep_file);
      take_sweep_folder(run_lock, args.results_root, sweep.name);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = broadcast_text(error, world.rank);
  if (!error.empty()) {
    if (world.rank == 0)
      std::cerr << "vfp: error: " << error << "\n";
    MPI_Finalize();
    return 1;
  }
  text = broadcast_text(text, world.rank);
  if (world.rank != 0)
    sweep =
        sweep::expand(config::load_yaml_text(text, args.sweep_file), args.sweep_file, {args.smoke});

  tasks::TaskContext ctx;
  // Checked (name, symlinks), created and locked on rank 0 above, before any rank writes there.
  ctx.sweep_dir = std::filesystem::path(args.results_root) / sweep.name;
  ctx.cache_dir = args.cache_dir.empty() ? std::filesystem::path(args.results_root) / "cache"
                                         : std::filesystem::path(args.cache_dir);
  ctx.rank = world.rank;
  ctx.local_rank = world.local_rank;
  // Rank 0 mostly sleeps when there are workers, so the workers share the node's CPUs.
  ctx.threads = threads_for_rank(world.size > 1 ? std::max(1, world.ranks_on_node - 1) : 1);
  spdlog::debug("rank {} of {}: local rank {} of {} on this node, {} thread(s)", world.rank,
                world.size, world.local_rank, world.ranks_on_node, ctx.threads);

  int code = 0;
  try {
    if (world.rank == 0) {
      write_file_atomically(ctx.sweep_dir / "sweep.yaml", text);
      std::vector<std::string> ids;
      for (const auto& c : sweep.configurations)
        ids.push_back(c.id);
      results::save_current_configurations(ctx.sweep_dir, ids);
      Coordinator coordinator(sweep, args, ctx, world.size, *run_lock);
      code = coordinator.run();
    } else {
      dispatch::work([&](const nlohmann::json& a, const dispatch::Heartbeat& beat) {
        return execute(sweep, a, ctx, beat);
      });
    }
  } catch (const Error& e) {
    std::cerr << "vfp: error: " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return code;
}

} // namespace vfp::runner
