// `vfp run`'s rank 0: runs the sweep's job graph over the ranks (working itself when alone) and
// keeps results.jsonl, status.json and the table up to date.
#include "coordinator.h"

#include "core/core.h"
#include "data/data.h"
#include "dispatch/dispatch.h"
#include "log/log.h"
#include "plots/plots.h"
#include "results/results.h"
#include "sweep/sweep.h"
#include "tasks/plan.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <unistd.h>

namespace vfp::runner {
namespace {

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
  /// The job graph of what is left to do (tasks::plan_jobs), from the rows and files on disk.
  void build_graph() {
    tasks::OnDisk on_disk;
    on_disk.rows = rows_;
    on_disk.cache_present = [this](const std::string& key) {
      return std::filesystem::exists(data::cache_file(ctx_.cache_dir, key));
    };
    on_disk.pretrained = [this](const std::string& id) {
      return std::filesystem::exists(tasks::pretrain_checkpoint(ctx_, id));
    };
    tasks::PlanOptions options;
    options.workers = world_size_ - 1;
    options.resume = args_.resume;
    auto plan = tasks::plan_jobs(sweep_, tasks::cache_uses(sweep_), on_disk, options);
    graph_ = std::move(plan.graph);
    skipped_ = plan.skipped;
    spdlog::info("sweep {}: {} configurations, {} train_eval tasks{} ({} already done), {} cache "
                 "key(s), {} pretraining(s), {} selection group(s), {} rank(s)",
                 sweep_.name, sweep_.configurations.size(), sweep_.tasks.size(),
                 sweep_.inner_tasks.empty()
                     ? std::string()
                     : " and " + std::to_string(sweep_.inner_tasks.size()) + " inner tasks",
                 skipped_, plan.cache_keys, plan.pretrainings, sweep_.groups.size(), world_size_);
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
    results::FailureRow row;
    static_cast<results::TaskKeys&>(row) = tasks::task_keys(sweep_, task);
    row.kind = job.kind;
    row.task_id = job.id;
    row.status = "failed";
    row.rank = graph_.rank_of(j);
    row.reason = graph_.reason(j);
    row.provenance = tasks::process_provenance(ctx_); // the coordinator's: no device, no start
    row.provenance->ended = tasks::utc_now();
    append(results::to_json(row));
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
    status["hosts"] = hosts();
    status["updated"] = std::time(nullptr);
    write_file_atomically(results::SweepFolder(ctx_.sweep_dir).status(), status.dump(2));
  }

  /// Every rank's host ("0": the coordinator's; a worker's once it has said hello): where
  /// the job ran, also after it ended.
  nlohmann::json hosts() const {
    nlohmann::json out = nlohmann::json::object();
    out["0"] = host_name();
    for (const auto& [rank, hello] : ranks_)
      out[std::to_string(rank)] = hello.value("host", "");
    return out;
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
    const auto md = results::write_tables(ctx_.sweep_dir, table);
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

} // namespace

nlohmann::json execute(const sweep::Sweep& sweep, const nlohmann::json& assignment,
                       tasks::TaskContext ctx, const dispatch::Heartbeat& beat) {
  try {
    ctx.progress = beat;
    return {{"ok", true}, {"row", tasks::run_job(sweep, assignment, ctx)}};
  } catch (const Interrupted& e) {
    spdlog::warn("task {}", e.what());
    return {{"ok", false}, {"interrupted", true}, {"reason", e.what()}};
  } catch (const std::exception& e) {
    spdlog::error("task failed: {}", e.what());
    return {{"ok", false}, {"reason", e.what()}};
  }
}

int coordinate_sweep(const sweep::Sweep& sweep, const RunArgs& args, const tasks::TaskContext& ctx,
                     int world_size, const RunLock& lock) {
  return Coordinator(sweep, args, ctx, world_size, lock).run();
}

} // namespace vfp::runner
