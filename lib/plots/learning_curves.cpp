// Learning curves: each outer task's history.csv (one line per epoch, tasks/train_eval.cpp) as
// training loss, validation loss and validation AUROC per epoch, in three panels of one figure:
// one line per task (colour: its fold, dash: its repeat), the epoch early stopping kept marked.
#include "report.h"

#include "core/core.h"
#include "gnuplot.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

namespace vfp::plots {

namespace fs = std::filesystem;

namespace {

/// A history cell as a number: "nan" (a validation split with one class has no AUROC) and
/// "inf" read as NaN, a missing point; anything else that is not a number is an InputError.
double history_value(const CsvFile& csv, const CsvFile::Row& row, std::size_t column) {
  const auto& text = csv.text(row, column);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    throw InputError(csv.file + ":" + std::to_string(row.line) + ": column '" + csv.header[column] +
                     "' holds '" + text + "', not a number");
  return std::isfinite(v) ? v : std::nan("");
}

/// The epoch with the highest validation AUROC (the first of equals), for a row without
/// best_epoch (a row of an older vfp); 0 when no epoch has one.
int highest_auroc_epoch(const FoldHistory& h) {
  int best = 0;
  double top = -1;
  for (std::size_t i = 0; i < h.epoch.size(); ++i)
    if (std::isfinite(h.val_auroc[i]) && h.val_auroc[i] > top) {
      top = h.val_auroc[i];
      best = h.epoch[i];
    }
  return best;
}

/// Fold colours: Okabe–Ito without yellow, then three of Paul Tol's, so that ten folds stay
/// apart; more folds repeat them.
const std::vector<std::string>& fold_colours() {
  static const std::vector<std::string> colours{"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                "#E69F00", "#56B4E9", "#000000", "#882255",
                                                "#44AA99", "#999933"};
  return colours;
}

std::string cell(double v) {
  return std::isfinite(v) ? num(v) : "?";
}

/// One panel of the figure: its place on the canvas (screen fractions), title and y column.
struct Panel {
  double left, right, top, bottom;
  const char* title; ///< also what the y axis shows
  int column;        ///< of the data file
};

/// The script lines of one panel: margins, labels, and every task's line and best epoch.
std::string panel_script(const Panel& p, const std::string& file, bool has_values,
                         const std::string& extra_clauses) {
  std::ostringstream gp;
  const auto col = std::to_string(p.column);
  gp << "\n# " << p.title << "\n"
     << "set lmargin at screen " << num(p.left) << "\nset rmargin at screen " << num(p.right)
     << "\nset tmargin at screen " << num(p.top) << "\nset bmargin at screen " << num(p.bottom)
     << "\nset title " << gp_quote(p.title) << "\n";
  if (!has_values) // gnuplot stops at a plot without one valid point
    gp << "set yrange [0:1]\nset label 1 'no finite value in any epoch' at graph 0.5, graph 0.5 "
          "center\n";
  gp << "plot for [i=1:series] " << gp_quote(file) << " index i-1 using 1:" << col
     << " with linespoints lw 1.5 pt 7 ps 0.35 dt int(word(dashes, i)) lc rgb word(colours, i) "
        "notitle, \\\n     for [i=1:series] "
     << gp_quote(file) << " index i-1 using 1:($5 > 0 ? $" << col
     << " : 1/0) with points pt 6 ps 1.8 lw 2 lc rgb word(colours, i) notitle" << extra_clauses
     << "\n";
  if (!has_values)
    gp << "unset label 1\nset yrange [*:*]\n";
  return gp.str();
}

/// The key's entries: a colour per fold, a dash type per repeat (when there are several), and
/// the best-epoch mark; as clauses after a panel's plot.
std::string key_entries(const std::set<int>& folds, const std::set<int>& repeats) {
  std::ostringstream gp;
  const auto& colours = fold_colours();
  int k = 0;
  for (int fold : folds)
    gp << ", \\\n     keyentry with lines lw 2.5 lc rgb \""
       << colours[std::size_t(k++) % colours.size()] << "\" title "
       << gp_quote("fold " + std::to_string(fold));
  if (repeats.size() > 1) {
    int r = 0;
    for (int repeat : repeats)
      gp << ", \\\n     keyentry with lines lw 2.5 dt " << 1 + r++ % 5
         << " lc rgb \"#555555\" title " << gp_quote("repeat " + std::to_string(repeat));
  }
  gp << ", \\\n     keyentry with points pt 6 ps 1.8 lw 2 lc rgb \"#333333\" title "
        "'best epoch (kept)'";
  return gp.str();
}

bool any_finite(const LearningInput& in, std::vector<double> FoldHistory::*values) {
  for (const auto& f : in.folds)
    for (double v : f.*values)
      if (std::isfinite(v))
        return true;
  return false;
}

} // namespace

FoldHistory read_history(const fs::path& file) {
  CsvFormat format;
  format.what = "history file";
  format.expected = "epoch,train_loss,val_auroc,val_loss,…";
  format.required = {"epoch", "train_loss", "val_auroc", "val_loss"};
  const auto csv = read_csv(file.string(), format);
  FoldHistory h;
  const auto epoch = csv.column("epoch"), train = csv.column("train_loss"),
             auroc = csv.column("val_auroc"), loss = csv.column("val_loss");
  for (const auto& row : csv.rows) {
    const double e = csv.number(row, epoch);
    if (e != std::floor(e) || e < 0 || (!h.epoch.empty() && int(e) <= h.epoch.back()))
      throw InputError(csv.file + ":" + std::to_string(row.line) + ": epoch '" +
                       csv.text(row, epoch) + "' is not a whole number above the one before");
    h.epoch.push_back(int(e));
    h.train_loss.push_back(history_value(csv, row, train));
    h.val_auroc.push_back(history_value(csv, row, auroc));
    h.val_loss.push_back(history_value(csv, row, loss));
  }
  if (h.epoch.empty())
    throw InputError(csv.file + ": no epoch (the history file has a header only)");
  return h;
}

void read_learning(RowReport& out, const results::SweepFolder& sweep, const results::TableRow& row,
                   const std::vector<nlohmann::json>& rows, std::vector<std::string>& warnings) {
  // Each outer task once, by its latest successful row, in (repeat, fold) order.
  std::map<std::pair<int, int>, const nlohmann::json*> tasks;
  for (const auto& r : rows)
    if (r.value("kind", "") == "train_eval" && r.value("status", "") == "ok" &&
        r.value("config_id", "") == row.config_id)
      tasks[{r.value("repeat", 0), r.value("fold", 0)}] = &r;
  LearningInput in{out.curves.name_stem, out.curves.label, {}};
  std::vector<std::string> missing;
  for (const auto& [split, r] : tasks) {
    const auto file = sweep.task(r->value("task_id", "")).history;
    if (!fs::exists(file)) {
      missing.push_back(file.string());
      continue;
    }
    try {
      auto h = read_history(file);
      h.repeat = split.first;
      h.fold = split.second;
      const auto best = r->value("best_epoch", 0);
      h.best_epoch = std::find(h.epoch.begin(), h.epoch.end(), best) != h.epoch.end()
                         ? best
                         : highest_auroc_epoch(h);
      in.folds.push_back(std::move(h));
    } catch (const Error& e) { // InputError or IoError: this fold's line is left out
      out.notes.push_back(std::string("Learning curves leave out a history: ") + e.what());
      warnings.push_back("report learning curves of " + row.config_id + ": " + e.what());
    }
  }
  if (!missing.empty()) {
    std::string files;
    for (std::size_t i = 0; i < missing.size() && i < 3; ++i)
      files += (i ? ", " : "") + missing[i];
    if (missing.size() > 3)
      files += " and " + std::to_string(missing.size() - 3) + " more";
    out.notes.push_back("Learning curves leave out " + std::to_string(missing.size()) + " of " +
                        std::to_string(tasks.size()) + " folds: no history file (" + files + ").");
  }
  if (!in.folds.empty())
    out.learning = std::move(in);
  else if (!tasks.empty())
    out.notes.emplace_back("No learning-curve figure: no readable history.csv.");
}

FigureText learning_figure(const LearningInput& in) {
  const auto name = "learning-" + in.name_stem, file = name + ".dat";
  std::set<int> folds, repeats;
  int first = in.folds.front().epoch.front(), last = first;
  for (const auto& f : in.folds) {
    folds.insert(f.fold);
    repeats.insert(f.repeat);
    first = std::min(first, f.epoch.front());
    last = std::max(last, f.epoch.back());
  }
  std::vector<std::string> blocks;
  std::string colours, dashes;
  const auto& palette = fold_colours();
  for (const auto& f : in.folds) {
    std::string b = "# repeat " + std::to_string(f.repeat) + ", fold " + std::to_string(f.fold) +
                    " (best epoch " + std::to_string(f.best_epoch) +
                    "): epoch train_loss val_loss val_auroc best\n";
    for (std::size_t i = 0; i < f.epoch.size(); ++i)
      b += std::to_string(f.epoch[i]) + " " + cell(f.train_loss[i]) + " " + cell(f.val_loss[i]) +
           " " + cell(f.val_auroc[i]) + " " + (f.epoch[i] == f.best_epoch ? "1" : "0") + "\n";
    blocks.push_back(b);
    const auto fold_rank = std::distance(folds.begin(), folds.find(f.fold));
    const auto repeat_rank = std::distance(repeats.begin(), repeats.find(f.repeat));
    colours += (colours.empty() ? "" : " ") + palette[std::size_t(fold_rank) % palette.size()];
    dashes += (dashes.empty() ? "" : " ") + std::to_string(1 + repeat_rank % 5);
  }
  // Three panels and the key in a 2 × 2 grid; the key's rows wrap into columns.
  const int width = 960, height = 800;
  const int step = std::max(1, (last - first + 9) / 10);
  std::ostringstream gp;
  gp << script_header(name, "learning curves of " + in.label, width, height)
     << "set datafile missing '?'\n"
     << "# One line per outer task: colours[i] is its fold's colour, dashes[i] its repeat's "
        "dash type.\nseries = "
     << in.folds.size() << "\ncolours = " << gp_quote(colours) << "\ndashes = " << gp_quote(dashes)
     << "\nset multiplot title " << gp_quote("Learning curves · " + in.label) << "\n"
     << "set xrange [" << num(first - 0.3) << ":" << num(last + 0.3) << "]\nset xtics " << step
     << "\nset xlabel 'Epoch'\nunset key\n";
  gp << panel_script({0.08, 0.46, 0.88, 0.59, "Training loss", 2}, file,
                     any_finite(in, &FoldHistory::train_loss), "")
     << panel_script({0.58, 0.96, 0.88, 0.59, "Validation loss (patches)", 3}, file,
                     any_finite(in, &FoldHistory::val_loss), "")
     << "set key at screen 0.58, screen 0.40 left top Left reverse vertical maxrows 10 box\n"
     << panel_script({0.08, 0.46, 0.40, 0.11, "Validation AUROC (patients)", 4}, file,
                     any_finite(in, &FoldHistory::val_auroc), key_entries(folds, repeats))
     << "unset multiplot\n"
     << script_footer();
  return {name,
          join_blocks(blocks),
          gp.str(),
          "Learning curves of " + in.label,
          "Learning curves of the " + std::to_string(in.folds.size()) +
              " outer tasks: training loss, validation loss and validation AUROC per epoch "
              "(colour: fold" +
              (repeats.size() > 1 ? ", dash: repeat" : "") +
              "); ○ marks the epoch early stopping kept, whose model was tested.",
          true};
}

} // namespace vfp::plots
