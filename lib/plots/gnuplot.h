// Private to lib/plots: running gnuplot and the parts every figure script shares.
#pragma once

#include "plots/plots.h"

#include <filesystem>
#include <string>
#include <vector>

namespace vfp::plots {

/// Runs gnuplot on `script` in the folder `dir` (no shell). Returns an empty string on
/// success, else what went wrong (with gnuplot's message).
std::string run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& dir,
                        const std::string& script);

/// A gnuplot string literal in single quotes (taken as is; a quote doubled), one line.
std::string gp_quote(const std::string& text);

/// Okabe–Ito colours as "#RRGGBB", in the order curves take them.
const std::vector<std::string>& palette();

/// The start of a figure script: a comment saying how to redraw it, a loop over SVG and PNG
/// (twice the size, for high-density screens: fonts and lines doubled too, so element fonts
/// are left at the terminal's size), the terminal and the shared style. The plot
/// commands follow, then script_footer().
std::string script_header(const std::string& name, const std::string& what, int width, int height);
std::string script_footer();

/// What a figure's layout must make room for (SVG pixels; the PNG is twice the size).
struct LayoutSpec {
  int plot_width = 460, plot_height = 460; ///< the plot area (inside the axes)
  int key_entries = 0;                     ///< 0: no key
  std::size_t key_chars = 0;               ///< characters of the longest key entry
  std::size_t title_chars = 0;             ///< characters of the title's longest line
  int title_lines = 1;
  int below = 0;  ///< room between the x label and the key, for rows the figure draws itself
  int left = 100; ///< room left of the plot area: tick labels, y label (and row labels)
};

/// A figure's canvas with the plot area at fixed screen coordinates (so that neither
/// terminal's font metrics can move it), the x axis' tick labels and label under it, then the
/// `below` rows, then the key: outside the plot, its top just under them, one entry per line,
/// centred. Nothing overlaps whatever the key holds: the canvas grows with it.
struct Layout {
  int width = 0, height = 0; ///< the canvas, for script_header
  std::string script;        ///< margins and key: after script_header, before the plot
  double pixel_y = 0;        ///< one SVG pixel as a fraction of the height
  double under_x_label = 0;  ///< screen y where the `below` rows start (top), a fraction
};
Layout layout(const LayoutSpec& spec);

/// A data file's blocks joined as gnuplot's `index` expects (two blank lines between).
std::string join_blocks(const std::vector<std::string>& blocks);

} // namespace vfp::plots
