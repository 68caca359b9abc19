// Training throughput of the real training loop (train::fit_and_score: loader threads,
// augmentation, per-step schedule, validation, per-epoch checkpoint) per architecture and
// dims on CPU (or CUDA), and where the time goes: forward/backward/optimizer steps vs everything
// else in the training loop (waiting for data, bookkeeping). Target: < 5 % outside the steps. Both
// columns come from one run of the loop; the allocator is tuned as `vfp` does at start
// (core::keep_freed_memory, printed) for every row.
// Usage: bench_fit [--arch fnet,resnet18] [--dims 2,3] [--size2d 64] [--size3d 32]
//                  [--patches 512] [--batch 16] [--epochs 2] [--threads N] [--device cuda]
//                  [--width 16] [--versus-monai PYTHON]
// --versus-monai: after each 3D case of fnet or monai_seresnet50, the same patches through a
// MONAI training loop (bench/monai_loop.py under PYTHON, e.g. .venv/bin/python: MONAI's
// transforms and DataLoader, MONAI's SEResNet50), same threads and allocator settings: the
// samples/s and data-wait share of both, side by side.
#include "args.h"
#include "core/core.h"
#include "record.h"
#include "shell.h"
#include "train/train.h"
#include "train_options.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

struct Options {
  std::vector<std::string> archs{"fnet", "resnet18"};
  std::vector<int> dims{2, 3};
  int size2d = 64, size3d = 32, patches = 512, batch = 16, epochs = 2, threads = 0;
  int width = 16; ///< fNet's first-stage channels (model.width; the study's 3D fNet: 32)
  std::string device = "cpu"; ///< cpu or cuda (the GPU path: bfloat16 autocast)
  std::string monai_python;   ///< --versus-monai: the interpreter with MONAI; empty: vfp only
};

const vfp::bench::Args kArgs("bench_fit");

constexpr const char* kUsage =
    "bench_fit [--arch a,b] [--dims 2,3] [--size2d 64] [--size3d 32] [--patches 512]\n"
    "          [--batch 16] [--epochs 2] [--threads N] [--device cpu|cuda]\n"
    "          [--width 16] [--versus-monai PYTHON]\n"
    "The training loop's throughput per architecture and dims, and its time outside\n"
    "forward/backward/optimizer steps (bench/README.md); with --versus-monai, a MONAI\n"
    "training loop on the same patches beside it (3D fnet and monai_seresnet50).\n";

Options parse(int argc, char** argv) {
  Options o;
  kArgs.parse(argc, argv,
              {kArgs.names_into("--arch", o.archs), kArgs.dims_into("--dims", o.dims),
               kArgs.positive_into("--size2d", o.size2d), kArgs.positive_into("--size3d", o.size3d),
               kArgs.positive_into("--patches", o.patches), kArgs.positive_into("--batch", o.batch),
               kArgs.positive_into("--epochs", o.epochs),
               kArgs.positive_into("--threads", o.threads), kArgs.text_into("--device", o.device),
               kArgs.text_into("--versus-monai", o.monai_python),
               kArgs.positive_into("--width", o.width)},
              kUsage);
  if (o.device != "cpu" && o.device != "cuda")
    kArgs.fail("--device: '" + o.device + "' is neither cpu nor cuda");
  return o;
}

/// Smooth random patches in [0, 1], two per subject, 20 % of subjects positive.
struct Data {
  std::vector<float> pixels;
  std::unique_ptr<vfp::loader::MemorySource> source; // over `pixels`; moves with the data
  vfp::train::FoldData fold;
};

