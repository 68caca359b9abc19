// `vfp run`: rank 0 coordinates (and works when alone), other ranks work.
#include "commands.h"
#include "protocol.h"

#include "core/core.h"
#include "data/data.h"
#include "log/log.h"
#include "results/results.h"
#include "sweep/sweep.h"
#include "tasks/tasks.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
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

/// One unit of work in the coordinator's graph.
struct Node {
  std::string kind; // preprocess_shard | preprocess | pretrain | train_eval
  int index = 0;    // configuration (preprocess*) or task index (pretrain: a task that needs it)
  int shard = 0;    // preprocess_shard: which block of the cohort
  int shards = 0;   // preprocess_shard: of how many; preprocess: merge that many (0: build alone)
  std::string id;
  std::vector<int> depends_on; // node indices
  enum State { kWaiting, kRunning, kDone, kFailed } state = kWaiting;
  int attempts = 0;
  int rank = -1;
  std::string reason;
};

/// Runs one assignment on this rank; never throws (a failure becomes a reason).
nlohmann::json execute(const sweep::Sweep& sweep, const nlohmann::json& assignment,
                       const tasks::TaskContext& ctx) {
  try {
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
    else
      row = tasks::run_train_eval(sweep, sweep.tasks.at(index), ctx);
    return {{"ok", true}, {"row", row}};
  } catch (const std::exception& e) {
    spdlog::error("task failed: {}", e.what());
    return {{"ok", false}, {"reason", e.what()}};
  }
}

void worker_loop(const sweep::Sweep& sweep, const tasks::TaskContext& ctx) {
  send_text("", 0, kReady);
  for (;;) {
    const auto status = wait_for_message(0);
    const auto text = receive_text(status);
    if (status.MPI_TAG == kStop)
      return;
    const auto result = execute(sweep, nlohmann::json::parse(text), ctx);
    send_text(result.dump(), 0, kResult);
  }
}

class Coordinator {
public:
  Coordinator(const sweep::Sweep& sweep, const RunArgs& args, const tasks::TaskContext& ctx,
              int world_size)
      : sweep_(sweep), args_(args), ctx_(ctx), store_(ctx.sweep_dir), world_size_(world_size) {}

  int run() {
    build_graph();
    const auto t0 = std::chrono::steady_clock::now();
    std::deque<int> idle;
    std::map<int, int> running_on; // rank → node
    int stopped = 0;
    const int workers = world_size_ - 1;
    while (true) {
      const bool work_left = any_unfinished();
      // Hand ready nodes to idle workers.
      while (!idle.empty()) {
        int n = next_ready();
        if (n < 0)
          break;
        int w = idle.front();
        idle.pop_front();
        start(n, w);
        running_on[w] = n;
        send_text(assignment(n).dump(), w, kAssign);
      }
      if (!work_left) {
        while (!idle.empty()) {
          send_text("", idle.front(), kStop);
          idle.pop_front();
          ++stopped;
        }
        if (stopped == workers)
          break;
      }
      if (workers == 0) { // alone: the coordinator works
        int n = next_ready();
        if (n < 0)
          break;
        start(n, 0);
        finish(n, execute(sweep_, assignment(n), ctx_));
        continue;
      }
      const auto status = wait_for_message(MPI_ANY_SOURCE);
      const auto text = receive_text(status);
      const int w = status.MPI_SOURCE;
      if (status.MPI_TAG == kResult) {
        finish(running_on.at(w), nlohmann::json::parse(text));
        running_on.erase(w);
      }
      idle.push_back(w);
    }
    write_report();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int failed = 0;
    for (const auto& n : nodes_)
      failed += n.state == Node::kFailed ? 1 : 0;
    spdlog::info(
        "sweep {} finished in {:.1f} s: {} tasks run, {} skipped (already done), {} failed",
        sweep_.name, secs, ran_, skipped_, failed);
    for (const auto& n : nodes_)
      if (n.state == Node::kFailed)
        spdlog::error("{} task {} failed: {}", n.kind, n.id, n.reason);
    return failed == 0 ? 0 : 1;
  }

private:
  nlohmann::json assignment(int n) const {
    const auto& node = nodes_[n];
    return {
        {"kind", node.kind}, {"index", node.index}, {"shard", node.shard}, {"shards", node.shards}};
  }

