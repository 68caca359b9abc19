// Training step per architecture, vfp (LibTorch, C++) side by side with PyTorch's Python API:
// forward + backward + AdamW (lr 1e-4) with BCE-with-logits against random 0/1 targets, on
// CPU, for the registry's nine classifier architectures (not the foundation encoders) in 2D and
// 3D, at 1 and 2 intra-op threads.
//
// This program is the driver. Each case runs in two fresh processes under the same
// environment: this executable in worker mode (vfp's model, timed in C++), then
// bench/model_step.py under /usr/bin/python3 (the same model in torch.nn/torchvision, timed
// in Python). Both set the intra-op threads to the case's and the inter-op threads to 1, use
// the same warm-up and timed steps, and report the median of the per-step times. The
// parameter count, number of parameter tensors and a hash of the sorted parameter shapes must
// agree, else the case is a bench error and the Python side is not timed.
//
// Allocator: glibc's default dynamic mmap threshold hands large tensors back to the kernel
// and faults them in again every step, which can double CPU step time on the 2-core VMs.
// Unless --default-malloc, the driver re-executes itself with GLIBC_TUNABLES raising the mmap
// and trim thresholds, so that it, its workers and the Python children run with the same
// settings; the header line states them.
//
// Usage: bench_model_step --help (filters --arch, --dims, --size, --threads; --steps, --batch,
// --no-python, --default-malloc, ...). Prints one CSV table under `#` lines stating the
// conditions; exits 1 after a bench error (a model mismatch, a failed side).
#include "args.h"
#include "core/core.h"
#include "models/models.h"
#include "record.h"
#include "shell.h"

#include <torch/version.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifndef VFP_MODEL_STEP_SCRIPT
#define VFP_MODEL_STEP_SCRIPT "bench/model_step.py"
#endif

