// Typed rows of results.jsonl. Each kind's keys are listed once (the *_fields functions below),
// and the same list drives reading and writing, so the two cannot drift apart.
#include "results/results.h"

#include "core/core.h"

#include <cmath>
#include <limits>

namespace vfp::results {
namespace {

/// A value of the wrong JSON type; the Reader adds the key and the row. In a nested object
/// (provenance) `inner` names the key in it and `inner_type` what that key holds.
struct WrongType {
  const char* expected;
  std::string inner, inner_type;
};

void read(const nlohmann::json& v, Provenance& out); // a nested object: below the Reader
nlohmann::json write(const Provenance& p);

void read(const nlohmann::json& v, std::string& out) {
  if (!v.is_string())
    throw WrongType{"a string"};
  out = v.get<std::string>();
}

void read(const nlohmann::json& v, bool& out) {
  if (!v.is_boolean())
    throw WrongType{"true or false"};
  out = v.get<bool>();
}

/// JSON writes a non-finite number (a NaN AUROC, an overflowing figure) as null.
void read(const nlohmann::json& v, double& out) {
  if (v.is_null())
    out = std::numeric_limits<double>::quiet_NaN();
  else if (v.is_number())
    out = v.get<double>();
  else
    throw WrongType{"a number"};
}

template <class Int, std::enable_if_t<std::is_integral_v<Int>, int> = 0>
void read(const nlohmann::json& v, Int& out) {
  if (!v.is_number_integer())
    throw WrongType{"an integer"};
  out = v.get<Int>();
}

void read(const nlohmann::json& v, nlohmann::json& out) {
  out = v;
}

void read(const nlohmann::json& v, std::vector<std::string>& out) {
  if (!v.is_array())
    throw WrongType{"a list of strings"};
  out.clear();
  for (const auto& s : v) {
    if (!s.is_string())
      throw WrongType{"a list of strings"};
    out.push_back(s.get<std::string>());
  }
}

/// "axes": [[key, value], ...].
void read(const nlohmann::json& v, std::vector<std::pair<std::string, std::string>>& out) {
  if (!v.is_array())
    throw WrongType{"a list of [key, value] strings"};
  out.clear();
  for (const auto& kv : v) {
    if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
      throw WrongType{"a list of [key, value] strings"};
    out.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  }
}

void read(const nlohmann::json& v, std::vector<ExcludedSubject>& out) {
  if (!v.is_array())
    throw WrongType{"a list of {subject, reason}"};
  out.clear();
  for (const auto& e : v) {
    if (!e.is_object() || !e.value("subject", nlohmann::json("")).is_string() ||
        !e.value("reason", nlohmann::json("")).is_string())
      throw WrongType{"a list of {subject, reason}"};
    out.push_back({e.value("subject", ""), e.value("reason", "")});
  }
}

void read(const nlohmann::json& v, std::vector<FoldChoice>& out) {
  if (!v.is_array())
    throw WrongType{"a list of fold choices"};
  out.clear();
  for (const auto& f : v) {
    if (!f.is_object())
      throw WrongType{"a list of fold choices"};
    try {
      out.push_back(fold_choice_from_json(f));
    } catch (const nlohmann::json::exception&) {
      throw WrongType{"a list of fold choices"};
    }
  }
}

void read(const nlohmann::json& v, std::map<std::string, int>& out) {
  if (!v.is_object())
    throw WrongType{"an object of counts"};
  out.clear();
  for (const auto& [key, count] : v.items()) {
    if (!count.is_number_integer())
      throw WrongType{"an object of counts"};
    out[key] = count.get<int>();
  }
}

template <class T> void read(const nlohmann::json& v, std::optional<T>& out) {
  T value{};
  read(v, value);
  out = value;
}

/// Reads the fields a *_fields function names from a row; what it does not name stays in
/// extra().
class Reader {
public:
  explicit Reader(const nlohmann::json& row) : row_(row), extra_(row) {}

