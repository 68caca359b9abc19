// The out-of-core data path (issue 25): a training worker's memory and throughput when its
// patches are read from the cache file patch by patch (data::CacheReader: one copy in the
// node's page cache, shared by every rank) instead of held in memory (data::read_cache, the path
// tasks took before), for archives of 1k, 10k and 40k synthetic 3D patches at 47³ and 64³;
// then BYOL pretraining on the archives, read the same way. The bench writes each cache itself
// (data::CacheWriter, patch by patch: smooth noise with a planted blob, no preprocessing), times
// the write, measures, and deletes it. Every measurement runs in its own process (this program
// again, with --worker), so that each peak RSS is its own; every worker tunes malloc as `vfp`
// does at start-up (core::keep_freed_memory). Targets: peak RSS flat within 100 MB from the
// smallest to the largest archive; warm samples/s within 5 % of the in-memory path.
// Usage: bench_out_of_core [--dir D] [--patches 1000,10000,40000] [--edges 47,64] ... (--help)
#include "out_of_core.h"

#include "core/core.h"
#include "record.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace vfp::bench::out_of_core;

constexpr const char* kUsage =
    "bench_out_of_core [--dir /tmp/vfp_out_of_core] [--patches 1000,10000,40000] [--edges 47,64]\n"
    "    [--byol-patches 1000,40000] [--dtype float32|float16|uint16] [--max-cache-gb 20]\n"
    "    [--memory-limit-gb 8] [--steps 6] [--epochs 3] [--batch 8] [--threads 2]\n"
    "    [--rounds 2] [--byol-steps 4]\n"
    "Writes synthetic 3D caches, then trains fNet 3D for --epochs epochs of --steps steps\n"
    "(the first epoch is the warm-up) reading patch by patch from the cache file and, where the\n"
    "float32 pixels fit in --memory-limit-gb, from memory; BYOL on --byol-patches. An edge\n"
    "whose largest cache exceeds --max-cache-gb is stored as float16. bench/README.md.\n";