Data make_data(int patches, int depth, int size) {
  Data d;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.F, 1.F);
  const std::size_t values = std::size_t(std::max(1, depth)) * size * size;
  d.pixels.resize(values * std::size_t(patches));
  for (auto& v : d.pixels)
    v = u(rng);
  auto& f = d.fold;
  d.source = std::make_unique<vfp::loader::MemorySource>(d.pixels.data(), std::int64_t(values));
  f.source = d.source.get();
  f.depth = depth;
  f.height = f.width = size;
  for (int s = 0; s < patches / 2; ++s)
    f.subject_label.push_back(s % 5 == 0 ? 1 : 0);
  for (int p = 0; p < patches; ++p) {
    f.patch_subject.push_back(p / 2);
    // Blocks of 5 subjects (one positive each): 80 % train, 10 % validation, 10 % test.
    const int block = (p / 2 / 5) % 10;
    (block < 8 ? f.train : block == 8 ? f.validation : f.test).push_back(p);
  }
  return d;
}

/// bench/monai_loop.py's name for a vfp architecture it mirrors; empty: none.
std::string monai_counterpart(const std::string& arch) {
  if (arch == "fnet")
    return "fnet";
  if (arch == "monai_seresnet50")
    return "seresnet50";
  return "";
}

struct MonaiFigures {
  double samples_per_s = NAN, data_wait = NAN; ///< data_wait: share of the loop, 0-1
  std::string versions, why_not;               ///< why_not: set when it did not run
};

