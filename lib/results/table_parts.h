// Private to lib/results: what every table format shares (render.cpp writes the formats): the
// cells of a row, the column headers, the best values, and the prose around the table.
#pragma once

#include "results/results.h"

#include <string>
#include <vector>

namespace vfp::results {

/// "%.*f" of a value.
std::string fixed(double v, int digits);

/// Whether some row has an optimism-corrected C-index (the table then has its column).
bool any_corrected(const Table& t);

/// The cells of one row, plain (no emphasis); the writers add their own.
struct Cells {
  std::vector<std::string> axes;
  std::string auroc, auprc, folds, c_index, c_corrected, hr, brier, calibration, comparison, holm,
      markers;
};
/// Row `i`'s cells, with `plus_minus` between mean and SD and `dash` between interval bounds.
Cells cells_of(const Table& t, std::size_t i, const std::string& plus_minus,
               const std::string& dash);

/// The column headers after the axes, in the order of row_values.
std::vector<std::string> metric_headers(const Table& t);

/// One cell after the axes, with whether it is the column's best.
struct Value {
  std::string text;
  bool best = false;
};

/// Which rows' means are bold: the best of the configurations' rows (a choice made on the test
/// folds, as the footnote says); nested rows are estimates, never "best".
struct Best {
  double auroc = -1, auprc = -1, c = -1;
};
/// Best values among the configurations' rows (fewer than two: none is "best").
Best best_of(const Table& t);

/// Row `i`'s cells after the axes, in the order of metric_headers.
std::vector<Value> row_values(const Table& t, std::size_t i, const Cells& c, const Best& best);

/// The sentences under the table: what the numbers are and how rows were compared.
std::string footnote(const Table& t);

/// Below the table: the subjects left out and why (at most 20 named, then a count).
std::string exclusions_text(const Table& t);

/// Below a table with nested rows: what each outer fold chose, one line each, after
/// `line_start`.
std::string choices_text(const Table& t, const std::string& line_start);

} // namespace vfp::results