Options parse(int argc, char** argv) {
  Options o;
  std::string dir = o.dir.string();
  kArgs.parse(
      argc, argv,
      {kArgs.text_into("--dir", dir), kArgs.positive_list_into("--patches", o.patches),
       kArgs.positive_list_into("--edges", o.edges),
       kArgs.positive_list_into("--byol-patches", o.byol_patches),
       kArgs.text_into("--dtype", o.dtype), kArgs.positive_into("--max-cache-gb", o.max_cache_gb),
       kArgs.positive_into("--memory-limit-gb", o.memory_limit_gb),
       kArgs.positive_into("--steps", o.steps), kArgs.positive_into("--epochs", o.epochs),
       kArgs.positive_into("--batch", o.batch), kArgs.positive_into("--threads", o.threads),
       kArgs.positive_into("--rounds", o.rounds), kArgs.positive_into("--byol-steps", o.byol_steps),
       kArgs.text_into("--worker", o.worker), kArgs.text_into("--cache", o.cache),
       kArgs.text_into("--key", o.key), kArgs.text_into("--path", o.path)},
      kUsage);
  o.dir = dir;
  if (o.dtype != "float32" && o.dtype != "float16" && o.dtype != "uint16")
    kArgs.fail("--dtype: '" + o.dtype + "' is not float32, float16 or uint16");
  if (o.epochs < 2)
    kArgs.fail("--epochs: at least 2 (the first is the warm-up)");
  return o;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct Case {
  int count = 0, edge = 0;
  std::string dtype;
  fs::path file;
  std::string key;
  double float32_gb() const { return double(count) * edge * edge * edge * 4 / 1e9; }
  std::string name() const {
    return std::to_string(count) + " × " + std::to_string(edge) + "³ " + dtype;
  }
};

using Figures = std::map<std::string, double>;

/// Runs one measurement in a fresh process of this program; returns its figures.
Figures run_worker(const Options& o, const std::string& mode, const Case& c,
                   const std::string& path) {
  std::vector<std::string> argv{fs::read_symlink("/proc/self/exe").string(),
                                "--worker",
                                mode,
                                "--cache",
                                c.file.string(),
                                "--key",
                                c.key,
                                "--path",
                                path};
  for (const auto& [flag, value] : {std::pair<const char*, int>{"--steps", o.steps},
                                    {"--byol-steps", o.byol_steps},
                                    {"--epochs", o.epochs},
                                    {"--batch", o.batch},
                                    {"--threads", o.threads}}) {
    argv.emplace_back(flag);
    argv.push_back(std::to_string(value));
  }
  const auto r = vfp::run_program(argv);
  const auto what = mode + " worker (" + path + ") on " + c.file.string();
  if (r.exit_code != 0)
    throw vfp::TaskError(what + " exited " + std::to_string(r.exit_code) + ": " +
                         r.err.substr(0, 1500)); // torch appends a long backtrace
  Figures f;
  for (const auto& line : vfp::bench::split(r.out, '\n'))
    if (line.rfind("OOC ", 0) == 0)
      for (const auto& field : vfp::bench::split(line.substr(4), ' '))
        if (const auto eq = field.find('='); eq != std::string::npos)
          f[field.substr(0, eq)] = std::stod(field.substr(eq + 1));
  if (f.empty())
    throw vfp::TaskError(what + " printed no figures: " + r.out);
  return f;
}

void print_row(const Case& c, const std::string& path, const Figures& f) {
  std::printf("%7d %5d³ %-8s %-7s %7.1f %9.0f %9.0f %9.0f %10.2f %8.2f%%   %s\n", c.count, c.edge,
              c.dtype.c_str(), path.c_str(), f.at("load_s"), f.at("hwm_mb"), f.at("anon_mb"),
              f.at("file_mb"), f.at("warm_sps"), f.count("wait_pct") ? f.at("wait_pct") : NAN,
              load_average().c_str());
  std::fflush(stdout);
}

/// Keeps, over rounds of one measurement, the faster round's figures and the lowest and highest
/// peak RSS: the peak varies between identical runs (seen: 320 MB at 64³, malloc arenas of the
/// training and loader threads keeping what they freed), so the lowest of several is compared.
void keep_best(Figures& b, Figures f) {
  const double low = std::min(f["hwm_mb"], b.count("hwm_low") ? b["hwm_low"] : 1e300);
  const double high = std::max(f["hwm_mb"], b.count("hwm_high") ? b["hwm_high"] : 0.0);
  if (!b.count("warm_sps") || f["warm_sps"] > b["warm_sps"])
    b = f;
  b["hwm_low"] = low;
  b["hwm_high"] = high;
}

/// Training from the cache file and, where the float32 pixels fit the memory limit, in memory:
/// `rounds` rounds, alternating which path goes first. Returns the figures per path.
std::map<std::string, Figures> measure_training(const Options& o, const Case& c) {
  const bool memory = c.float32_gb() <= o.memory_limit_gb;
  std::map<std::string, Figures> best;
  for (int round = 0; round < o.rounds; ++round) {
    std::vector<std::string> paths{"cache"};
    if (memory)
      paths.insert(round % 2 ? paths.begin() : paths.end(), "memory");
    for (const auto& path : paths) {
      const auto f = run_worker(o, "train", c, path);
      print_row(c, path, f);
      keep_best(best[path], f);
    }
  }
  if (!memory)
    std::printf("%34s in-memory path skipped: %.1f GB of float32 pixels > --memory-limit-gb %d\n",
                "", c.float32_gb(), o.memory_limit_gb);
  return best;
}

std::string mb(double v) {
  return std::to_string(int(std::lround(v))) + " MB";
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// One section per kind of figure, so that each section's mean ratio means one thing.
const char* kWrite = "Out-of-core: writing the caches patch by patch (bench_out_of_core)";
const char* kMemory = "Out-of-core training: worker memory, cache vs in memory (bench_out_of_core)";
const char* kSpeed = "Out-of-core training: samples/s, cache vs in memory (bench_out_of_core)";
const char* kFlat = "Out-of-core: worker memory from the smallest to the largest archive";
const char* kByol = "BYOL pretraining, patches read from the cache (bench_out_of_core)";

void record_training(const Case& c, const std::map<std::string, Figures>& r) {
  const auto& m = r.at("cache");
  const bool mem = r.count("memory");
  const Figures none;
  const auto& in = mem ? r.at("memory") : none;
  const std::string ref = mem ? "in memory" : "";
  const auto at = [&](const Figures& f, const char* k) { return mem ? f.at(k) : NAN; };
  const std::string row = c.name() + ", from the cache";
  const std::string skipped =
      mem ? "" : "; in memory skipped (" + fixed(c.float32_gb(), 1) + " GB of float32)";
  vfp::bench::record({kMemory, row + ": peak RSS (VmHWM), lowest of the rounds", m.at("hwm_low"),
                      "MB", ref, at(in, "hwm_low"), "", -1,
                      "highest " + mb(m.at("hwm_high")) + "; at the end: private " +
                          mb(m.at("anon_mb")) + ", file-backed " + mb(m.at("file_mb")) + skipped});
  vfp::bench::record({kMemory, row + ": private RSS (RssAnon) at the end", m.at("anon_mb"), "MB",
                      ref, at(in, "anon_mb"), "", -1, ""});
  const double ratio = mem ? m.at("warm_sps") / in.at("warm_sps") : NAN;
  vfp::bench::record(
      {kSpeed, row + ": samples/s once warm", m.at("warm_sps"), "samples/s", ref,
       at(in, "warm_sps"), mem ? "≥ 95 % of in memory" : "", mem ? int(ratio >= 0.95) : -1,
       "data wait " + fixed(m.at("wait_pct"), 2) + " %" +
           (mem ? " (in memory " + fixed(in.at("wait_pct"), 2) + " %)" : std::string()) +
           "; with the first epoch " + fixed(m.at("all_sps"), 1) + " samples/s" + skipped});
}

/// Peak and private RSS of the largest archive against the smallest (per edge and mode).
void record_flatness(const std::string& section, const std::string& what, const Case& small,
                     const Figures& s, const Case& large, const Figures& l) {
  const double growth = l.at("hwm_low") - s.at("hwm_low");
  const double high_growth = l.at("hwm_high") - s.at("hwm_high");
  std::printf(
      "%s %d³: peak RSS %d → %d patches %+.0f MB (lowest of the rounds; highest %+.0f MB)\n",
      what.c_str(), large.edge, small.count, large.count, growth, high_growth);
  vfp::bench::record({section,
                      what + " " + std::to_string(large.edge) + "³: peak RSS, " +
                          std::to_string(large.count) + " patches (" + large.dtype + ")",
                      l.at("hwm_low"), "MB",
                      std::to_string(small.count) + " patches (" + small.dtype + ")",
                      s.at("hwm_low"), "grows ≤ 100 MB", growth <= 100 ? 1 : 0,
                      "lowest peak of the rounds; growth " + mb(growth) +
                          " (highest peaks: " + mb(high_growth) + ")"});
}

/// Writes, measures and deletes one archive.
void run_case(const Options& o, Case& c, std::map<int, std::pair<Case, Figures>>& from_cache,
              std::map<int, std::pair<Case, Figures>>& byol) {
  const int bytes = c.dtype == "float32" ? 4 : 2;
  const double gb = double(c.count) * c.edge * c.edge * c.edge * bytes / 1e9;
  const auto space = fs::space(o.dir);
  if (double(space.available) / 1e9 < gb + 1)
    throw vfp::IoError(o.dir.string() + ": " + std::to_string(space.available / 1000000000) +
                       " GB free, the " + c.name() + " cache needs " + std::to_string(gb) + " GB");
  struct Remove { // the cache goes whatever happens
    fs::path file;
    ~Remove() {
      std::error_code ec;
      fs::remove(file, ec);
    }
  } remove{c.file};
  const auto w = write_archive(c.file, c.count, c.edge, c.dtype, c.key);
  std::printf("wrote %s: %.2f GB in %.1f s (%.0f patches/s, %.0f MB/s; %.1f s generating)\n",
              c.name().c_str(), w.gb, w.seconds, c.count / w.seconds, w.gb * 1e3 / w.seconds,
              w.generate_seconds);
  vfp::bench::record({kWrite, "write " + c.name() + " (CacheWriter)", c.count / w.seconds,
                      "patches/s", "", NAN, "", -1,
                      fixed(w.gb, 2) + " GB in " + fixed(w.seconds, 0) + " s (" +
                          fixed(w.gb * 1e3 / w.seconds, 0) + " MB/s), generation (" +
                          fixed(w.generate_seconds, 0) + " s) included"});
  const auto r = measure_training(o, c);
  record_training(c, r);
  from_cache[c.count] = {c, r.at("cache")};
  if (std::count(o.byol_patches.begin(), o.byol_patches.end(), c.count)) {
    Figures f;
    for (int round = 0; round < o.rounds; ++round) {
      const auto one = run_worker(o, "byol", c, "cache");
      std::printf("%-40s ", ("BYOL on " + c.name() + ", from the cache").c_str());
      std::printf("peak RSS %.0f MB, private %.0f MB, file-backed %.0f MB, %.2f samples/s warm\n",
                  one.at("hwm_mb"), one.at("anon_mb"), one.at("file_mb"), one.at("warm_sps"));
      keep_best(f, one);
    }
    const std::string row = "BYOL " + c.name() + ", from the cache";
    vfp::bench::record(
        {kByol, row + ": samples/s once warm", f.at("warm_sps"), "samples/s", "", NAN, "", -1,
         "peak RSS " + mb(f.at("hwm_low")) + " to " + mb(f.at("hwm_high")) + " over " +
             std::to_string(o.rounds) + " run(s); file-backed " + mb(f.at("file_mb"))});
    byol[c.count] = {c, f};
  }
}

int drive(const Options& o) {
  const auto t0 = Clock::now();
  fs::create_directories(o.dir);
  std::printf("fNet 3D (width 16), %d thread(s), 1 loader thread, augmentation on, batch %d, "
              "%d epochs of %d steps (the first is the warm-up); BYOL %d epochs of %d steps\n"
              "every worker: %s (as vfp at start-up, on both paths)\n"
              "caches under %s; load average at start %s\n\n",
              o.threads, o.batch, o.epochs, o.steps, o.epochs, o.byol_steps,
              vfp::keep_freed_memory().describe().c_str(), o.dir.string().c_str(),
              load_average().c_str());
  std::printf("%7s %6s %-8s %-7s %7s %9s %9s %9s %10s %9s   %s\n", "patches", "edge", "dtype",
              "path", "load s", "peak MB", "priv. MB", "file MB", "samples/s", "wait",
              "load average");
  for (const int edge : o.edges) {
    std::map<int, std::pair<Case, Figures>> from_cache, byol;
    // One storage type per edge, so that its archives differ in size only: float16 when the
    // largest would not fit --max-cache-gb (the disk); the row names say which.
    const double largest_gb =
        *std::max_element(o.patches.begin(), o.patches.end()) * std::pow(edge, 3) * 4 / 1e9;
    const bool halve = o.dtype == "float32" && largest_gb > o.max_cache_gb;
    for (const int count : o.patches) {
      Case c{count, edge, halve ? "float16" : o.dtype, {}, {}};
      c.key = "bench-out-of-core-" + std::to_string(count) + "-" + std::to_string(edge);
      c.file = o.dir / ("patches-" + c.key + "-" + c.dtype + ".h5");
      run_case(o, c, from_cache, byol);
    }
    for (auto* m : {&from_cache, &byol})
      if (m->size() > 1)
        record_flatness(m == &byol ? kByol : kFlat, m == &byol ? "BYOL" : "training",
                        m->begin()->second.first, m->begin()->second.second,
                        m->rbegin()->second.first, m->rbegin()->second.second);
  }
  std::printf("\npeak MB: VmHWM of the worker; priv./file MB: RssAnon / RssFile at its end; "
              "samples/s and wait (loader data wait, share of the loop) over the epochs after "
              "the first. The whole run took %.0f s; load average at the end %s.\n",
              seconds_since(t0), load_average().c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  if (!vfp::bench::parse_or_report(parse, argc, argv, o))
    return 1;
  try {
    return o.worker.empty() ? drive(o) : worker(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_out_of_core%s: %s\n", o.worker.empty() ? "" : " (worker)",
                 e.what());
    return 1;
  }
}
