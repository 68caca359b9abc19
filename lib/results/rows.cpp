// Typed rows of results.jsonl. Each kind's keys are listed once (the *_fields functions below),
// and the same list drives reading and writing (row_io.h), so the two cannot drift apart.
#include "results/results.h"

#include "core/core.h"
#include "row_io.h"

namespace vfp::results {
namespace {

// Each kind's keys, once. `R` is the row type, const when writing.

template <class Io, class R> void header_fields(Io& io, R& r) {
  io("kind", r.kind);
  io("task_id", r.task_id);
  io.omit_empty("status", r.status); // set by the coordinator when it records the row
  io("rank", r.rank);
  io("finished", r.finished);
  io("seconds", r.seconds);
  io("provenance", r.provenance);
}

template <class Io, class P> void provenance_fields(Io& io, P& p) {
  io("version", p.version);
  io.omit_empty("libtorch", p.libtorch);
  io.omit_empty("device", p.device);
  io.omit_empty("device_name", p.device_name);
  io.omit_empty("cuda", p.cuda);
  io.omit_empty("cudnn", p.cudnn);
  io.omit_empty("host", p.host);
  io("world_size", p.world_size);
  io.omit_empty("slurm_job_id", p.slurm_job_id);
  io.omit_empty("slurm_array_job_id", p.slurm_array_job_id);
  io.omit_empty("slurm_array_task_id", p.slurm_array_task_id);
  io("slurm_restart_count", p.slurm_restart_count);
  io.omit_empty("started", p.started);
  io.omit_empty("ended", p.ended);
}

template <class Io, class R> void task_fields(Io& io, R& r) {
  io("config_id", r.config_id);
  io("config_index", r.config_index);
  io("axes", r.axes);
  io("fold", r.fold);
  io("repeat", r.repeat);
  io("expected_folds", r.expected_folds);
  io("inner_fold", r.inner_fold);
  io("inner_folds", r.inner_folds);
}

template <class Io, class R> void analysis_fields(Io& io, R& r) {
  io("subjects", r.subjects);
  io("pooled", r.pooled);
  io("calibration", r.calibration);
  io.omit_empty("calibration_note", r.calibration_note);
  io("survival", r.survival);
  io.omit_empty("survival_note", r.survival_note);
}

template <class Io, class R> void fields(Io& io, R& r, const TrainEvalRow*) {
  header_fields(io, r);
  task_fields(io, r);
  io("seed", r.seed);
  io("auroc", r.auroc);
  io("auprc", r.auprc);
  io("loss", r.loss);
  io("n_test", r.n_test);
  io("n_test_positive", r.n_test_positive);
  io("best_epoch", r.best_epoch);
  io("epochs", r.epochs);
  io("resumed_from_epoch", r.resumed_from_epoch);
  io("best_val_auroc", r.best_val_auroc);
  io("best_val_auprc", r.best_val_auprc);
  io("best_val_loss", r.best_val_loss);
  io("aggregation", r.aggregation);
  io("threads", r.threads);
  io("train_seconds", r.train_seconds);
  io("data_wait_share", r.data_wait_share);
  io("overhead_share", r.overhead_share);
  io.flag("constant_scores", r.constant_scores);
  io("excluded", r.excluded);
}

template <class Io, class R> void fields(Io& io, R& r, const FailureRow*) {
  header_fields(io, r);
  task_fields(io, r);
  io("reason", r.reason);
}

template <class Io, class R> void fields(Io& io, R& r, const PretrainRow*) {
  header_fields(io, r);
  io("checkpoint", r.checkpoint);
  io.flag("reused", r.reused);
  io("seed", r.seed);
  io("patches", r.patches);
  io("epochs", r.epochs);
  io("steps", r.steps);
  io("resumed_from_epoch", r.resumed_from_epoch);
  io("final_loss", r.final_loss);
  io("threads", r.threads);
}

template <class Io, class R> void fields(Io& io, R& r, const CoxRow*) {
  header_fields(io, r);
  io("config_id", r.config_id);
  io("config_index", r.config_index);
  analysis_fields(io, r);
}

template <class Io, class R> void fields(Io& io, R& r, const SelectionRow*) {
  header_fields(io, r);
  io("members", r.members);
  io("over", r.over);
  io("metric", r.metric);
  io("inner_folds", r.inner_folds);
  io("axes", r.axes);
  io("folds", r.folds);
  io("wins", r.wins);
  analysis_fields(io, r);
}

template <class Io, class R> void fields(Io& io, R& r, const OtherRow*) {
  header_fields(io, r);
}

template <class Row> void parse(const nlohmann::json& j, Row& row) {
  if (!j.is_object())
    throw InputError("results row: not a JSON object: " + j.dump().substr(0, 200));
  row = Row{};
  row_io::Reader reader(j);
  fields(reader, row, &row);
  row.extra = reader.extra();
}

template <class Row> nlohmann::json unparse(const Row& row) {
  row_io::Writer writer(row.extra);
  fields(writer, row, &row);
  return writer.take();
}

std::string string_at(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

// row_io's nested object: its keys are provenance_fields above.
void row_io::read(const nlohmann::json& v, Provenance& out) {
  if (!v.is_object())
    throw WrongType{"an object"};
  out = Provenance{};
  NestedReader reader(v);
  provenance_fields(reader, out);
  out.extra = reader.extra();
}

nlohmann::json row_io::write(const Provenance& p) {
  Writer writer(p.extra);
  provenance_fields(writer, p);
  return writer.take();
}

void from_json(const nlohmann::json& j, TrainEvalRow& row) {
  parse(j, row);
}
void from_json(const nlohmann::json& j, FailureRow& row) {
  parse(j, row);
}
void from_json(const nlohmann::json& j, PretrainRow& row) {
  parse(j, row);
}
void from_json(const nlohmann::json& j, CoxRow& row) {
  parse(j, row);
}
void from_json(const nlohmann::json& j, SelectionRow& row) {
  parse(j, row);
}
void from_json(const nlohmann::json& j, OtherRow& row) {
  parse(j, row);
}
nlohmann::json to_json(const TrainEvalRow& row) {
  return unparse(row);
}
nlohmann::json to_json(const FailureRow& row) {
  return unparse(row);
}
nlohmann::json to_json(const PretrainRow& row) {
  return unparse(row);
}
nlohmann::json to_json(const CoxRow& row) {
  return unparse(row);
}
nlohmann::json to_json(const SelectionRow& row) {
  return unparse(row);
}
nlohmann::json to_json(const OtherRow& row) {
  return unparse(row);
}

Row row_from_json(const nlohmann::json& j) {
  const auto kind = j.is_object() ? string_at(j, "kind") : std::string();
  const auto status = j.is_object() ? string_at(j, "status") : std::string();
  Row row;
  if (kind == "train_eval" || kind == "inner") {
    // The coordinator's row for a task that failed for good; a success is recorded "ok".
    if (!status.empty() && status != "ok")
      row.emplace<FailureRow>();
    else
      row.emplace<TrainEvalRow>();
  } else if (kind == "pretrain") {
    row.emplace<PretrainRow>();
  } else if (kind == "cox") {
    row.emplace<CoxRow>();
  } else if (kind == "selection") {
    row.emplace<SelectionRow>();
  } else {
    row.emplace<OtherRow>();
  }
  std::visit([&](auto& typed) { parse(j, typed); }, row);
  return row;
}

nlohmann::json to_json(const Row& row) {
  return std::visit([](const auto& typed) { return unparse(typed); }, row);
}

const RowHeader& header_of(const Row& row) {
  return std::visit([](const auto& typed) -> const RowHeader& { return typed; }, row);
}

nlohmann::json to_json(const Provenance& provenance) {
  return row_io::write(provenance);
}

std::vector<Row> typed_rows(const std::vector<nlohmann::json>& rows) {
  std::vector<Row> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(row_from_json(r));
  return out;
}

} // namespace vfp::results
