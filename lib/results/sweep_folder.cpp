// results/<sweep>/: where each file of a sweep's results lives. Named here and nowhere else.
#include "results/results.h"

#include "core/core.h"

#include <algorithm>

namespace vfp::results {

namespace fs = std::filesystem;

SweepFolder SweepFolder::of_sweep(const fs::path& results_root, const std::string& sweep_name,
                                  bool create) {
  return SweepFolder(
      confined_folder(results_root, {checked_path_component(sweep_name, "sweep name")}, create));
}

std::string SweepFolder::name() const {
  // results/<sweep>/ (a trailing separator) names the same folder as results/<sweep>.
  return root_.filename().empty() ? root_.parent_path().filename().string()
                                  : root_.filename().string();
}

TaskFiles SweepFolder::task(const std::string& task_id, bool create) const {
  TaskFiles t;
  t.folder = confined_folder(root_, {"tasks", checked_path_component(task_id, "task id")}, create);
  t.config = t.folder / "config.json";
  t.log = t.folder / "log.txt";
  t.model = t.folder / "model.safetensors";
  t.checkpoint = t.folder / "checkpoint.pt";
  t.predictions = t.folder / "oof.csv";
  t.history = t.folder / "history.csv";
  return t;
}

PretrainFiles SweepFolder::pretrain(const std::string& pretrain_id, bool create) const {
  PretrainFiles p;
  p.folder = confined_folder(
      root_, {"pretrain", checked_path_component(pretrain_id, "pretraining id")}, create);
  p.config = p.folder / "config.json";
  p.log = p.folder / "log.txt";
  p.history = p.folder / "history.csv";
  p.weights = p.folder / "byol.safetensors";
  p.progress = p.folder / "progress.pt";
  return p;
}

namespace {
PooledFiles pooled_files(fs::path folder, const char* analysis) {
  PooledFiles p;
  p.folder = std::move(folder);
  p.predictions = p.folder / "oof.csv";
  p.analysis = p.folder / analysis;
  return p;
}
} // namespace

PooledFiles SweepFolder::configuration(const std::string& config_id, bool create) const {
  return pooled_files(
      confined_folder(
          root_, {"configurations", checked_path_component(config_id, "configuration id")}, create),
      "cox.json");
}

PooledFiles SweepFolder::selection(const std::string& group_id, bool create) const {
  return pooled_files(
      confined_folder(root_, {"selections", checked_path_component(group_id, "selection id")},
                      create),
      "selection.json");
}

ReportFiles SweepFolder::report(bool create) const {
  ReportFiles r;
  r.folder = confined_folder(root_, {"report"}, create);
  r.figures = confined_folder(root_, {"report", "figures"}, create);
  r.index = r.folder / "index.html";
  r.table_md = r.folder / "table.md";
  r.table_csv = r.folder / "table.csv";
  r.table_tex = r.folder / "table.tex";
  return r;
}

std::vector<TaskFiles> SweepFolder::task_folders() const {
  const auto tasks = tasks_folder();
  std::vector<std::string> ids;
  if (fs::is_directory(tasks))
    for (const auto& entry : fs::directory_iterator(tasks)) {
      refuse_symlink(entry.path(), root_); // would read a model from outside the results
      if (entry.is_directory())
        ids.push_back(entry.path().filename().string());
    }
  std::sort(ids.begin(), ids.end());
  std::vector<TaskFiles> out;
  out.reserve(ids.size());
  for (const auto& id : ids)
    out.push_back(task(id));
  return out;
}

std::string write_tables(const SweepFolder& sweep, const Table& table) {
  const auto files = sweep.report(true);
  auto markdown = to_markdown(table);
  write_file_atomically(files.table_md, markdown);
  fault_point("report.table"); // test-only (docs/hardening.md): between the table's files
  write_file_atomically(files.table_csv, to_csv(table));
  write_file_atomically(files.table_tex, to_latex(table));
  return markdown;
}

} // namespace vfp::results