  /// How many blocks a missing cache is preprocessed in: one per worker, so that ranks split
  /// the subjects; none (a single build) when alone, when it exists, or for tiny cohorts.
  int shards_for(const std::string& key, size_t subjects) const {
    const int workers = world_size_ - 1;
    if (workers < 2 || subjects < size_t(2 * workers))
      return 0;
    return std::filesystem::exists(data::cache_file(ctx_.cache_dir, key)) ? 0 : workers;
  }

  void build_graph() {
    const auto finished = args_.resume ? store_.finished_task_ids() : std::set<std::string>{};
    // One preprocess node per distinct cache key, shared by every configuration that uses it.
    std::map<std::string, int> node_of_key;
    std::vector<int> prep_of_config(sweep_.configurations.size(), -1);
    for (size_t c = 0; c < sweep_.configurations.size(); ++c) {
      const auto& cfg = sweep_.configurations[c].config;
      std::vector<data::Exclusion> excluded;
      const auto subjects = data::read_cohort(cfg, &excluded);
      const auto key = data::cache_key(cfg, subjects);
      if (!node_of_key.count(key)) {
        Node merge;
        merge.kind = "preprocess";
        merge.index = static_cast<int>(c);
        merge.id = "preprocess-" + key;
        merge.shards = shards_for(key, subjects.size());
        for (int s = 0; s < merge.shards; ++s) {
          Node shard = merge;
          shard.kind = "preprocess_shard";
          shard.shard = s;
          shard.id = merge.id + "-shard-" + std::to_string(s);
          merge.depends_on.push_back(static_cast<int>(nodes_.size()));
          nodes_.push_back(shard);
        }
        node_of_key[key] = static_cast<int>(nodes_.size());
        nodes_.push_back(merge);
      }
      prep_of_config[c] = node_of_key[key];
    }
    const size_t preprocessing_nodes = nodes_.size();
    std::vector<bool> prep_needed(nodes_.size(), false);
    // One pretrain node per distinct BYOL pretraining, shared by the tasks that load it.
    std::map<std::string, int> node_of_pretraining;
    std::set<int> pretraining_needed;
    for (size_t t = 0; t < sweep_.tasks.size(); ++t) {
      const auto& task = sweep_.tasks[t];
      const auto& cfg = sweep_.configurations[task.configuration].config;
      const int prep = prep_of_config[task.configuration];
      int pretraining = -1;
      if (cfg.runs_pretraining()) {
        const auto id = tasks::pretrain_id(cfg, task);
        if (!node_of_pretraining.count(id)) {
          Node p;
          p.kind = "pretrain";
          p.index = static_cast<int>(t);
          p.id = id;
          p.depends_on = {prep};
          node_of_pretraining[id] = static_cast<int>(nodes_.size());
          nodes_.push_back(p);
        }
        pretraining = node_of_pretraining[id];
      }
      Node n;
      n.kind = "train_eval";
      n.index = static_cast<int>(t);
      n.id = task.id;
      n.depends_on = {prep};
      if (pretraining >= 0)
        n.depends_on.push_back(pretraining);
      if (finished.count(task.id)) {
        n.state = Node::kDone;
        ++skipped_;
      } else {
        prep_needed[size_t(prep)] = true;
        if (pretraining >= 0)
          pretraining_needed.insert(pretraining);
      }
      nodes_.push_back(n);
    }
    // A cache no remaining task needs is not built (nor are its shards); a pretraining whose
    // checkpoint exists (written atomically, so complete) or that no task needs is not run.
    for (size_t i = 0; i < preprocessing_nodes; ++i)
      if (nodes_[i].kind == "preprocess" && !prep_needed[i]) {
        nodes_[i].state = Node::kDone;
        for (int s : nodes_[i].depends_on)
          nodes_[size_t(s)].state = Node::kDone;
      }
    for (const auto& [id, i] : node_of_pretraining)
      if (!pretraining_needed.count(i) ||
          std::filesystem::exists(tasks::pretrain_checkpoint(ctx_, id)))
        nodes_[size_t(i)].state = Node::kDone;
    spdlog::info("sweep {}: {} configurations, {} train_eval tasks ({} already done), {} cache "
                 "key(s), {} pretraining(s), {} rank(s)",
                 sweep_.name, sweep_.configurations.size(), sweep_.tasks.size(), skipped_,
                 node_of_key.size(), node_of_pretraining.size(), world_size_);
    write_status();
  }

