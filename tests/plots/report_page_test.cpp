// The report page: real SVG and PNG files from gnuplot, an index.html whose links all exist
// and that escapes every name, and a page without gnuplot that says the figures were skipped.
#include "core/core.h"
#include "metrics/metrics.h"
#include "plots/plots.h"
#include "results/results.h"

#include "fixture.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

using namespace vfp;
using namespace vfp::plots_test;

std::string slurp(const fs::path& p) {
  return read_text_file(p);
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

/// Width and height from a PNG's IHDR chunk, after checking the 8-byte signature.
std::pair<int, int> png_size(const fs::path& file) {
  const auto bytes = slurp(file);
  const std::string signature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.size() < 24 || bytes.compare(0, 8, signature) != 0 || bytes.compare(12, 4, "IHDR"))
    return {-1, -1};
  const auto be32 = [&](std::size_t at) {
    int v = 0;
    for (std::size_t k = 0; k < 4; ++k)
      v = (v << 8) | static_cast<unsigned char>(bytes[at + k]);
    return v;
  };
  return {be32(16), be32(20)};
}

bool have_gnuplot() {
  return !plots::find_program("gnuplot").empty();
}

TEST(ReportPage, DrawsEveryFigureAsSvgAndPngWithTheExpectedCurves) {
  if (!have_gnuplot())
    GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox)";
  const auto dir = scratch("figures", "sens");
  const auto rows = make_sweep(dir, kConfigs);
  const auto table = results::aggregate(rows);
  const auto out = plots::write_report_page(dir, table, rows);
  EXPECT_FALSE(out.figures_skipped);
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  // Per configuration learning curves, ROC, PR, Kaplan–Meier; the overview; AUROC against
  // train.lr (model.arch is not numeric).
  ASSERT_EQ(out.figures.size(), 4u * 4 + 1 + 1);
  const auto figures = dir / "report" / "figures";
  for (const auto& svg : out.figures) {
    auto png = svg;
    png.replace_extension(".png");
    EXPECT_NE(slurp(svg).find("<svg"), std::string::npos) << svg;
    EXPECT_GT(png_size(png).first, 0) << png;
    EXPECT_TRUE(fs::exists(figures / (svg.stem().string() + ".gp")));
    EXPECT_TRUE(fs::exists(figures / (svg.stem().string() + ".dat")));
  }
  // PNGs are drawn at twice the SVG's size.
  // (600 × 788: the 460 px square plot area, the title above, the key under the x label.)
  EXPECT_EQ(png_size(figures / "roc-aaaa1111.png"), std::make_pair(1200, 1576));
  // gnuplot puts each plotted element in <g id="gnuplot_plot_N">: ROC = 4 folds, band, mean,
  // pooled, chance; PR the same with the prevalence line.
  EXPECT_EQ(plots_in(figures / "roc-aaaa1111.svg"), 8u);
  EXPECT_EQ(plots_in(figures / "pr-aaaa1111.svg"), 8u);
  // Kaplan–Meier: three risk groups, each a step curve and its censoring marks, and the key
  // entry for the marks.
  const auto km = slurp(figures / "km-aaaa1111.svg");
  EXPECT_EQ(plots_in(figures / "km-aaaa1111.svg"), 7u);
  EXPECT_NE(km.find("log-rank p = "), std::string::npos);
  EXPECT_NE(km.find("Number at risk"), std::string::npos);
  // Overview: the four configurations' mean curves and chance.
  EXPECT_EQ(plots_in(figures / "roc-overview.svg"), 5u);
  // Sensitivity: one line per architecture, on a log axis (1e-4 … 1e-2 spans two decades).
  const auto sens = figures / "sensitivity-1-train_lr";
  EXPECT_EQ(plots_in(sens.string() + ".svg"), 2u);
  EXPECT_NE(slurp(sens.string() + ".gp").find("set logscale x"), std::string::npos);
  // The legend's AUROC is the table's mean ± SD.
  const auto m = metrics::mean_std(table.rows[0].auroc);
  EXPECT_NE(slurp(figures / "roc-aaaa1111.svg").find("AUROC " + metrics::format_mean_std(m)),
            std::string::npos);
}

