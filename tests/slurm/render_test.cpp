// The sbatch script vfp renders: quoting that no value escapes from (checked by running the
// rendered script under bash with srun and scontrol standing in that print what they got),
// validation of what goes on #SBATCH lines, and template errors that name the line.
#include "core/core.h"
#include "slurm/slurm.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using vfp::slurm::JobSpec;

JobSpec spec() {
  JobSpec s;
  s.job_name = "vfp-demo";
  s.sweep_file = "/data/sweeps/demo.yaml";
  s.results_root = "/data/results";
  s.vfp_binary = "/opt/vfp/bin/vfp";
  s.log_file = "/data/results/demo/slurm/slurm-%j.out";
  return s;
}

std::string the_template() {
  return vfp::read_text_file(VFP_SOURCE_DIR "/slurm/vfp.sbatch");
}

const char* const kHostile[] = {"$(touch PWNED)",
                                "`touch PWNED`",
                                "a'b",
                                "a\"b",
                                "line\nbreak; touch PWNED",
                                "$HOME",
                                "back\\slash",
                                "; rm -rf x #",
                                "'",
                                "''",
                                "*",
                                "a b\tc"};

class RenderedScript : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vfp_slurm_render_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

} // namespace

TEST(ShellQuote, EveryHostileStringReachesTheProgramUnchanged) {
  for (const std::string text : kHostile) {
    const auto out = vfp::run_program({"bash", "-c", "printf %s " + vfp::slurm::shell_quote(text)});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out, text);
  }
}

TEST_F(RenderedScript, TheRenderedScriptPassesHostilePathsAsPlainArgumentsAndRunsNothingElse) {
  // Stand-ins for srun and scontrol that record their arguments, one per line; the script
  // runs for real under bash, with every path made of shell metacharacters.
  const auto bin = dir_ / "bin";
  fs::create_directories(bin);
  for (const char* tool : {"srun", "scontrol"}) {
    std::ofstream(bin / tool) << "#!/bin/bash\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > "
                              << (dir_ / tool).string() << ".args\nexit 75\n";
    fs::permissions(bin / tool, fs::perms::owner_all);
  }
  for (const std::string hostile : kHostile) {
    auto s = spec();
    s.sweep_file = "/data/" + hostile + "/sweep.yaml";
    s.results_root = "/r/" + hostile;
    s.vfp_binary = "/opt/" + hostile + "/vfp";
    const auto script = dir_ / "job.sbatch";
    std::ofstream(script) << vfp::slurm::render(the_template(), "vfp.sbatch", s);
    const auto out = vfp::run_program({"env", "PATH=" + bin.string() + ":/usr/bin:/bin",
                                       "SLURM_JOB_ID=42", "bash", script.string()});
    ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
    EXPECT_FALSE(fs::exists("PWNED")) << hostile;
    EXPECT_FALSE(fs::exists(dir_ / "PWNED")) << hostile;
    std::vector<std::string> args;
    std::istringstream lines(vfp::read_text_file(dir_ / "srun.args"));
    const std::string expected_args[] = {
        "--mpi=pmix",     "--kill-on-bad-exit=1", s.vfp_binary, "run", s.sweep_file,
        "--results-root", s.results_root,         "--retries",  "1"};
    std::string all;
    for (const auto& a : expected_args)
      all += a + "\n";
    EXPECT_EQ(vfp::read_text_file(dir_ / "srun.args"), all) << hostile;
    // Exit 75 (a stopped sweep) requeues the job.
    EXPECT_EQ(vfp::read_text_file(dir_ / "scontrol.args"), "requeue\n42\n") << hostile;
    fs::remove(dir_ / "scontrol.args");
  }
}

/// The #SBATCH lines every script of spec() starts with, before what it asks for.
const std::string kJobLines = "#SBATCH --job-name=vfp-demo\n"
                              "#SBATCH --output=/data/results/demo/slurm/slurm-%j.out\n"
                              "#SBATCH --open-mode=append\n"
                              "#SBATCH --requeue\n"
                              "#SBATCH --signal=B:USR1@120\n";

/// The #SBATCH lines of a script, in order (sbatch reads them up to the first command).
std::string sbatch_lines(const std::string& script) {
  std::istringstream in(script);
  std::string out, l;
  while (std::getline(in, l))
    if (l.rfind("#SBATCH", 0) == 0)
      out += l + "\n";
  return out;
}

TEST(SlurmScript, ACpuJobAsksForOneCoordinatorAndTheWorkersWithOnlyTheGivenOptions) {
  auto s = spec();
  s.nodes = 2;
  s.workers_per_node = 3;
  s.cpus_per_task = 4;
  s.time = "1-12:00:00";
  const auto script = vfp::slurm::render(the_template(), "vfp.sbatch", s);
  EXPECT_EQ(sbatch_lines(script), kJobLines + "#SBATCH --nodes=2\n"
                                              "#SBATCH --ntasks=7\n"
                                              "#SBATCH --cpus-per-task=4\n"
                                              "#SBATCH --time=1-12:00:00\n");
  EXPECT_NE(script.find("export VFP_GPU_JOB=0\n"), std::string::npos) << script;
  EXPECT_NE(script.find("srun --mpi=pmix --kill-on-bad-exit=1 '/opt/vfp/bin/vfp' run"),
            std::string::npos)
      << script;
  s.launcher = "mpirun";
  const auto with_mpirun = vfp::slurm::render(the_template(), "vfp.sbatch", s);
  EXPECT_NE(with_mpirun.find("mpirun -np \"$SLURM_NTASKS\" '/opt/vfp/bin/vfp' run"),
            std::string::npos)
      << with_mpirun;
}