namespace {

using Clock = std::chrono::steady_clock;

/// The architectures both sides build (model_step.py mirrors exactly these); the default set.
/// The CT foundation encoders have no PyTorch reference here: --arch names them, vfp only.
const std::vector<std::string> kArchs{"fnet",        "resnet18",           "resnet34",
                                      "resnet50",    "resnet101",          "resnet152",
                                      "se_resnet50", "se_resnext50_32x4d", "densenet121"};
bool has_reference(const std::string& arch) {
  return std::find(kArchs.begin(), kArchs.end(), arch) != kArchs.end();
}

const vfp::models::Architecture* registry_entry(const std::string& arch) {
  for (const auto& a : vfp::models::architectures())
    if (a.name == arch)
      return &a;
  return nullptr;
}

bool registry_has(const std::string& arch) {
  return registry_entry(arch) != nullptr;
}

/// False for the 3D-only encoders asked for in 2D: those cases are left out.
bool builds_in(const std::string& arch, int dims) {
  const auto& d = registry_entry(arch)->dims;
  return std::find(d.begin(), d.end(), dims) != d.end();
}

constexpr const char* kUsage =
    "Usage: bench_model_step [options]: training step per architecture, vfp (C++) vs PyTorch's "
    "Python API\n"
    "  --arch a,b        architectures (default: the nine with a PyTorch reference; the CT\n"
    "                    encoders merlin_resnet152, vista3d_segresnet, ctclip_vit: vfp only)\n"
    "  --dims 2,3        spatial dims (default: 2,3)\n"
    "  --size N,M        input sizes for 2D and 3D alike; --size2d / --size3d set one of them\n"
    "                    (default: 2D 64,128,224; 3D 32,64)\n"
    "  --threads 1,2     intra-op threads (default: 1,2); inter-op threads are always 1\n"
    "  --batch N         batch size for 2D and 3D; --batch2d / --batch3d (default: 8 and 2)\n"
    "  --warmup N        untimed steps first (default: 3)\n"
    "  --steps N         timed steps; ms/step is their median (default: 10)\n"
    "  --rounds N        run each side N times, alternating which goes first; the fastest\n"
    "                    median of each side counts (default: 1)\n"
    "  --no-python       time the vfp side only\n"
    "  --python PATH     interpreter with torch and torchvision (default: /usr/bin/python3)\n"
    "  --script PATH     the Python side (default: bench/model_step.py of the source tree)\n"
    "  --default-malloc  glibc malloc's default settings instead of the raised thresholds\n";
constexpr const char* kResultTag = "vfp-bench-result ";
constexpr const char* kMallocStateVar = "VFP_BENCH_MALLOC";

struct Options {
  std::vector<std::string> archs = kArchs;
  std::vector<int> dims{2, 3};
  std::vector<int> sizes2d{64, 128, 224};
  std::vector<int> sizes3d{32, 64};
  std::vector<int> threads{1, 2};
  int batch2d = 8, batch3d = 2;
  int warmup = 3, steps = 10, rounds = 1;
  bool python = true, default_malloc = false;
  std::string python_exe = "/usr/bin/python3";
  std::string script = VFP_MODEL_STEP_SCRIPT;
  std::string worker; ///< internal: "arch,dims,size,batch,threads" to time one case
};

struct Case {
  std::string arch;
  int dims = 2, size = 64, batch = 8, threads = 1;
};

/// What one side reported: `key=value` fields of its result line, plus how it ended.
struct Outcome : vfp::bench::Captured {
  bool ran = false; ///< exited 0 with a result line holding a time
  [[nodiscard]] double ms() const { return std::atof(get("median_ms").c_str()); }
};

const vfp::bench::Args kArgs("bench_model_step");
using vfp::bench::shell_quote;
using vfp::bench::split;

Options parse(int argc, char** argv) {
  Options o;
  kArgs.parse(
      argc, argv,
      {kArgs.names_into("--arch", o.archs),
       kArgs.dims_into("--dims", o.dims),
       {"--size",
        [&](const std::string& v) { o.sizes2d = o.sizes3d = kArgs.positive_list("--size", v); }},
       kArgs.positive_list_into("--size2d", o.sizes2d),
       kArgs.positive_list_into("--size3d", o.sizes3d),
       kArgs.positive_list_into("--threads", o.threads),
       {"--batch",
        [&](const std::string& v) { o.batch2d = o.batch3d = kArgs.positive("--batch", v); }},
       kArgs.positive_into("--batch2d", o.batch2d),
       kArgs.positive_into("--batch3d", o.batch3d),
       kArgs.positive_into("--warmup", o.warmup),
       kArgs.positive_into("--steps", o.steps),
       kArgs.positive_into("--rounds", o.rounds),
       kArgs.switch_into("--no-python", o.python, false),
       kArgs.text_into("--python", o.python_exe),
       kArgs.text_into("--script", o.script),
       kArgs.switch_into("--default-malloc", o.default_malloc, true),
       kArgs.text_into("--worker", o.worker)},
      kUsage);
  const auto unknown =
      std::find_if(o.archs.begin(), o.archs.end(), [](const auto& a) { return !registry_has(a); });
  if (unknown != o.archs.end()) {
    std::string known;
    for (const auto& k : vfp::models::architectures())
      known.append(known.empty() ? "" : ", ").append(k.name);
    kArgs.fail("--arch: unknown architecture '" + *unknown + "' (known: " + known + ")");
  }
  return o;
}

vfp::models::ModelSpec spec_for(const Case& c) {
  vfp::models::ModelSpec spec;
  spec.arch = c.arch;
  spec.dims = c.dims;
  spec.in_channels = 1;
  spec.outputs = 1;
  spec.width = c.dims == 2 ? 16 : 32; // fNet as in the study: 2D w16, 3D w32
  return spec;
}

std::string input_name(const Case& c) {
  std::string s = std::to_string(c.size);
  for (int d = 1; d < c.dims; ++d)
    s += "x" + std::to_string(c.size);
  return s;
}

// ---- Worker: one case, timed in this process ----

int run_worker(const Options& o) {
  const auto parts = split(o.worker, ',');
  if (parts.size() != 5)
    kArgs.fail("--worker: expected arch,dims,size,batch,threads");
  Case c{parts[0], kArgs.positive("--worker", parts[1]), kArgs.positive("--worker", parts[2]),
         kArgs.positive("--worker", parts[3]), kArgs.positive("--worker", parts[4])};
  // Before any parallel work, as model_step.py does.
  at::set_num_interop_threads(1);
  torch::set_num_threads(c.threads);
  torch::manual_seed(0);
  auto model = vfp::models::make_model(spec_for(c));
  std::vector<torch::Tensor> params;
  std::vector<std::string> shapes;
  std::int64_t count = 0;
  for (const auto& p : model->parameters()) {
    if (!p.requires_grad())
      continue;
    params.push_back(p);
    count += p.numel();
    std::string s;
    for (auto n : p.sizes())
      s += (s.empty() ? "" : "x") + std::to_string(n);
    shapes.push_back(s);
  }
  std::sort(shapes.begin(), shapes.end());
  std::string joined;
  for (const auto& s : shapes)
    joined += (joined.empty() ? "" : ";") + s;

  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4));
  std::vector<std::int64_t> shape{c.batch, 1};
  shape.insert(shape.end(), std::size_t(c.dims), c.size);
  const auto x = torch::rand(shape);
  const auto y = torch::randint(0, 2, {c.batch, 1}).to(torch::kFloat);
  auto step = [&] {
    // Gradients set to none, as PyTorch 2's default (and model_step.py's) zero_grad does.
    for (auto& p : params)
      p.mutable_grad().reset();
    torch::binary_cross_entropy_with_logits(model->forward(x), y).backward();
    opt.step();
  };
  for (int i = 0; i < o.warmup; ++i)
    step();
  std::vector<double> ms;
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = Clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
  std::sort(ms.begin(), ms.end());
  const std::size_t n = ms.size();
  const double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::printf("%sparams=%lld tensors=%zu shapes=%s median_ms=%.4f mean_ms=%.4f threads=%d "
              "interop=%d torch=%s tunables=%s\n",
              kResultTag, static_cast<long long>(count), params.size(),
              vfp::hex64(vfp::fnv1a64(joined)).c_str(), median, mean, at::get_num_threads(),
              at::get_num_interop_threads(), TORCH_VERSION, tunables ? tunables : "-");
  return 0;
}

