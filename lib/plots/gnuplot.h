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

/// The key under the plot, one entry per line, so that it never hides a curve; the bottom margin
/// makes room for `entries` entries on a canvas `height` pixels high.
std::string key_below(int entries, int height);

/// A canvas width (SVG pixels) that fits key entries of `longest` characters under the plot.
int width_for_key(std::size_t longest, int at_least);

/// A canvas width (SVG pixels) that fits a title of `longest` characters over a square plot.
int width_for_title(std::size_t longest);

/// A data file's blocks joined as gnuplot's `index` expects (two blank lines between).
std::string join_blocks(const std::vector<std::string>& blocks);

} // namespace vfp::plots