  bool any_unfinished() const {
    for (const auto& n : nodes_)
      if (n.state == Node::kWaiting || n.state == Node::kRunning)
        return true;
    return false;
  }

  int next_ready() const {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const auto& n = nodes_[i];
      if (n.state == Node::kWaiting &&
          std::all_of(n.depends_on.begin(), n.depends_on.end(),
                      [&](int d) { return nodes_[size_t(d)].state == Node::kDone; }))
        return static_cast<int>(i);
    }
    return -1;
  }

  void start(int n, int rank) {
    nodes_[n].state = Node::kRunning;
    nodes_[n].rank = rank;
    ++nodes_[n].attempts;
    spdlog::info("rank {} starts {} {}", rank, nodes_[n].kind, nodes_[n].id);
  }

  void finish(int n, const nlohmann::json& result) {
    auto& node = nodes_[n];
    ++ran_;
    if (result.at("ok").get<bool>()) {
      node.state = Node::kDone;
      auto row = result.at("row");
      row["status"] = "ok";
      row["rank"] = node.rank;
      row["finished"] = std::time(nullptr);
      if (node.kind == "train_eval") {
        store_.append(row);
        spdlog::info("done {} (fold {}): AUROC {:.3f}, AUPRC {:.3f}, {} epochs, {:.1f} s", node.id,
                     row.value("fold", -1), row.value("auroc", 0.0), row.value("auprc", 0.0),
                     row.value("epochs", 0), row.value("seconds", 0.0));
      } else if (node.kind == "pretrain" && !row.value("reused", false)) {
        store_.append(row); // provenance: tables read train_eval rows only
        spdlog::info("done {}: BYOL on {} patches, {} epochs, final loss {:.4f}, {:.1f} s", node.id,
                     row.value("patches", 0), row.value("epochs", 0), row.value("final_loss", 0.0),
                     row.value("seconds", 0.0));
      }
    } else {
      node.reason = result.at("reason").get<std::string>();
      if (node.attempts <= args_.retries) {
        spdlog::warn("{} {} failed on rank {} (attempt {}), will retry: {}", node.kind, node.id,
                     node.rank, node.attempts, node.reason);
        node.state = Node::kWaiting;
      } else {
        fail(n, node.reason);
      }
    }
    write_status();
  }

  /// Records a failure, and fails every node waiting on it with the reason.
  void fail(int n, const std::string& reason) {
    auto& node = nodes_[n];
    node.state = Node::kFailed;
    node.reason = reason;
    if (node.kind == "train_eval") {
      const auto& task = sweep_.tasks[node.index];
      store_.append({{"kind", "train_eval"},
                     {"task_id", node.id},
                     {"config_id", sweep_.configurations[task.configuration].id},
                     {"config_index", task.configuration},
                     {"fold", task.fold},
                     {"repeat", task.repeat},
                     {"status", "failed"},
                     {"rank", node.rank},
                     {"reason", reason}});
    }
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].state == Node::kWaiting &&
          std::count(nodes_[i].depends_on.begin(), nodes_[i].depends_on.end(), n) > 0)
        fail(static_cast<int>(i), "its " + node.kind + " task failed: " + reason);
  }

  void write_status() {
    int counts[4] = {0, 0, 0, 0};
    nlohmann::json running = nlohmann::json::array();
    for (const auto& n : nodes_) {
      ++counts[n.state];
      if (n.state == Node::kRunning)
        running.push_back({{"rank", n.rank}, {"kind", n.kind}, {"task", n.id}});
    }
    nlohmann::json status = {{"sweep", sweep_.name},
                             {"total", nodes_.size()},
                             {"waiting", counts[Node::kWaiting]},
                             {"running", counts[Node::kRunning]},
                             {"done", counts[Node::kDone]},
                             {"failed", counts[Node::kFailed]},
                             {"workers", running},
                             {"updated", std::time(nullptr)}};
    write_file_atomically(ctx_.sweep_dir / "status.json", status.dump(2));
  }

  void write_report() {
    std::set<std::string> current;
    for (const auto& c : sweep_.configurations)
      current.insert(c.id);
    int left_out = 0;
    const auto table =
        results::aggregate(results::rows_of_configurations(store_.rows(), current, &left_out));
    if (left_out > 0)
      spdlog::info("the table leaves out {} rows of configurations no longer in the sweep "
                   "(vfp report --all shows them)",
                   left_out);
    const auto report = ctx_.sweep_dir / "report";
    std::filesystem::create_directories(report);
    const auto md = results::to_markdown(table);
    write_file_atomically(report / "table.md", md);
    write_file_atomically(report / "table.csv", results::to_csv(table));
    std::cout << "\n" << md << std::flush;
  }

  const sweep::Sweep& sweep_;
  const RunArgs& args_;
  tasks::TaskContext ctx_;
  results::ResultsStore store_;
  int world_size_;
  std::vector<Node> nodes_;
  int ran_ = 0;
  int skipped_ = 0;
};