// ---- Driver ----

std::string self_path() {
  std::vector<char> buf(4096);
  const auto n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0)
    throw vfp::IoError("bench_model_step: cannot read /proc/self/exe: " +
                       std::string(std::strerror(errno)));
  return {buf.data(), std::size_t(n)};
}

/// Runs a command through the shell, stdout and stderr captured together.
Outcome run(const std::string& command) {
  Outcome out;
  static_cast<vfp::bench::Captured&>(out) = vfp::bench::capture(command, kResultTag);
  out.ran = out.status == 0 && !out.get("median_ms").empty();
  return out;
}

/// GLIBC_TUNABLES for the tuned allocator: the thresholds `vfp` sets at start-up
/// (core::keep_freed_memory: mmap and trim thresholds 1 GiB, the mmap one 32 MiB where glibc
/// caps it), passed as tunables so that the Python side runs under the same settings. This
/// process re-executes itself right after, so setting them here leaves nothing behind.
std::string tuned_tunables() {
  return vfp::bench::glibc_tunables(vfp::keep_freed_memory());
}

/// Re-executes this program with the allocator settings asked for, once: the timing here and
/// every child then inherit them. VFP_BENCH_MALLOC records what was set.
void settle_allocator(const Options& o, char** argv) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const char* state = std::getenv(kMallocStateVar);
  const std::string current = tunables ? tunables : "default";
  if (state && current == state && (current == "default") == o.default_malloc)
    return;
  std::string wanted = "default";
  if (o.default_malloc) {
    unsetenv("GLIBC_TUNABLES");
  } else {
    wanted = tuned_tunables();
    setenv("GLIBC_TUNABLES", wanted.c_str(), 1);
  }
  setenv(kMallocStateVar, wanted.c_str(), 1);
  std::fflush(stdout);
  execv(self_path().c_str(), argv);
  throw vfp::IoError("bench_model_step: cannot re-execute itself: " +
                     std::string(std::strerror(errno)));
}

/// Whether a fresh 16 MiB block comes from the heap (tuned) rather than from mmap (glibc's
/// default threshold, 128 KiB at start): proof that the settings took effect.
std::string allocator_check() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  const auto before = mallinfo2().hblkhd;
  auto* block = static_cast<volatile char*>(std::malloc(16 << 20));
  if (!block)
    return "unchecked";
  block[0] = 1; // keeps the allocation from being optimised away
  const auto after = mallinfo2().hblkhd;
  std::free(const_cast<char*>(block));
  return after == before ? "a fresh 16 MiB block comes from the heap"
                         : "a fresh 16 MiB block comes from mmap";
#else
  return "unchecked";
#endif
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      auto name = colon == std::string::npos ? line : line.substr(colon + 1);
      name.erase(0, name.find_first_not_of(" \t"));
      return name;
    }
  return "unknown";
}