TEST(ReportPage, IndexLinksOnlyFilesThatExistAndShowsTheTable) {
  if (!have_gnuplot())
    GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox)";
  const auto dir = scratch("links", "sens");
  const auto rows = make_sweep(dir, kConfigs);
  fs::create_directories(dir / "report");
  write_file_atomically(dir / "report" / "table.md", "table");
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows);
  const auto html = slurp(out.index);
  const auto targets = links(html);
  EXPECT_EQ(count(html, "<img src="), 18);
  EXPECT_GE(targets.size(), 18u * 4 + 1);
  for (const auto& t : targets) {
    EXPECT_EQ(t.find("://"), std::string::npos) << t; // nothing from the network
    EXPECT_TRUE(fs::exists(dir / "report" / unescape(t))) << t;
  }
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Counts: 16 train_eval + 4 cox done, the lost fold failed.
  EXPECT_NE(html.find("tasks: 20 done, 1 failed"), std::string::npos);
  // The best AUROC (resnet18 at 1e-4, the strongest signal) is bold.
  const auto best = html.find("<td>1e-4</td><td>resnet18</td><td class=\"num\"><strong>");
  EXPECT_NE(best, std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"table.md\">"), std::string::npos);
  EXPECT_EQ(html.find("table.tex"), std::string::npos); // not written, not linked
}

TEST(ReportPage, EscapesHostileSweepNamesAndAxisValues) {
  if (!have_gnuplot())
    GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox)";
  const std::string sweep = "x<script>alert(1)&\"'"; // no '/': it is a folder name
  const auto dir = scratch("hostile", sweep);
  // Two configurations whose learning rates differ with the architecture: no sensitivity line
  // has two points, so no sensitivity figure.
  std::vector<Config> configs{kConfigs[0], kConfigs[1]};
  configs[1].arch = "<img src=x onerror=alert('1')>&\"";
  const auto rows = make_sweep(dir, configs);
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows);
  const auto html = slurp(out.index);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_NE(html.find("<code>x&lt;script&gt;alert(1)&amp;&quot;&#39;</code>"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(&#39;1&#39;)&gt;&amp;&quot;"),
            std::string::npos);
  for (const auto& t : links(html))
    EXPECT_TRUE(fs::exists(dir / "report" / unescape(t))) << t;
  // The figures were still drawn, and gnuplot's SVG escapes the label too.
  ASSERT_EQ(out.figures.size(), 2u * 4 + 1) << (out.warnings.empty() ? "" : out.warnings.front());
  const auto svg = slurp(dir / "report" / "figures" / "roc-bbbb2222.svg");
  EXPECT_EQ(svg.find("<img"), std::string::npos);
  EXPECT_NE(svg.find("model.arch = &lt;img src=x"), std::string::npos);
}

TEST(ReportPage, WithoutGnuplotWritesThePageAndSaysTheFiguresWereSkipped) {
  const auto dir = scratch("nognuplot", "sens");
  const auto rows = make_sweep(dir, kConfigs);
  const auto empty_bin = dir.parent_path() / "bin";
  fs::create_directories(empty_bin);
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", empty_bin.c_str(), 1);
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows);
  ::setenv("PATH", old_path.c_str(), 1);
  EXPECT_TRUE(out.figures_skipped);
  EXPECT_TRUE(out.figures.empty());
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("gnuplot (gnuplot) is not on PATH"), std::string::npos);
  const auto html = slurp(out.index);
  EXPECT_NE(html.find("Figures were skipped: gnuplot was not found on PATH"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("<table class=\"results\">"), std::string::npos);
  for (const auto& t : links(html))
    EXPECT_TRUE(fs::exists(dir / "report" / unescape(t))) << t;
  // The data and scripts are there for when gnuplot is installed.
  EXPECT_TRUE(fs::exists(dir / "report" / "figures" / "roc-aaaa1111.gp"));
  EXPECT_FALSE(fs::exists(dir / "report" / "figures" / "roc-aaaa1111.svg"));
}

TEST(ReportPage, FigureScriptsQuoteLabelsForGnuplot) {
  const auto dir = scratch("quote", "sens");
  auto configs = kConfigs;
  configs[0].arch = "it's";
  const auto rows = make_sweep(dir, configs);
  plots::ReportOptions options;
  options.figures = false;
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, options);
  EXPECT_TRUE(out.figures_skipped);
  EXPECT_TRUE(out.warnings.empty());
  const auto gp = slurp(dir / "report" / "figures" / "roc-aaaa1111.gp");
  EXPECT_NE(gp.find("set title 'ROC · train.lr = 1e-4, model.arch = it''s'"), std::string::npos)
      << gp;
  EXPECT_NE(slurp(out.index).find("Figures were not drawn (--no-figures)"), std::string::npos);
}

} // namespace