/// Rank 0 reads the sweep file and shares its text, so every rank expands the same bytes.
std::string broadcast_text(const std::string& text, int rank) {
  long size = rank == 0 ? static_cast<long>(text.size()) : 0;
  MPI_Bcast(&size, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  std::string out = rank == 0 ? text : std::string(static_cast<size_t>(size), '\0');
  MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD);
  return out;
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
  MPI_Comm_free(&node);
  log::setup(world.rank, args.log_level);

  // Rank 0 validates everything first; on a bad sweep every rank exits with the same code.
  std::string text, error;
  sweep::Sweep sweep;
  if (world.rank == 0) {
    try {
      sweep = sweep::load(args.sweep_file);
      text = read_text_file(args.sweep_file);
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
    sweep = sweep::expand(YAML::Load(text), args.sweep_file);

  tasks::TaskContext ctx;
  ctx.sweep_dir = std::filesystem::path(args.results_root) / sweep.name;
  ctx.cache_dir = args.cache_dir.empty() ? std::filesystem::path(args.results_root) / "cache"
                                         : std::filesystem::path(args.cache_dir);
  ctx.rank = world.rank;
  ctx.local_rank = world.local_rank;
  // Rank 0 mostly sleeps when there are workers, so the workers share the node's CPUs.
  ctx.threads = threads_for_rank(world.size > 1 ? std::max(1, world.ranks_on_node - 1) : 1);
  spdlog::debug("rank {} of {}: {} thread(s)", world.rank, world.size, ctx.threads);

  int code = 0;
  try {
    if (world.rank == 0) {
      std::filesystem::create_directories(ctx.sweep_dir);
      write_file_atomically(ctx.sweep_dir / "sweep.yaml", text);
      std::vector<std::string> ids;
      for (const auto& c : sweep.configurations)
        ids.push_back(c.id);
      results::save_current_configurations(ctx.sweep_dir, ids);
      Coordinator coordinator(sweep, args, ctx, world.size);
      code = coordinator.run();
    } else {
      worker_loop(sweep, ctx);
    }
  } catch (const Error& e) {
    std::cerr << "vfp: error: " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return code;
}

} // namespace vfp::runner
