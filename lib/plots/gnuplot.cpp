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

Layout layout(const LayoutSpec& s) {
  // SVG pixels of the 15 px font. The PNG's font (cairo, at twice the size) measures about 20 %
  // wider and a little taller than the SVG's estimate: every allowance is the PNG's.
  const int title = 24 + 26 * s.title_lines, left = s.left, right = 40;
  const int axis = 92; // tick marks and labels and the x label, under the plot area
  const int key = s.key_entries > 0 ? 30 * s.key_entries + 24 : 0, pad = 12;
  Layout out;
  out.width = std::max({left + s.plot_width + right, int(12 * double(s.key_chars)) + 120,
                        int(10.5 * double(s.title_chars)) + 60});
  out.height = title + s.plot_height + axis + s.below + key + pad;
  const double w = out.width, h = out.height;
  const double x0 = (out.width - s.plot_width + left - right) / 2.0; // the plot area centred
  out.pixel_y = 1 / h;
  out.under_x_label = (h - title - s.plot_height - axis) / h;
  out.script = "# The plot area at fixed screen coordinates; the key under the x label.\n"
               "set lmargin at screen " +
               num(x0 / w) + "\nset rmargin at screen " + num((x0 + s.plot_width) / w) +
               "\nset tmargin at screen " + num(1 - title / h) + "\nset bmargin at screen " +
               num(1 - (title + s.plot_height) / h) + "\n";
  out.script += s.key_entries > 0 ? "set key at screen 0.5, screen " + num((key + pad) / h) +
                                        " center top Left reverse vertical maxcols 1\n"
                                  : "set key off\n";
  return out;
}

/// A data file's blocks joined as gnuplot's `index` expects.
std::string join_blocks(const std::vector<std::string>& blocks) {
  std::string out;
  for (std::size_t i = 0; i < blocks.size(); ++i)
    out += (i ? "\n\n" : "") + blocks[i];
  return out;
}

} // namespace vfp::plots
