// Finding and running gnuplot (through core's run_program: an argument vector, no shell), and
// the layout every figure script shares.
#include "gnuplot.h"

#include "core/core.h"
#include "figures.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace vfp::plots {

std::filesystem::path find_program(const std::string& program) {
  if (program.empty())
    return {};
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? std::filesystem::path(program)
                                                : std::filesystem::path();
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "";
  for (std::size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    const auto dir = dirs.substr(start, end - start);
    auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return {};
}

std::string run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& dir,
                        const std::string& script) {
  // The script names its data and output files relative to its folder: gnuplot cds there.
  const auto folder = std::filesystem::absolute(dir);
  ProgramResult result;
  try {
    result = run_program(
        {gnuplot.string(), "-e", "cd " + gp_quote(folder.string()), (folder / script).string()});
  } catch (const IoError& e) {
    return e.what();
  }
  if (result.exit_code == 0)
    return {};
  auto err = result.err.substr(0, 600);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
    err.pop_back();
  return gnuplot.string() + " " + (folder / script).string() + " failed (exit code " +
         std::to_string(result.exit_code) + "): " + err;
}

std::string gp_quote(const std::string& text) {
  std::string out = "'";
  for (char ch : text) {
    if (ch == '\'')
      out += "''";
    else if (ch == '\n' || ch == '\r')
      out += ' ';
    else
      out += ch;
  }
  return out + "'";
}

const std::vector<std::string>& palette() {
  // Okabe & Ito's colour-blind-safe palette, yellow last (faint on white).
  static const std::vector<std::string> colours{"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                "#E69F00", "#56B4E9", "#000000", "#F0E442"};
  return colours;
}

std::string script_header(const std::string& name, const std::string& what, int width, int height) {
  const auto w = std::to_string(width), h = std::to_string(height);
  return "# vfp figure: " + what + "\n" + "# Data: " + name +
         ".dat. Restyle here, then redraw from this folder: gnuplot " + name + ".gp\n" +
         "# (writes " + name + ".svg and " + name + ".png).\n" +
         "do for [format in \"svg png\"] {\n"
         "if (format eq \"svg\") {\n"
         "  set terminal svg size " +
         w + "," + h +
         " dynamic noenhanced font \"Helvetica,15\" background rgb \"white\"\n"
         "} else {\n"
         "  set terminal pngcairo size " +
         std::to_string(2 * width) + "," + std::to_string(2 * height) +
         " noenhanced font \"Helvetica,30\" linewidth 2 pointscale 2 background rgb \"white\"\n"
         "}\n"
         "set output \"" +
         name +
         ".\" . format\n"
         "set encoding utf8\n"
         "set border 3 lw 1 lc rgb \"#444444\"\n"
         "set tics nomirror out scale 0.6 textcolor rgb \"#333333\"\n"
         "set grid lc rgb \"#e5e5e5\" lw 1 dt 1\n"
         "set key box lc rgb \"#cccccc\" opaque samplen 2.5 spacing 1.1\n";
}

std::string script_footer() {
  return "unset output\n}\n";
}

/// The legend under the plot, one entry per line, so that it never hides a curve: placed
/// at the bottom of the canvas with the plot's bottom margin made room for it (gnuplot's own
/// `key below` can overlap the x label).
std::string key_below(int entries, int height) {
  // An entry is 1.1 lines of the 15 px font (about 25 px in the SVG, more in the PNG, whose
  // font gnuplot measures wider); below the plot come the tick labels and the x label (about
  // 70 px), above the key's 9 px from the canvas' edge.
  const double bottom = (28.0 * entries + 90) / height;
  return "set key at screen 0.5, screen 0.012 center bottom Left reverse vertical maxcols 1\n"
         "set bmargin at screen " +
         num(bottom) + "\n";
}

/// A canvas width (SVG pixels) that fits key entries of `longest` characters under the plot.
int width_for_key(std::size_t longest, int at_least) {
  // gnuplot sizes the key from its estimate of the text's width, about 9 px a character in the
  // SVG and more in the PNG; a key wider than the canvas loses its entries in the PNG.
  return std::max(at_least, int(10 * double(longest)) + 170);
}

/// A canvas width (SVG pixels) that fits a title of `longest` characters over a square plot.
int width_for_title(std::size_t longest) {
  return std::max(640, int(8.5 * double(longest)) + 100);
}

/// A data file's blocks joined as gnuplot's `index` expects.
std::string join_blocks(const std::vector<std::string>& blocks) {
  std::string out;
  for (std::size_t i = 0; i < blocks.size(); ++i)
    out += (i ? "\n\n" : "") + blocks[i];
  return out;
}

} // namespace vfp::plots
