// Private to lib/plots: the steps of the report page, which page.cpp runs in turn: gather each
// table row's data (report_rows.cpp), draw the figures (page.cpp), write the HTML
// (page_html.cpp).
#pragma once

#include "figures.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vfp::plots {

/// A figure whose data and script are written; `rendered` once gnuplot drew its SVG and PNG.
struct Drawn {
  FigureText text;
  bool rendered = false;
};

/// One table row's section (a configuration or a nested selection), gathered before anything
/// is drawn; the drawing step adds its figures and the notes on those it could not draw.
struct RowReport {
  ConfigCurves curves;                      ///< label, file stem, fold and pooled curves
  bool has_curves = false;                  ///< predictions read: ROC and PR can be drawn
  std::optional<KmInput> km;                ///< pooled predictions with enough for risk groups
  std::optional<LearningInput> learning;    ///< a configuration's readable histories
  const nlohmann::json* analysis = nullptr; ///< its finished cox or selection row
  std::vector<std::string> notes;           ///< what the section says is missing, in order
  std::vector<const Drawn*> figures;
};

/// Step 1: per table row, in table order, its label, its out-of-fold curves (lib/metrics'
/// curves, AUROC and average precision) and its analysis row. A row whose predictions fail
/// to load gets a note and a line in `warnings`.
std::vector<RowReport> gather_rows(const results::SweepFolder& sweep, const results::Table& table,
                                   const std::vector<nlohmann::json>& rows,
                                   const ReportOptions& options,
                                   std::vector<std::string>& warnings);

/// A configuration's learning curves: the history.csv of each of its finished outer tasks
/// (the latest ok row per repeat and fold, whose best_epoch is marked). A missing history is
/// left out with a note naming the files; a malformed one with a note and a line in `warnings`
/// naming the file and line. `out.learning` stays empty when no history is readable.
void read_learning(RowReport& out, const results::SweepFolder& sweep, const results::TableRow& row,
                   const std::vector<nlohmann::json>& rows, std::vector<std::string>& warnings);

/// How many configurations the ROC overview draws besides the baseline.
constexpr std::size_t kOverviewBest = 6;

/// The ROC overview's curves: of the configuration rows with curves (not the nested
/// selections), the table's baseline and the `best` others — first those a nested selection
/// chose (most folds first), then by the mean over folds of the selection's metric (AUPRC
/// when it chose on AUPRC, else AUROC); ties keep the table's order.
OverviewInput choose_overview(const results::Table& table, const std::vector<RowReport>& sections,
                              std::size_t best = kOverviewBest);

/// A file-name-safe form of a configuration id (letters, digits, '-' and '_'), at most 16.
std::string safe_stem(const std::string& id);

/// A "<block>_note" of an analysis row (why the block is null), or "".
std::string block_note(const nlohmann::json& r, const std::string& block);

/// What the page shows, once the figures are drawn.
struct PageInput {
  const std::string& sweep_name;          ///< the folder's name: a sweep's, or a table's
  const std::vector<std::string>& sweeps; ///< of a multi-sweep table, else empty
  const results::Table& table;
  const std::vector<nlohmann::json>& rows; ///< results.jsonl, for the task counts
  const std::vector<RowReport>& sections;  ///< one per table row
  const std::vector<const Drawn*>& overview;
  const std::vector<const Drawn*>& sensitivity;
  const std::string& skipped;                ///< why there are no figures, or ""
  const std::vector<std::string>& downloads; ///< the table's files beside the page
};

/// Step 3: report/index.html (self-contained: inline CSS, no scripts, images from figures/).
std::string page_html(const PageInput& in);

/// The page's provenance section from the rows (page_provenance.cpp): their code versions
/// (kUnknownVersion for rows without provenance), LibTorch, devices, hosts, MPI world sizes,
/// Slurm jobs, each with its number of rows, and when the jobs ran.
std::string provenance_html(const std::vector<nlohmann::json>& rows);

} // namespace vfp::plots
