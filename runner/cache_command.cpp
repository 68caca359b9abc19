// `vfp cache ls|verify|gc`: inspect, check and clean the HDF5 patch caches.
#include "commands.h"

#include "core/core.h"
#include "data/data.h"
#include "log/log.h"
#include "sweep/sweep.h"
#include "tasks/plan.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <vector>

namespace vfp::runner {
namespace {

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string out;
  for (auto d : shape)
    out += (out.empty() ? "" : "x") + std::to_string(d);
  return out;
}

} // namespace

int cache_command(const CacheArgs& args) {
  const std::filesystem::path dir = args.cache_dir.empty()
                                        ? std::filesystem::path(args.results_root) / "cache"
                                        : std::filesystem::path(args.cache_dir);
  const auto entries = data::list_caches(dir);
  if (args.action == "ls") {
    std::printf("%-16s  %-18s  %-7s  %9s  %-20s  %s\n", "key", "shape", "dtype", "MB", "created",
                "file");
    for (const auto& e : entries)
      std::printf("%-16s  %-18s  %-7s  %9.1f  %-20s  %s%s\n", e.key.c_str(),
                  shape_text(e.shape).c_str(), e.dtype.c_str(), e.bytes / 1e6, e.created.c_str(),
                  e.file.filename().c_str(), e.problem.empty() ? "" : ("  " + e.problem).c_str());
    return 0;
  }
  // verify and gc read every patch and check its checksum.
  int bad = 0;
  std::set<std::string> keep_keys;
  if (args.action == "gc")
    for (const auto& file : args.keep) {
      const auto sweep = sweep::load(file);
      for (const auto& use : tasks::cache_uses(sweep)) { // BYOL's external cohorts' too
        keep_keys.insert(use.key);
        if (!use.external_key.empty())
          keep_keys.insert(use.external_key);
      }
    }
  std::uintmax_t freed = 0;
  auto remove = [&](const std::filesystem::path& p, const std::string& why) {
    std::cout << (args.dry_run ? "would remove " : "removing ") << p.string() << " (" << why
              << ")\n";
    std::error_code ec;
    const auto size = std::filesystem::file_size(p, ec);
    if (!args.dry_run && std::filesystem::remove(p, ec))
      freed += size;
  };
  // Reading every patch of a big cache takes minutes: a progress line now and then.
  std::uint64_t total = 0, before = 0;
  for (const auto& e : entries)
    total += e.shape.empty() ? 0 : e.shape[0];
  log::Progress progress("vfp cache " + args.action + ": patches checked", total);
  for (const auto& e : entries) {
    const std::string problem =
        data::verify_cache(e, [&](std::size_t done) { progress.update(before + done); });
    before += e.shape.empty() ? 0 : e.shape[0];
    if (args.action == "verify") {
      std::cout << (problem.empty() ? "ok       " + e.file.string() : "CORRUPT  " + problem)
                << "\n";
      bad += problem.empty() ? 0 : 1;
    } else if (!problem.empty()) {
      remove(e.file, "corrupt: " + problem);
    } else if (!args.keep.empty() && !keep_keys.count(e.key)) {
      remove(e.file, "not used by the given sweeps");
    }
  }
  progress.finish();
  if (args.action == "gc") {
    for (const auto& f : std::filesystem::directory_iterator(dir))
      if (is_stale_temporary(f.path()))
        remove(f.path(), "temporary file of a writer that is gone");
      else if (data::remove_lock_if_free(f.path(), args.dry_run))
        std::cout << (args.dry_run ? "would remove " : "removed ") << f.path().string()
                  << " (lock file that no process holds)\n";
    std::cout << (args.dry_run ? "would free " : "freed ") << freed / 1e6 << " MB\n";
  }
  return bad == 0 ? 0 : 1;
}

void add_cache_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<CacheArgs>();
  auto* cmd = app.add_subcommand("cache", "Inspect (ls), check (verify) and clean (gc) the "
                                          "HDF5 patch caches");
  cmd->add_option("action", args->action, "ls, verify or gc")
      ->required()
      ->check(CLI::IsMember({"ls", "verify", "gc"}));
  add_results_options(*cmd, args->results_root, args->cache_dir);
  cmd->add_option("--keep", args->keep, "gc: remove caches that none of these sweep files uses");
  cmd->add_flag("--dry-run", args->dry_run, "gc: only say what would be removed");
  commands.push_back({cmd, [args] { return cache_command(*args); }});
}

} // namespace vfp::runner