TEST(SlurmScript, AGpuJobBindsOneGpuPerWorkerAndGivesTheCoordinatorNone) {
  // What `vfp slurm submit --dry-run --nodes 2 --gpus-per-node 4` renders: a heterogeneous
  // job, the coordinator alone in component 0, four workers per node in component 1.
  auto s = spec();
  s.nodes = 2;
  s.gpus_per_node = 4;
  s.workers_per_node = 4;
  s.cpus_per_task = 8;
  s.time = "1-12:00:00";
  s.partition = "gpu,gpu-long";
  const auto script = vfp::slurm::render(the_template(), "vfp.sbatch", s);
  EXPECT_EQ(sbatch_lines(script), kJobLines + "#SBATCH --nodes=1\n"
                                              "#SBATCH --ntasks=1\n"
                                              "#SBATCH --cpus-per-task=1\n"
                                              "#SBATCH --time=1-12:00:00\n"
                                              "#SBATCH --partition=gpu,gpu-long\n"
                                              "#SBATCH hetjob\n"
                                              "#SBATCH --nodes=2\n"
                                              "#SBATCH --ntasks-per-node=4\n"
                                              "#SBATCH --gpus-per-task=1\n"
                                              "#SBATCH --gpu-bind=per_task:1\n"
                                              "#SBATCH --cpus-per-task=8\n"
                                              "#SBATCH --time=1-12:00:00\n"
                                              "#SBATCH --partition=gpu,gpu-long\n");
  EXPECT_NE(script.find("srun --het-group=0,1 --mpi=pmix --kill-on-bad-exit=1 --cpu-bind=cores "
                        "'/opt/vfp/bin/vfp' run"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("export VFP_GPU_JOB=1\n"), std::string::npos) << script;
  EXPECT_EQ(script.find("{{"), std::string::npos) << script;
  const auto syntax = vfp::run_program({"bash", "-n", "-c", script});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;

  // Workers that would share GPUs, and mpirun (which cannot launch across components).
  s.workers_per_node = 8;
  EXPECT_THROW(
      {
        try {
          vfp::slurm::render(the_template(), "vfp.sbatch", s);
        } catch (const vfp::InputError& e) {
          EXPECT_NE(std::string(e.what()).find("a GPU job runs one worker per GPU"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      vfp::InputError);
  s.workers_per_node = 4;
  s.launcher = "mpirun";
  EXPECT_THROW(vfp::slurm::render(the_template(), "vfp.sbatch", s), vfp::InputError);
}

TEST(SlurmScript, RefusesValuesThatCouldBreakAnSbatchLineNamingTheOption) {
  // Each case: one bad value, and the option the error must name.
  const std::vector<std::pair<std::function<void(JobSpec&)>, std::string>> cases = {
      {[](JobSpec& s) { s.partition = "gpu\n#SBATCH --wrap=touch PWNED"; }, "--partition"},
      {[](JobSpec& s) { s.account = "lab $(id)"; }, "--account"},
      {[](JobSpec& s) { s.time = "2 days"; }, "--time"},
      {[](JobSpec& s) { s.mem = "64 GB"; }, "--mem"},
      {[](JobSpec& s) { s.log_file = "/data/my results/slurm-%j.out"; }, "log file"},
      {[](JobSpec& s) { s.sweep_file = "sweeps/demo.yaml"; }, "sweep file"},
      {[](JobSpec& s) { s.nodes = 0; }, "--nodes"},
      {[](JobSpec& s) { s.mpi = "pmix;id"; }, "--mpi"},
      {[](JobSpec& s) { s.launcher = "bash -c"; }, "--launcher"},
      {[](JobSpec& s) { s.job_name = "vfp\nname"; }, "job name"},
  };
  for (const auto& [spoil, option] : cases) {
    auto s = spec();
    spoil(s);
    try {
      vfp::slurm::render(the_template(), "vfp.sbatch", s);
      ADD_FAILURE() << "accepted a bad " << option;
    } catch (const vfp::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    }
  }
}

TEST(SlurmTemplate, AnUnknownPlaceholderIsAnErrorNamingTheTemplateLine) {
  try {
    vfp::slurm::render("#!/bin/bash\n#SBATCH --nodes={{nodes}}\n{{ nodez }} x\n", "mine.sbatch",
                       spec());
    FAIL() << "rendered an unknown placeholder";
  } catch (const vfp::InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("mine.sbatch:3"), std::string::npos) << what;
    EXPECT_NE(what.find("{{nodez}}"), std::string::npos) << what;
    EXPECT_NE(what.find("nodes"), std::string::npos) << what; // the known ones are listed
  }
  EXPECT_THROW(vfp::slurm::render("a\n{{nodes\n}}", "t", spec()), vfp::InputError);
}