  /// A missing key keeps the field's default: a row of an older vfp.
  template <class T> void operator()(const char* key, T& out) {
    extra_.erase(key);
    const auto it = row_.find(key);
    if (it == row_.end())
      return;
    try {
      read(*it, out);
    } catch (const WrongType& wrong) {
      const bool nested = !wrong.inner.empty();
      throw InputError(where() + ": '" + key + (nested ? "." + wrong.inner : "") + "' is " +
                       (nested ? wrong.inner_type : it->type_name()) + ", expected " +
                       wrong.expected);
    }
  }
  void omit_empty(const char* key, std::string& out) { (*this)(key, out); }
  void flag(const char* key, bool& out) { (*this)(key, out); }

  nlohmann::json extra() const { return extra_; }

private:
  std::string where() const {
    const auto text = [&](const char* key) {
      const auto it = row_.find(key);
      return it != row_.end() && it->is_string() ? it->get<std::string>() : std::string("?");
    };
    return "results row of task " + text("task_id") + " (kind " + text("kind") + ")";
  }

  const nlohmann::json& row_;
  nlohmann::json extra_;
};

nlohmann::json write(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json write(const std::vector<ExcludedSubject>& excluded) {
  auto out = nlohmann::json::array();
  for (const auto& e : excluded)
    out.push_back({{"subject", e.subject}, {"reason", e.reason}});
  return out;
}

nlohmann::json write(const std::vector<FoldChoice>& folds) {
  auto out = nlohmann::json::array();
  for (const auto& c : folds)
    out.push_back(to_json(c));
  return out;
}

template <class T> nlohmann::json write(const T& v) {
  return nlohmann::json(v);
}

/// Writes the fields a *_fields function names over the row's unknown keys.
class Writer {
public:
  explicit Writer(const nlohmann::json& extra)
      : out_(extra.is_object() ? extra : nlohmann::json::object()) {}

  template <class T> void operator()(const char* key, const T& v) { out_[key] = write(v); }
  /// Unset: the key is not written (a row that never had it).
  template <class T> void operator()(const char* key, const std::optional<T>& v) {
    if (v)
      out_[key] = write(*v);
  }
  void omit_empty(const char* key, const std::string& v) {
    if (!v.empty())
      out_[key] = v;
  }
  void flag(const char* key, bool v) {
    if (v)
      out_[key] = true;
  }

  nlohmann::json take() { return std::move(out_); }

private:
  nlohmann::json out_;
};

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

/// Reads a nested object's fields; a wrong type names the key in it (WrongType::inner).
class NestedReader {
public:
  explicit NestedReader(const nlohmann::json& object) : object_(object), extra_(object) {}
  template <class T> void operator()(const char* key, T& out) {
    extra_.erase(key);
    const auto it = object_.find(key);
    if (it == object_.end())
      return;
    try {
      read(*it, out);
    } catch (const WrongType& wrong) {
      throw WrongType{wrong.expected, key, it->type_name()};
    }
  }
  void omit_empty(const char* key, std::string& out) { (*this)(key, out); }
  nlohmann::json extra() const { return extra_; }

private:
  const nlohmann::json& object_;
  nlohmann::json extra_;
};

void read(const nlohmann::json& v, Provenance& out) {
  if (!v.is_object())
    throw WrongType{"an object"};
  out = Provenance{};
  NestedReader reader(v);
  provenance_fields(reader, out);
  out.extra = reader.extra();
}

nlohmann::json write(const Provenance& p) {
  Writer writer(p.extra);
  provenance_fields(writer, p);
  return writer.take();
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
  Reader reader(j);
  fields(reader, row, &row);
  row.extra = reader.extra();
}

template <class Row> nlohmann::json unparse(const Row& row) {
  Writer writer(row.extra);
  fields(writer, row, &row);
  return writer.take();
}

std::string string_at(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

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
  return write(provenance);
}

std::vector<Row> typed_rows(const std::vector<nlohmann::json>& rows) {
  std::vector<Row> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(row_from_json(r));
  return out;
}

} // namespace vfp::results
