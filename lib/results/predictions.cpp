// Out-of-fold predictions: a task's test fold (tasks/<id>/oof.csv) and the pooled set of a
// configuration or a nested selection (configurations|selections/<id>/oof.csv). Every module
// reads them here, with one set of checks.
#include "results/results.h"

#include "core/core.h"

#include <cmath>
#include <limits>
#include <map>
#include <sstream>

namespace vfp::results {

namespace {

/// The columns a reader checks, whichever file it reads. `time`, `age`, `bmi`: absent (npos)
/// in a pooled file of an older vfp, which held no survival columns.
struct Columns {
  std::size_t subject, fold, score, event, time, age, bmi;
};

Columns columns_of(const CsvFile& csv) {
  const auto optional = [&](const char* name) {
    return csv.has_column(name) ? csv.column(name) : std::string::npos;
  };
  return {csv.column("subject_id"), csv.column("fold"), csv.column("score"), csv.column("event"),
          optional("time_years"),   optional("age"),    optional("bmi")};
}

/// One row's common fields, checked; a refused row names the file, its line and the subject,
/// never "row N" of what is computed from it later.
template <typename Fill>
void read_row(const CsvFile& csv, const CsvFile::Row& row, const Columns& c, Fill&& fill) {
  const auto& id = csv.text(row, c.subject);
  const auto where = csv.file + ":" + std::to_string(row.line) + ": subject " + id + ": ";
  try {
    if (id.empty())
      throw InputError(where + "empty subject_id");
    const double event = csv.number(row, c.event);
    if (event != 0 && event != 1)
      throw InputError(where + "event " + csv.text(row, c.event) + " is not 0 or 1");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double time = c.time == std::string::npos ? nan : csv.number(row, c.time);
    if (time < 0) // 0 is a valid time (an event on the day of the scan)
      throw InputError(where + "time_years " + csv.text(row, c.time) + " is negative");
    fill(id, csv.number(row, c.score), int(csv.number(row, c.fold)), int(event), time,
         c.age == std::string::npos ? nan : csv.number(row, c.age),
         c.bmi == std::string::npos ? nan : csv.number(row, c.bmi));
  } catch (const InputError& e) {
    const std::string what = e.what();
    throw InputError(what.rfind(where, 0) == 0 ? what : what + " (subject " + id + ")");
  }
}

} // namespace

std::string predictions_csv(const std::vector<Prediction>& predictions) {
  std::ostringstream csv;
  csv.precision(9);
  // `label` repeats `event`: kept so that files of every vfp version read alike.
  csv << "subject_id,repeat,fold,score,label,age,bmi,event,time_years\n";
  for (const auto& p : predictions)
    csv << csv_field(p.subject_id) << "," << p.repeat << "," << p.fold << "," << p.score << ","
        << p.event << "," << p.age << "," << p.bmi << "," << p.event << "," << p.time_years << "\n";
  return csv.str();
}

std::vector<Prediction> read_predictions(const std::filesystem::path& file) {
  const auto csv = read_csv(file.string());
  const auto c = columns_of(csv);
  const auto repeat = csv.column("repeat");
  std::vector<Prediction> out;
  out.reserve(csv.rows.size());
  for (const auto& row : csv.rows)
    read_row(
        csv, row, c,
        [&](const std::string& id, double score, int fold, int event, double time, double age,
            double bmi) {
          out.push_back({id, int(csv.number(row, repeat)), fold, score, event, age, bmi, time});
        });
  return out;
}

std::vector<PooledSubject> pool_predictions(const SweepFolder& sweep,
                                            const std::vector<std::string>& task_ids) {
  std::map<std::string, PooledSubject> pooled;
  for (const auto& task_id : task_ids)
    for (const auto& read : read_predictions(sweep.task(task_id).predictions)) {
      auto& p = pooled[read.subject_id];
      p.id = read.subject_id;
      p.score += read.score;
      ++p.repeats;
      if (read.repeat == 0)
        p.fold = read.fold;
      p.age = read.age;
      p.bmi = read.bmi;
      p.event = read.event;
      p.time = read.time_years;
    }
  std::vector<PooledSubject> out;
  out.reserve(pooled.size());
  for (auto& [id, p] : pooled) {
    p.score /= p.repeats;
    out.push_back(std::move(p));
  }
  return out;
}

std::string pooled_csv(const std::vector<PooledSubject>& pooled) {
  std::ostringstream csv;
  csv.precision(9);
  csv << "subject_id,fold,score,event,time_years,age,bmi\n";
  for (const auto& p : pooled)
    csv << csv_field(p.id) << "," << p.fold << "," << p.score << "," << p.event << "," << p.time
        << "," << p.age << "," << p.bmi << "\n";
  return csv.str();
}

PooledColumns columns_of(const std::vector<PooledSubject>& pooled) {
  PooledColumns c;
  for (auto* v : {&c.score, &c.time, &c.age, &c.bmi})
    v->reserve(pooled.size());
  c.event.reserve(pooled.size());
  c.fold.reserve(pooled.size());
  for (const auto& p : pooled) {
    c.score.push_back(p.score);
    c.time.push_back(p.time);
    c.age.push_back(p.age);
    c.bmi.push_back(p.bmi);
    c.event.push_back(p.event);
    c.fold.push_back(p.fold);
  }
  return c;
}

std::vector<PooledSubject> read_pooled(const std::filesystem::path& file) {
  const auto csv = read_csv(file.string());
  const auto c = columns_of(csv);
  std::vector<PooledSubject> out;
  out.reserve(csv.rows.size());
  for (const auto& row : csv.rows)
    read_row(csv, row, c,
             [&](const std::string& id, double score, int fold, int event, double time, double age,
                 double bmi) {
               out.push_back({id, score, 0, fold, age, bmi, time, event});
             });
  return out;
}

} // namespace vfp::results