std::string fmt(double v, const char* format = "%.2f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

int run_driver(const Options& o, char** argv) {
  settle_allocator(o, argv);
  const std::string self = self_path();
  const char* tunables_env = std::getenv("GLIBC_TUNABLES");
  const std::string tunables = tunables_env ? tunables_env : "-";

  std::string python_note;
  std::string python_version;
  bool python = o.python;
  if (!python) {
    python_note = "skipped (--no-python)";
  } else {
    const auto probe = run(shell_quote(o.python_exe) + " " + shell_quote(o.script) + " --probe");
    const auto pos = probe.output.find("vfp-bench-probe ");
    if (probe.status != 0 || pos == std::string::npos) {
      python = false;
      auto lines = split(probe.output, '\n');
      while (!lines.empty() && lines.back().empty())
        lines.pop_back();
      python_note = "not run: " + o.python_exe + " " + o.script + " --probe failed" +
                    (lines.empty() ? "" : " (" + lines.back() + ")") +
                    "; PyTorch's Python API needs python3-torch and python3-torchvision, "
                    "which Debian's /usr/bin/python3 has";
    } else {
      python_version = probe.output.substr(pos + 16);
      python_version = python_version.substr(0, python_version.find('\n'));
    }
  }

  std::printf("# bench_model_step: one training step (forward + backward + AdamW lr 1e-4, "
              "BCE-with-logits vs random 0/1 targets) on CPU\n");
  std::printf("# ms/step: median of %d per-step times after %d warm-up steps, same on both "
              "sides; samples/s = batch / median; ratio = vfp / pytorch (< 1: vfp faster)\n",
              o.steps, o.warmup);
  if (o.rounds > 1)
    std::printf("# rounds: each side ran %d times per case, vfp first in odd rounds and pytorch "
                "first in even ones; the fastest median of each side counts (a step slowed by "
                "something else on the machine is not the library's)\n",
                o.rounds);
  std::printf("# cpu: %s (%d CPUs available)\n", cpu_model().c_str(), vfp::cpus_in_affinity());
  std::printf("# vfp: LibTorch %s (C++); pytorch: %s\n", TORCH_VERSION,
              python ? (python_version + " via " + o.python_exe).c_str() : python_note.c_str());
  std::printf("# threads: intra-op as listed, inter-op 1, on both sides; each case runs in "
              "one fresh process per side\n");
  std::printf("# allocator: glibc malloc, %s for both sides (%s)\n",
              o.default_malloc ? "default settings (GLIBC_TUNABLES unset)"
                               : ("GLIBC_TUNABLES=" + tunables).c_str(),
              allocator_check().c_str());
  std::printf("# models: 1 input channel, 1 output, dropout 0.2 before the head; fnet width 16 "
              "(2D) / 32 (3D); pytorch: torchvision in 2D (1-channel stem), torch.nn mirrors "
              "for SE, 3D and fnet\n");
  std::printf("model,dims,input,batch,threads,params,vfp_ms,pytorch_ms,ratio,vfp_samples_s,"
              "pytorch_samples_s,status\n");
  std::fflush(stdout);

  int errors = 0;
  auto bench_error = [&](const Case& c, const std::string& what, const Outcome* side) {
    ++errors;
    std::fprintf(stderr, "bench_model_step: BENCH ERROR: %s %dD %s threads %d: %s\n",
                 c.arch.c_str(), c.dims, input_name(c).c_str(), c.threads, what.c_str());
    if (side && !side->output.empty()) {
      const auto& text = side->output;
      const auto from = text.size() > 3000 ? text.size() - 3000 : 0;
      std::fprintf(stderr, "---- its output (tail) ----\n%s\n----\n", text.substr(from).c_str());
    }
  };

  for (const auto& arch : o.archs)
    for (int dims : o.dims)
      if (builds_in(arch, dims))
        for (int size : dims == 2 ? o.sizes2d : o.sizes3d)
          for (int threads : o.threads) {
            const Case c{arch, dims, size, dims == 2 ? o.batch2d : o.batch3d, threads};
            const auto spec = spec_for(c);
            const std::string case_args =
                " --size " + std::to_string(c.size) + " --batch " + std::to_string(c.batch) +
                " --threads " + std::to_string(c.threads) + " --warmup " +
                std::to_string(o.warmup) + " --steps " + std::to_string(o.steps);
            const auto vfp_command = shell_quote(self) + " --worker " + c.arch + "," +
                                     std::to_string(c.dims) + "," + std::to_string(c.size) + "," +
                                     std::to_string(c.batch) + "," + std::to_string(c.threads) +
                                     " --warmup " + std::to_string(o.warmup) + " --steps " +
                                     std::to_string(o.steps);
            Outcome ours = run(vfp_command);
            std::string status = "ok";
            Outcome theirs;
            const bool compare = ours.ran && python && has_reference(c.arch);
            auto python_command = [&] {
              return shell_quote(o.python_exe) + " " + shell_quote(o.script) + " --arch " + c.arch +
                     " --dims " + std::to_string(c.dims) + case_args + " --width " +
                     std::to_string(spec.width) + " --dropout " + fmt(spec.dropout, "%g") +
                     " --expect-params " + ours.get("params") + " --expect-tensors " +
                     ours.get("tensors") + " --expect-shapes " + ours.get("shapes");
            };
            if (compare)
              theirs = run(python_command());
            // Later rounds: the side that went second goes first. A failure is kept (and
            // reported); otherwise the faster median.
            auto keep_faster = [](Outcome& best, Outcome next) {
              if (!next.ran || next.ms() < best.ms())
                best = std::move(next);
            };
            for (int r = 1; r < o.rounds && ours.ran && (!compare || theirs.ran); ++r) {
              if (compare && r % 2 == 1)
                keep_faster(theirs, run(python_command()));
              keep_faster(ours, run(vfp_command));
              if (compare && r % 2 == 0)
                keep_faster(theirs, run(python_command()));
            }
            if (!ours.ran) {
              status = "ERROR vfp failed";
              bench_error(c, "the vfp worker failed (exit " + std::to_string(ours.status) + ")",
                          &ours);
            } else if (compare) {
              const bool same_model = theirs.get("params") == ours.get("params") &&
                                      theirs.get("tensors") == ours.get("tensors") &&
                                      theirs.get("shapes") == ours.get("shapes");
              if (!theirs.get("params").empty() && !same_model) {
                status = "ERROR model mismatch";
                bench_error(c,
                            "the models differ: vfp " + ours.get("params") + " parameters in " +
                                ours.get("tensors") + " tensors (shapes " + ours.get("shapes") +
                                "), pytorch " + theirs.get("params") + " in " +
                                theirs.get("tensors") + " (shapes " + theirs.get("shapes") +
                                "); not timed",
                            nullptr);
              } else if (!theirs.ran) {
                status = "ERROR pytorch failed";
                bench_error(c,
                            "the Python side failed (exit " + std::to_string(theirs.status) + ")",
                            &theirs);
              } else {
                // Both sides must have run under the same conditions.
                for (const Outcome* side :
                     {static_cast<const Outcome*>(&ours), static_cast<const Outcome*>(&theirs)})
                  if (side->get("threads") != std::to_string(c.threads) ||
                      side->get("interop") != "1" || side->get("tunables") != tunables) {
                    status = "ERROR conditions differ";
                    bench_error(c,
                                std::string(side == &ours ? "vfp" : "pytorch") + " ran with " +
                                    side->get("threads") + " threads, " + side->get("interop") +
                                    " inter-op, GLIBC_TUNABLES " + side->get("tunables"),
                                nullptr);
                  }
              }
            } else {
              status = python ? "no pytorch reference" : "pytorch not run";
            }
            const bool both = ours.ran && theirs.ran;
            std::printf("%s,%d,%s,%d,%d,%s,%s,%s,%s,%s,%s,%s\n", c.arch.c_str(), c.dims,
                        input_name(c).c_str(), c.batch, c.threads, ours.get("params").c_str(),
                        ours.ran ? fmt(ours.ms()).c_str() : "",
                        theirs.ran ? fmt(theirs.ms()).c_str() : "",
                        both ? fmt(ours.ms() / theirs.ms(), "%.3f").c_str() : "",
                        ours.ran ? fmt(1000.0 * c.batch / ours.ms(), "%.1f").c_str() : "",
                        theirs.ran ? fmt(1000.0 * c.batch / theirs.ms(), "%.1f").c_str() : "",
                        status.c_str());
            std::fflush(stdout);
            if (ours.ran) {
              const bool ok = both && status == "ok";
              const double ratio = ok ? ours.ms() / theirs.ms() : NAN;
              vfp::bench::record(
                  {"Training step per architecture, vfp vs PyTorch (bench_model_step)",
                   c.arch + " " + std::to_string(c.dims) + "D " + input_name(c) + ", batch " +
                       std::to_string(c.batch) + ", " + std::to_string(c.threads) + " thread(s)",
                   ours.ms(), "ms/step", ok ? "PyTorch (Python API)" : "", ok ? theirs.ms() : NAN,
                   ok ? "≤ PyTorch" : "", ok ? (ratio <= 1.0) : -1, ok ? "" : status});
            }
          }
  if (!python)
    std::printf("# note: pytorch column empty: %s\n", python_note.c_str());
  if (errors > 0) {
    std::fprintf(stderr, "bench_model_step: %d BENCH ERROR(S), see above\n", errors);
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    const auto o = parse(argc, argv);
    return o.worker.empty() ? run_driver(o, argv) : run_worker(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