/// The MONAI loop on `data`'s training patches: writes them for bench/monai_loop.py under
/// `dir`, runs it with this process's allocator thresholds as GLIBC_TUNABLES.
MonaiFigures run_monai(const Options& o, const std::string& arch, const Data& data, int size,
                       int threads, const vfp::MallocThresholds& allocator,
                       const std::filesystem::path& dir) {
  MonaiFigures out;
  const auto counterpart = monai_counterpart(arch);
  if (counterpart.empty()) {
    out.why_not = "no MONAI counterpart of " + arch;
    return out;
  }
  {
    std::ofstream pixels(dir / "patches.f32", std::ios::binary);
    pixels.write(reinterpret_cast<const char*>(data.pixels.data()),
                 std::streamsize(data.pixels.size() * sizeof(float)));
    std::ofstream train(dir / "train.txt");
    for (const auto p : data.fold.train)
      train << p << ' ' << data.fold.subject_label[std::size_t(data.fold.patch_subject[p])] << '\n';
    if (!pixels || !train)
      throw vfp::IoError("cannot write the MONAI loop's patches under " + dir.string());
  }
  using vfp::bench::shell_quote;
  const std::string script = VFP_MONAI_LOOP_SCRIPT;
  const auto run = vfp::bench::capture(
      "GLIBC_TUNABLES=" + shell_quote(vfp::bench::glibc_tunables(allocator)) + " " +
          shell_quote(o.monai_python) + " " + shell_quote(script) + " --data " +
          shell_quote(dir.string()) + " --arch " + counterpart + " --size " + std::to_string(size) +
          " --batch " + std::to_string(o.batch) + " --epochs " + std::to_string(o.epochs) +
          " --threads " + std::to_string(threads) + " --width " + std::to_string(o.width),
      "vfp-bench-result ");
  if (run.status != 0 || run.get("samples_per_s").empty()) {
    out.why_not = "bench/monai_loop.py failed (status " + std::to_string(run.status) +
                  "): " + run.output.substr(run.output.size() > 600 ? run.output.size() - 600 : 0);
    return out;
  }
  out.samples_per_s = std::stod(run.get("samples_per_s"));
  out.data_wait = std::stod(run.get("data_wait"));
  out.versions = "torch " + run.get("torch") + ", MONAI " + run.get("monai");
  return out;
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  if (!vfp::bench::parse_or_report(parse, argc, argv, o))
    return 1;
  try {
    const auto thresholds = vfp::keep_freed_memory();
    const auto allocator = thresholds.describe();
    const int threads = o.threads > 0 ? o.threads : vfp::cpus_in_affinity();
    const auto dir =
        std::filesystem::temp_directory_path() / ("vfp_bench_fit_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::printf("fit_and_score on %s, %d thread(s), %d patches (80 %% train), batch %d, "
                "%d epochs, 1 loader thread, augmentation on, checkpoint every epoch\n"
                "allocator: %s\n\n",
                o.device.c_str(), threads, o.patches, o.batch, o.epochs, allocator.c_str());
    std::printf("%-10s %4s %8s %10s %9s %9s %10s %10s %12s\n", "arch", "dims", "input", "samples/s",
                "loop s", "steps s", "data wait", "outside", "val+ckpt s");
    for (const auto& arch : o.archs)
      for (int dims : o.dims) {
        const int size = dims == 3 ? o.size3d : o.size2d;
        const auto data = make_data(o.patches, dims == 3 ? size : 0, size);
        auto t = vfp::bench::fixed_epochs(arch, o.batch, o.epochs, threads, o.device);
        t.model.width = o.width;
        t.run.checkpoint = (dir / (arch + std::to_string(dims) + ".pt")).string();
        const auto out = vfp::train::fit_and_score(t, data.fold);
        if (o.device != "cpu")
          std::printf("(%s) ", out.device.c_str());
        double epochs_seconds = 0;
        for (const auto& e : out.history)
          epochs_seconds += e.seconds;
        const double samples = double(data.fold.train.size()) * out.epochs_run;
        const std::string input =
            dims == 3 ? std::to_string(size) + "^3" : std::to_string(size) + "^2";
        std::printf("%-10s %4d %8s %10.1f %9.2f %9.2f %9.2f%% %9.2f%% %12.2f\n", arch.c_str(), dims,
                    input.c_str(), samples / out.train_seconds, out.train_seconds, out.step_seconds,
                    100 * out.data_wait_seconds / out.train_seconds,
                    100 * (1 - out.step_seconds / out.train_seconds),
                    epochs_seconds - out.train_seconds);
        const double outside = 100 * (1 - out.step_seconds / out.train_seconds);
        const std::string row = arch + " " + std::to_string(dims) + "D " + input + ", " +
                                std::to_string(threads) + " thread(s), " + o.device;
        vfp::bench::record({"Training loop (bench_fit)", row + ": samples/s",
                            samples / out.train_seconds, "samples/s", "", NAN, "", -1, ""});
        vfp::bench::record(
            {"Training loop (bench_fit)", row + ": time outside the steps", outside,
             "% of the loop", "", NAN, "< 5 %", outside < 5 ? 1 : 0,
             "data wait " +
                 std::to_string(100 * out.data_wait_seconds / out.train_seconds).substr(0, 4) +
                 " %"});
        if (!o.monai_python.empty() && dims == 3) {
          const auto monai = run_monai(o, arch, data, size, threads, thresholds, dir);
          if (!monai.why_not.empty()) {
            std::printf("%-10s %4s  MONAI loop not run: %s\n", "", "", monai.why_not.c_str());
          } else {
            std::printf("%-10s %4s %8s %10.1f %9s %9s %9.2f%%   (MONAI loop: %s)\n", "MONAI", "3",
                        input.c_str(), monai.samples_per_s, "", "", 100 * monai.data_wait,
                        monai.versions.c_str());
            const std::string name = arch + " 3D " + input + ", batch " + std::to_string(o.batch) +
                                     ", " + std::to_string(threads) +
                                     " thread(s), vfp on LibTorch " +
                                     vfp::train::libtorch_version();
            const std::string section = "Training loop, vfp vs MONAI (same patches)";
            vfp::bench::record({section, name + ": samples/s", samples / out.train_seconds,
                                "samples/s", "MONAI (" + monai.versions + ")", monai.samples_per_s,
                                "", -1, ""});
            vfp::bench::record({section, name + ": data-wait share",
                                100 * out.data_wait_seconds / out.train_seconds, "% of the loop",
                                "MONAI (" + monai.versions + ")", 100 * monai.data_wait, "", -1,
                                ""});
          }
        }
        std::fflush(stdout);
      }
    std::printf("\nsamples/s: training patches per second of the training loop; outside: share "
                "of the loop's time not in forward/backward/optimizer steps (data wait "
                "included; target < 5 %%); val+ckpt: validation scoring and the per-epoch "
                "checkpoint, outside the loop.\n");
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_fit: %s\n", e.what());
    return 1;
  }
  return 0;
}
